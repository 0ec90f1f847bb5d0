"""An Outbound Contact Server per site: its campaign groups are loaded, started, re-paced,
stopped, unloaded and force-unloaded over the window, and it reports each step to ICON. Written
as OCS logs (docs/log-format.md "OCS logs": standard events 52000-52004 and
`[GOMessageType] EventGOReportingData` blocks) beside the T-Server logs, and recorded as ground
truth (`truth/campaigns.jsonl`, `truth/chains.jsonl`).

The schedule is a fixed share of the window for every run, so short and long simulations both
go through every campaign state; the session GUIDs come from a generator of their own. While a
campaign attempt is started, `simulator/dialer.py` dials its calling list's records; this module
holds the configuration (campaign groups, calling lists, fields), the records and chain
processing attempts, and renders what the OCS logs. Entries are collected during the run and
written in time order at its end.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from . import tlib
from .clock import TPMS, TPS, SiteClock, seconds, utc_iso
from .logwriter import Client, SegmentWriter
from .topology import Group, Site

OCS_APP_TYPE = "OCServer (31)"
GO_HEADER = "[GOMessageType] EventGOReportingData"
# EvtCode -> the standard event OCS logs beside it (docs/log-format.md "OCS logs")
STD_EVENTS = {"CampaignLoaded": (52000, "loaded"), "CampaignStarted": (52001, "started"),
              "CampaignStopped": (52002, "stopped"),
              "CampaignForceUnloaded": (52003, "force unloaded"),
              "CampaignUnloaded": (52004, "unloaded")}
STATES = {"CampaignLoaded": "loaded", "CampaignStarted": "started", "CampaignStopped": "loaded",
          "CampaignUnloading": "unloading", "CampaignUnloaded": "terminated",
          "CampaignForceUnloaded": "terminated"}
# chain events -> the chain processing attempt's state (ChainUpdated keeps it)
CHAIN_STATES = {"ChainScheduled": "scheduled", "ChainProcessing": "processing",
                "ChainProcessed": "processed", "ChainTerminated": "terminated"}
# OCS call results (docs/log-format.md "OCS logs", CallResult)
ANSWER, BUSY, NO_ANSWER, MACHINE, DROPPED, CANCEL = 33, 6, 7, 9, 26, 52
RESULTS = (ANSWER, BUSY, NO_ANSWER, MACHINE, DROPPED, CANCEL)
# OCS record types (tRecordType): a record as loaded, rescheduled by a treatment, a callback
GENERAL, RESCHEDULED, CALLBACK = 2, 3, 6
# the T-Server side of OCS's connection, as the T-Library client prints it
TSERVER_PORT, OCS_FD = 3000, 7


@dataclass(frozen=True)
class Field:
    """A calling-list field; `icon_attribute` 1 stores it, 2 stores it as secure, 0 not."""

    dbid: int
    name: str
    icon_attribute: int


# every calling list has these user fields (config.json `fields`)
FIELDS = (Field(8301, "phone", 1), Field(8302, "customer_name", 1),
          Field(8303, "account_balance", 1), Field(8304, "contact_notes", 1),
          Field(8305, "ssn_last4", 2), Field(8306, "internal_score", 0))


@dataclass(frozen=True)
class CallingList:
    dbid: int
    name: str                     # CL_Sales
    table: str                    # cl_sales
    campaign_dbid: int
    fields: tuple[Field, ...] = FIELDS


@dataclass(eq=False)
class CampaignGroup:
    """A campaign group (a campaign dialed for an agent group) of one site's OCS."""

    dbid: int
    name: str                     # <campaign>@<agent group>, as OCS prints it
    campaign_dbid: int
    campaign: str
    group: Group
    calling_list: CallingList


@dataclass(eq=False)
class Record:
    """A calling-list record: its handle in OCS, its chain id in the list, its field values."""

    handle: int
    chain_id: int
    clist: CallingList
    fields: dict[str, str]
    rtype: int = GENERAL
    chains: int = 0               # chain processing attempts so far
    due: int = 0                  # tick from which a rescheduled record may be dialed again


@dataclass
class Attempt:
    """One campaign processing attempt: a load to its unload (ground truth), and its dialing."""

    cg: CampaignGroup
    session: str
    steps: list[dict] = field(default_factory=list)
    pacing: dict = field(default_factory=dict)    # DialMode, OptimMode, OptimValue now
    dialing: bool = False         # started: new records are taken
    talking: int = 0              # agents talking on its calls now (predictive dials ahead)
    open: list["Chain"] = field(default_factory=list)
    buffered: "Chain | None" = None   # the next record, retrieved before it can be dialed
    due: list[Record] = field(default_factory=list)    # rescheduled records and callbacks

    def to_json(self, ocs: str) -> dict:
        ends = [s for s in self.steps if s["state"] == "terminated"]
        return {"ocs": ocs, "session": self.session, "group_dbid": self.cg.dbid,
                "campaign_dbid": self.cg.campaign_dbid,
                "created": utc_iso(self.steps[0]["at"]),
                "terminated": utc_iso(ends[0]["at"]) if ends else None,
                "steps": [{**s, "at": utc_iso(s["at"])} for s in self.steps]}


@dataclass(eq=False)
class Ocs:
    site: Site
    app: str
    dbid: int
    icon: str                     # the ICON application it reports to
    groups: list[CampaignGroup]
    attempts: list[Attempt] = field(default_factory=list)
    writers: list[SegmentWriter] = field(default_factory=list)
    entries: list[tuple[int, str]] = field(default_factory=list)   # (tick, text), any order
    chains: list["Chain"] = field(default_factory=list)
    client: Client | None = None  # its T-Library connection to the site's T-Server
    handles: int = 100            # last record handle given out
    chain_ids: dict[int, int] = field(default_factory=dict)        # list DBID -> last chain id
    # when OCS's client last received an event: a client handles one message at a time, so two
    # events never share a millisecond in its log (nor could a reader tell them apart)
    client_last: int = 0

    @property
    def clock(self) -> SiteClock:
        return self.writers[0].clock

    def emit(self, t: int, text: str) -> None:
        self.entries.append((t, text))


def build(sites, first_dbid: int = 7001) -> list[Ocs]:
    """One OCS per site; north dials two campaigns (its first and last agent group), south
    one. Each campaign has a calling list of its own."""
    servers, n = [], 0
    for k, site in enumerate(sites):
        picks = [site.groups[0]] + ([site.groups[-1]] if len(site.groups) > 1 else [])
        groups = []
        for g in picks:
            n += 1
            campaign = f"{g.skill}_Campaign"
            clist = CallingList(8200 + n, f"CL_{g.skill}", f"cl_{g.skill.lower()}", 8100 + n)
            groups.append(CampaignGroup(8000 + n, f"{campaign}@{g.name}", 8100 + n, campaign, g,
                                        clist))
        servers.append(Ocs(site, f"OCS_{site.key.upper()}", first_dbid + k,
                           f"ICON_{site.key.upper()}", groups))
    return servers


# (share of the window, EvtCode, cause, attributes) of the first and second campaign group
FIRST = [(0.01, "CampaignLoaded", "ManagerRequest", {"DialMode": "Progressive"}),
         (0.02, "CampaignStarted", "ManagerRequest", {}),
         (0.35, "CampaignModeChanged", "ManagerRequest",
          {"DialMode": "Predictive", "OptimMode": "OverdialRate", "OptimValue": 5}),
         (0.60, "CampaignModeChanged", "ManagerRequest", {"OptimValue": 3}),
         (0.85, "CampaignStopped", "Schedule", {}),
         (0.851, "CampaignUnloading", "Schedule", {}),
         (0.852, "CampaignUnloaded", "Schedule", {})]
SECOND = [(0.10, "CampaignLoaded", "Schedule", {"DialMode": "Preview"}),
          (0.11, "CampaignStarted", "Schedule", {}),
          (0.45, "CampaignForceUnloaded", "Forced", {}),
          (0.50, "CampaignLoaded", "ManagerRequest", {"DialMode": "Progressive"}),
          (0.51, "CampaignStarted", "ManagerRequest", {})]


def schedule(ocs: Ocs, start: int, end: int, rng: random.Random) -> list[tuple[int, Attempt, str, str, dict]]:
    """Every campaign step of the window, in time order, each in its attempt."""
    steps = []
    for cg, plan in zip(ocs.groups, (FIRST, SECOND)):
        attempt = None
        for share, code, cause, attrs in plan:
            t = start + int((end - start) * share) + (cg.dbid % 7) * TPS
            if code == "CampaignLoaded":
                attempt = Attempt(cg, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
                ocs.attempts.append(attempt)
            steps.append((t, attempt, code, cause, attrs))
    return sorted(steps, key=lambda s: (s[0], s[1].cg.dbid))


def new_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ms_ceil(t: int) -> int:
    """The next whole millisecond: OCS prints milliseconds, and the truth has what it prints."""
    return -(-t // TPMS) * TPMS


# -- campaign steps ------------------------------------------------------------------------------

def go_block(clock: SiteClock, t: int, ocs: Ocs, switch_dbid: int, attempt: Attempt, code: str,
             cause: str, attrs: dict) -> str:
    cg = attempt.cg
    lines = [f"{clock.iso_ms(t)} {ocs.app} -> {ocs.icon} {GO_HEADER}",
             f"\t\tEvtCode\t{code}", f"\t\tSwID\t{switch_dbid}", f"\t\tGrpID\t{cg.dbid}",
             f"\t\tCmpID\t{cg.campaign_dbid}", "\t\tLstID\t0", "\t\tChID\t0",
             f"\t\tCause\t{cause}", f"\t\tSessID\t'{attempt.session}'"]
    lines += [f"\t\t{name}\t{value}" for name, value in attrs.items()]
    return "\n".join(lines) + "\n"


def campaign_step(ocs: Ocs, t: int, attempt: Attempt, code: str, cause: str, attrs: dict) -> None:
    """One campaign step at tick t: the standard event and, 1 ms later, the GO reporting block;
    recorded in the attempt's truth with the pacing it has from then on."""
    clock = ocs.clock
    if code in STD_EVENTS:
        number, verb = STD_EVENTS[code]
        ocs.emit(t, f"{clock.iso_ms(t)} Trc {number} Campaign Group "
                    f"{attempt.cg.campaign}@{attempt.cg.group.name} has been {verb}\n")
    t += seconds(0.001)
    ocs.emit(t, go_block(clock, t, ocs, ocs.site.switch_dbid, attempt, code, cause, attrs))
    attempt.pacing.update(attrs)
    previous = attempt.steps[-1]["state"] if attempt.steps else None
    attempt.steps.append({"at": t, "code": code, "cause": cause,
                          "state": STATES.get(code, previous), **attempt.pacing})


# -- records and chain processing attempts -------------------------------------------------------

_FIRST_NAMES = ("Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines",
                "Jakob", "Kira", "Lars", "Mona", "Nils", "Oskar", "Pia")
_LAST_NAMES = ("Adams", "Becker", "Clark", "Dumont", "Evans", "Fuchs", "Grant", "Hansen",
               "Ito", "Janssen", "Keller", "Lindqvist", "Morgan", "Nowak")
_NOTES = ("new lead", "asked for offer", "prefers evenings", "existing customer",
          "referred by partner", "left web form")


def new_record(ocs: Ocs, clist: CallingList, rng: random.Random) -> Record:
    """The next record of a calling list, with a value for every field."""
    ocs.handles += 1
    chain_id = ocs.chain_ids.get(clist.dbid, 0) + 1
    ocs.chain_ids[clist.dbid] = chain_id
    values = {"phone": f"+1555{rng.randint(0, 9999999):07d}",
              "customer_name": f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
              "account_balance": f"{rng.randint(0, 500000) / 100:.2f}",
              "contact_notes": rng.choice(_NOTES),
              "ssn_last4": f"{rng.randint(0, 9999):04d}",
              "internal_score": str(rng.randint(1, 99))}
    return Record(ocs.handles, chain_id, clist, {f.name: values[f.name] for f in clist.fields})


def record_fields(pairs: dict[str, str]) -> str:
    """A GO block's `RecordFields` KV list: a TLib KV list one TAB deeper."""
    text = tlib.kv_attr("RecordFields", pairs)
    return "".join("\t" + line for line in text.splitlines(keepends=True))


@dataclass(eq=False)
class Chain:
    """One chain processing attempt of a record in a campaign attempt (ground truth), and the
    writer of its GO chain events."""

    ocs: Ocs
    attempt: Attempt
    record: Record
    guid: str
    created: int = 0
    terminated: int | None = None
    last: int = 0                 # tick of its last GO event: its events are strictly ordered
    steps: list[dict] = field(default_factory=list)
    fields_loaded: dict[str, str] = field(default_factory=dict)
    field_changes: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.terminated is None

    def event(self, t: int, code: str, cause: str | None = None, call_attempt: str | None = None,
              call_uuid: str | None = None, result: int | None = None,
              fields: dict[str, str] | None = None) -> int | None:
        """Write a GO chain event at (about) tick t; returns its tick, None once terminated."""
        if not self.open:
            return None
        t = max(ms_ceil(t), self.last + TPMS)
        self.last = t
        ocs, cg, rec = self.ocs, self.attempt.cg, self.record
        lines = [f"{ocs.clock.iso_ms(t)} {ocs.app} -> {ocs.icon} {GO_HEADER}",
                 f"\t\tEvtCode\t{code}", f"\t\tSwID\t{ocs.site.switch_dbid}",
                 f"\t\tGrpID\t{cg.dbid}", f"\t\tCmpID\t{cg.campaign_dbid}",
                 f"\t\tLstID\t{rec.clist.dbid}", f"\t\tChID\t{rec.chain_id}"]
        if cause is not None:
            lines.append(f"\t\tCause\t{cause}")
        lines += [f"\t\tSessID\t'{self.attempt.session}'", f"\t\tChainGUID\t'{self.guid}'",
                  f"\t\tRecHandle\t{rec.handle}"]
        if call_attempt is not None:
            lines.append(f"\t\tCallAttID\t'{call_attempt}'")
        if call_uuid is not None:
            lines.append(f"\t\tCallGUID\t'{call_uuid}'")
        if result is not None:
            lines.append(f"\t\tCallResult\t{result}")
        text = "\n".join(lines) + "\n" + (record_fields(fields) if fields else "")
        ocs.emit(t, text)
        previous = self.steps[-1]["state"] if self.steps else None
        self.steps.append({"at": t, "code": code, "state": CHAIN_STATES.get(code, previous),
                           "call_attempt": call_attempt, "call_result": result,
                           "call_uuid": call_uuid, "cause": cause})
        if call_uuid is not None and all(c["call_uuid"] != call_uuid for c in self.calls):
            self.calls.append({"call_uuid": call_uuid, "call_attempt": call_attempt, "at": t})
        if code == "ChainScheduled":
            self.created = t
            self.fields_loaded = dict(fields or {})
        elif code == "ChainTerminated":
            self.terminated = t
        return t

    def update(self, t: int, call_attempt: str, changes: dict[str, str]) -> int | None:
        """The desktop changed field values: ChainUpdated with the changed fields only."""
        old = dict(self.record.fields)
        t = self.event(t, "ChainUpdated", call_attempt=call_attempt, fields=changes)
        if t is None:
            return None
        for name, value in changes.items():
            self.field_changes.append({"field": name, "old": old[name], "new": value, "at": t,
                                       "call_attempt": call_attempt})
        self.record.fields.update(changes)
        return t

    def to_json(self) -> dict:
        cg, rec = self.attempt.cg, self.record
        return {"ocs": self.ocs.app, "session": self.attempt.session, "chain_guid": self.guid,
                "chain_id": rec.chain_id, "record_handle": rec.handle,
                "list_dbid": rec.clist.dbid, "group_dbid": cg.dbid,
                "campaign_dbid": cg.campaign_dbid, "created": utc_iso(self.created),
                "terminated": utc_iso(self.terminated) if self.terminated is not None else None,
                "steps": [{**s, "at": utc_iso(s["at"])} for s in self.steps],
                "fields_loaded": self.fields_loaded,
                "field_changes": [{**c, "at": utc_iso(c["at"])} for c in self.field_changes],
                "calls": [{**c, "at": utc_iso(c["at"])} for c in self.calls]}


# -- other OCS log lines (free text for the parser) ------------------------------------------------

def create_record_block(ocs: Ocs, t: int, cg: CampaignGroup, rec: Record) -> str:
    """`DBList.CreateRecord`: the record is retrieved from its calling list."""
    cl = rec.clist
    return (f"{ocs.clock.iso_ms(t)} DBList.CreateRecord\n"
            f"\tRecordHandle = {rec.handle} ChainID = {rec.chain_id} ChainNum = 0\n"
            f"\tCampaignName = {cg.campaign}\n"
            f"\ttRecordType = {rec.rtype}\n"
            f"\tListName = {cl.name} TableName = {cl.table}\n"
            f"\tPhone = {rec.fields['phone']}\n")


def treatment_block(ocs: Ocs, t: int, cg: CampaignGroup, rec: Record, result: int, action: str,
                    interval_s: int) -> str:
    """`RecTreatment - Apply`: a treatment redials or reschedules the record."""
    return (f"{ocs.clock.iso_ms(t)} RecTreatment - Apply\n"
            f"\tRecordHandle = {rec.handle} ChainID = {rec.chain_id} ChainNum = 0\n"
            f"\tCampaignName = {cg.campaign}\n"
            f"\tRecordType = {rec.rtype}\n"
            f"\tCallResult = {result} Action = {action} Interval = {interval_s}\n")


def pacing_block(ocs: Ocs, t: int, cg: CampaignGroup, density: float, a: float, pred_s: float,
                 remainder: float, sent: int) -> str:
    """`PA Session Info:`: the predictive pacing algorithm's state for a campaign group."""
    return (f"{ocs.clock.iso_ms(t)} PA Session Info:\n"
            f"\tOwnerDBID: {cg.dbid}; Campaign DBID: {cg.campaign_dbid}; "
            f"Group DBID: {cg.group.dbid}; Name: {cg.name};\n"
            f"\tPredictive Info for OwnerDBID: {cg.dbid}  - Density: {density:.2f}; a: {a:.2f}; "
            f"PredTime: {pred_s:.2f}; Remainder: {remainder:.2f}; SentCalls: {sent};\n")


def client_event_block(ocs: Ocs, t: int, name: str, dn: str, pairs: dict) -> str:
    """A T-Server event as OCS's T-Library client logs it (a client-side TLib block)."""
    site = ocs.site
    return (f"{ocs.clock.iso_ms(t)} received from 65200({site.app}){site.host}:{TSERVER_PORT}"
            f"(fd={OCS_FD}) message {name}\n"
            f"\tAttributeThisDN\t'{dn}'\n" + tlib.user_data(pairs))


# -- the log ---------------------------------------------------------------------------------------

def write_logs(ocs: Ocs, start: int, end: int, startup: list[tuple[int, str]]) -> None:
    """The OCS's log over the window, in every replica folder: start-up lines, hourly check
    points, and what it reported during the run (`ocs.entries`), in time order."""
    clock = ocs.clock
    entries: list[tuple[int, str]] = [(start + TPMS + dt, f"{clock.iso_ms(start + TPMS + dt)} {text}\n")
                                      for dt, text in startup]
    hour = 3600 * TPS
    for t in range((start // hour + 1) * hour, end, hour):
        t += 2 * TPMS
        entries.append((t, f"{clock.iso_ms(t)} Trc 04120 Check point {clock.iso_s(t)}\n"))
    entries += ocs.entries
    for t, text in sorted(entries, key=lambda e: e[0]):
        for w in ocs.writers:
            w.write(t, text)
    for w in ocs.writers:
        w.close()
