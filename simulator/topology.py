"""The two sites, their DNs, agents and configuration DBIDs, and the `config.json` snapshot.

Everything here is derived from the profile alone (no random numbers), so the configuration
of a profile is the same for every seed and start time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .profiles import GROUP_SHARES, Profile

TENANT_DBID = 101
TENANT_NAME = "Resources"
CUSTOM_STATE_CODES = {"CS_Break": 208, "CS_Coaching": 209}
AGENT_RECORD_USER_TYPES = "208,CS_Break,209,CS_Coaching"

_FIRST = ("Ann", "Ben", "Carla", "David", "Emma", "Felix", "Grace", "Henry", "Iris", "Jonas",
          "Kate", "Liam", "Maria", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tina",
          "Umar", "Vera", "Will", "Xenia", "Yusuf", "Zoe", "Aaron", "Bella", "Chris")
_LAST = ("Smith", "Miller", "Garcia", "Weber", "Novak", "Rossi", "Dubois", "Jensen", "Kowalski",
         "Silva", "Brown", "Fischer", "Lopez", "Meyer", "Moreau", "Nagy", "Olsen", "Popescu",
         "Quinn", "Schmidt", "Tanaka", "Varga", "Wagner", "Young", "Ziegler", "Costa", "Berg")


@dataclass(eq=False)
class DN:
    dbid: int
    number: str
    type: str            # Extension, ACDQueue, RoutingPoint, VirtACDQueue, ExtRoutingPoint, Trunk
    name: str
    site: "Site"


@dataclass(eq=False)
class Group:
    """An agent group (skill) with the RP, VQ and ACD queue its calls use. Runtime: the
    ready agents (longest-ready first, a dict used as an ordered set) and the waiting calls."""
    dbid: int
    name: str            # VAG_Sales
    skill: str           # Sales
    site: "Site"
    rp: DN
    vq: DN
    queue: DN
    dng_dbid: int
    agents: list["Agent"] = field(default_factory=list)
    ready: dict = field(default_factory=dict)
    waiting: deque = field(default_factory=deque)
    strategy_dbid: int = 0


class Agent:
    """Static identity (from configuration) plus the runtime state the simulation keeps."""

    __slots__ = (
        "idx", "login", "first", "last", "person_dbid", "login_dbid", "place", "place_dbid",
        "dns", "site", "group", "client",
        # runtime
        "session", "mode", "calls", "reserved", "dnd", "deferred", "gen", "acw_gen",
        "acw_due", "states", "custom", "dnd_rec", "shift_end", "on_break",
    )

    def __init__(self, idx: int, login: str, first: str, last: str, person_dbid: int,
                 login_dbid: int, place: str, place_dbid: int, dns: list[DN], site: "Site",
                 group: Group):
        self.idx = idx
        self.login = login
        self.first = first
        self.last = last
        self.person_dbid = person_dbid
        self.login_dbid = login_dbid
        self.place = place
        self.place_dbid = place_dbid
        self.dns = dns
        self.site = site
        self.group = group
        self.client = None
        self.session: dict | None = None   # truth record of the open login session
        self.mode = "out"                  # out, login, notready, ready, acw
        self.calls = 0                     # call legs on the agent's first DN
        self.reserved = False              # picked by a router/transfer, call not yet there
        self.dnd = False
        self.deferred: list = []           # break/logout that waits for the agent to be idle
        self.gen = 0                       # session generation: stale timers check it
        self.acw_gen = 0
        self.acw_due = False
        self.states: dict = {}             # dn -> open truth state interval
        self.custom: dict = {}             # key -> open custom-state interval
        self.dnd_rec: list = []
        self.shift_end = 0
        self.on_break = 0                  # id of the current break (0: none)

    @property
    def dn(self) -> str:
        return self.dns[0].number

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Agent({self.login})"


@dataclass(eq=False)
class Site:
    key: str                 # north / south
    switch: str              # SW_NORTH
    switch_dbid: int
    app: str                 # TS_NORTH
    host: str
    utc_offset_s: int
    tz_line: str
    net: str                 # 10.0.1
    conn_prefix: int
    dns: list[DN] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    rps: list[DN] = field(default_factory=list)
    vqs: list[DN] = field(default_factory=list)
    queues: list[DN] = field(default_factory=list)
    erp: DN | None = None
    trunk: DN | None = None
    by_number: dict = field(default_factory=dict)
    # runtime, set by the simulation
    log: Any = None
    urs: Any = None


@dataclass
class Topology:
    north: Site
    south: Site
    groups: list[Group]
    agents: list[Agent]

    @property
    def sites(self) -> tuple[Site, Site]:
        return (self.north, self.south)


def build(profile: Profile) -> Topology:
    north = Site("north", "SW_NORTH", 1, "TS_NORTH", "cc-north-01", 3600,
                 "-3600, W. Europe Standard Time, W. Europe Daylight Time", "10.0.1", 0x006C)
    south = Site("south", "SW_SOUTH", 2, "TS_SOUTH", "cc-south-01", -5 * 3600,
                 "18000, Eastern Standard Time, Eastern Daylight Time", "10.0.2", 0x0077)
    ids = {"dn": 1001, "person": 3001, "login": 4001, "place": 5001, "group": 6001, "dng": 6101}

    def next_id(kind: str) -> int:
        ids[kind] += 1
        return ids[kind] - 1

    def add_dn(site: Site, number: str, dtype: str, name: str) -> DN:
        dn = DN(next_id("dn"), number, dtype, name, site)
        site.dns.append(dn)
        site.by_number[number] = dn
        return dn

    n_agents = {"north": profile.north_agents, "south": profile.south_agents}
    skills = {"north": ["Sales", "Support", "Billing"][:max(1, min(3, profile.north_agents))],
              "south": ["South"]}
    layout = {"north": (profile.north_rps, profile.north_vqs, profile.north_queues, 7001, 8101,
                        5001, 9001, 5901, "T1"),
              "south": (1, 1, 1, 7501, 8151, 5051, 9051, 5951, "T2")}
    agents: list[Agent] = []
    groups: list[Group] = []
    login_no = 1
    for site in (north, south):
        n_rp, n_vq, n_q, ext0, q0, rp0, vq0, erp, trunk = layout[site.key]
        label = site.key.capitalize()
        # agent extensions first: 5% of places get a second DN (at least one on north)
        n = n_agents[site.key]
        n_two = round(n * profile.two_dn_share)
        if site.key == "north" and profile.two_dn_share > 0:
            n_two = max(1, n_two)
        two_dn = {(i * n) // n_two + (1 if n > 1 else 0) for i in range(n_two)} if n_two else set()
        two_dn = {min(i, n - 1) for i in two_dn}
        ext = ext0
        agent_dns: list[list[DN]] = []
        for i in range(n):
            dns = [add_dn(site, str(ext), "Extension", str(ext))]
            ext += 1
            if i in two_dn:
                dns.append(add_dn(site, str(ext), "Extension", str(ext)))
                ext += 1
            agent_dns.append(dns)
        site.queues = [add_dn(site, str(q0 + i), "ACDQueue", f"Q_{label}_{i + 1}") for i in range(n_q)]
        site.rps = [add_dn(site, str(rp0 + i), "RoutingPoint", f"RP_{label}_{i + 1}") for i in range(n_rp)]
        site.vqs = [add_dn(site, str(vq0 + i), "VirtACDQueue", f"VQ_{label}_{i + 1}") for i in range(n_vq)]
        site.erp = add_dn(site, str(erp), "ExtRoutingPoint", f"ERP_{site.key.upper()}")
        site.trunk = add_dn(site, trunk, "Trunk", trunk)
        for gi, skill in enumerate(skills[site.key]):
            g = Group(next_id("group"), f"VAG_{skill}", skill, site, site.rps[gi % n_rp],
                      site.vqs[gi % n_vq], site.queues[gi % n_q], 0)
            g.strategy_dbid = 200 + g.dbid % 100
            site.groups.append(g)
            groups.append(g)
        dealt = [0] * len(site.groups)
        for i, dns in enumerate(agent_dns):
            k = login_no - 1
            if profile.staff_by_share and len(site.groups) > 1:
                # weighted round robin: the group furthest below its share of the calls
                shares = GROUP_SHARES[:len(site.groups)]
                gi = min(range(len(shares)), key=lambda j: ((dealt[j] + 1) / shares[j], j))
            else:
                gi = i % len(site.groups)
            dealt[gi] += 1
            g = site.groups[gi]
            a = Agent(k, f"agent{login_no:03d}", _FIRST[k % len(_FIRST)],
                      _LAST[(k * 7 + k // len(_FIRST)) % len(_LAST)], next_id("person"),
                      next_id("login"), f"Place_{dns[0].number}", next_id("place"), dns, site, g)
            login_no += 1
            g.agents.append(a)
            site.agents.append(a)
            agents.append(a)
    for g in groups:
        g.dng_dbid = next_id("dng")
    return Topology(north, south, groups, agents)


def config_snapshot(topo: Topology, servers: list | None = None) -> dict[str, Any]:
    """`config.json` (docs/simulator.md "Configuration snapshot"); `servers`: the sites' OCSs
    (simulator/outbound.py) with their campaigns, campaign groups, calling lists and fields."""
    sites = topo.sites
    servers = servers or []
    lists = [cg.calling_list for o in servers for cg in o.groups]
    fields = list({f.dbid: f for cl in lists for f in cl.fields}.values())
    return {
        "format": "icon-etl-config/1",
        "tenants": [{"dbid": TENANT_DBID, "name": TENANT_NAME}],
        # the backup T-Server of each switch's HA pair (a switchover continues in its log)
        "switches": [{"dbid": s.switch_dbid, "name": s.switch, "tenant_dbid": TENANT_DBID,
                      "tserver": s.app, "tserver_backup": s.app + "_B"} for s in sites],
        "dns": [{"dbid": d.dbid, "number": d.number, "switch_dbid": s.switch_dbid, "type": d.type,
                 "tenant_dbid": TENANT_DBID, "name": d.name} for s in sites for d in s.dns],
        "persons": [{"dbid": a.person_dbid, "employee_id": a.login, "user_name": a.login,
                     "first_name": a.first, "last_name": a.last, "is_agent": True,
                     "tenant_dbid": TENANT_DBID} for a in topo.agents],
        "agent_logins": [{"dbid": a.login_dbid, "login_code": a.login,
                          "switch_dbid": a.site.switch_dbid, "person_dbid": a.person_dbid}
                         for a in topo.agents],
        "places": [{"dbid": a.place_dbid, "name": a.place, "dn_dbids": [d.dbid for d in a.dns],
                    "person_dbid": a.person_dbid} for a in topo.agents],
        "agent_groups": [{"dbid": g.dbid, "name": g.name,
                          "person_dbids": [a.person_dbid for a in g.agents]} for g in topo.groups],
        "dn_groups": [{"dbid": g.dng_dbid, "name": f"DNG_{g.skill}_Queues",
                       "dn_dbids": [g.queue.dbid, g.vq.dbid]} for g in topo.groups],
        "ocs_servers": [{"dbid": o.dbid, "name": o.app, "tenant_dbid": TENANT_DBID}
                        for o in servers],
        "campaigns": [{"dbid": cg.campaign_dbid, "name": cg.campaign, "tenant_dbid": TENANT_DBID}
                      for o in servers for cg in o.groups],
        "campaign_groups": [{"dbid": cg.dbid, "name": cg.name, "campaign_dbid": cg.campaign_dbid,
                             "agent_group_dbid": cg.group.dbid, "ocs_dbid": o.dbid}
                            for o in servers for cg in o.groups],
        "calling_lists": [{"dbid": cl.dbid, "name": cl.name, "campaign_dbid": cl.campaign_dbid,
                           "field_dbids": [f.dbid for f in cl.fields]} for cl in lists],
        "fields": [{"dbid": f.dbid, "name": f.name, "icon_attribute": f.icon_attribute}
                   for f in fields],
        "options": {"icon": {"custom-states": {"AgentRecordUserTypes": AGENT_RECORD_USER_TYPES}}},
    }
