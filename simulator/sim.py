"""The simulation: wires topology, scheduler, logs, agents and call flows, generates the
arrivals, and runs the window [start, start + hours).

All randomness comes from one ``random.Random(seed)`` and, for the Outbound Contact Servers,
one of their own (``ocs_rng``); nothing reads the wall clock, and nothing iterates a set, so the
same arguments give byte-identical output.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

from . import outbound, topology
from .agents import AgentDesk
from .calls import Call
from .clock import TPMS, TPS, SiteClock, seconds, utc_iso
from .dialer import Dialer
from .engine import Engine
from .faults import FaultPlan
from .logwriter import Client, SegmentWriter, TServerLog
from .profiles import Profile
from .scenarios import Flows, Plan, walkthrough_plans
from .topology import Group, Site

_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# the backup (replica b) log started earlier, so its first segment has only this share left
B_FIRST_SEGMENT_SHARE = 0.6


class Simulation:
    def __init__(self, out_dir: Path, profile: Profile, start: int, hours: float, seed: int,
                 replicas: int, progress: Callable[[str], None] | None = None,
                 faults: "FaultPlan | None" = None):
        self.out = out_dir
        self.plan = faults                          # reported in truth/faults.json
        self.faults = faults if faults else None    # None: no replica view at all
        self.profile = profile
        self.rng = random.Random(seed)
        self.start = start
        self.end = start + seconds(hours * 3600.0)
        self.engine = Engine(start)
        self.topo = topology.build(profile)
        self.ocs = outbound.build(self.topo.sites) if profile.outbound_campaigns else []
        # outbound has a generator of its own (its dialing still uses agents and call ids)
        self.ocs_rng = random.Random(seed * 7919 + 15)
        self.replicas = replicas
        self.progress = progress
        self.calls: list[Call] = []
        self.sessions: list[dict] = []
        self.walk: list[Plan] = []
        self._hour_calls = 0
        self._hour_events = 0
        self._ids: dict[str, int] = {}
        self._setup_ids()
        self._setup_logs()
        self.desk = AgentDesk(self)
        self.flows = Flows(self)
        self.dialer = Dialer(self)

    # -- ids ----------------------------------------------------------------------------------
    def _setup_ids(self) -> None:
        r = self.rng
        self._uuid_prefix = {s.key: "".join(r.choices(_B36, k=20)) for s in self.topo.sites}
        self._conn_base = {s.key: r.getrandbits(40) for s in self.topo.sites}
        self._conn_n = {s.key: 0 for s in self.topo.sites}
        self._callid = {s.key: r.randint(100, 900) for s in self.topo.sites}
        self._uuid_n = {s.key: 0 for s in self.topo.sites}
        self._token_n = 0
        self._fd = {s.key: 20 for s in self.topo.sites}

    def new_conn(self, site: Site) -> str:
        # site prefix + 48 bits; an odd step makes consecutive ids look unrelated yet unique
        self._conn_n[site.key] += 1
        low = (self._conn_base[site.key] + self._conn_n[site.key] * 0x2A1610F7) & 0xFFFFFFFFFFFF
        return f"{site.conn_prefix:04x}{low:012x}"

    def _b36(self, n: int, width: int) -> str:
        out = []
        for _ in range(width):
            n, d = divmod(n, 36)
            out.append(_B36[d])
        return "".join(reversed(out))

    def new_uuid(self, site: Site) -> str:
        self._uuid_n[site.key] += 1
        mid = "".join(self.rng.choices(_B36, k=6))
        return self._uuid_prefix[site.key] + mid + self._b36(self._uuid_n[site.key], 6)

    def new_token(self) -> str:
        """32-char id for URS virtual-queue ids and IS-Link ids."""
        self._token_n += 1
        return "".join(self.rng.choices(_B36, k=26)) + self._b36(self._token_n, 6)

    def new_ani(self) -> str:
        return f"+1555{self.rng.randint(0, 9999999):07d}"

    @staticmethod
    def dnis_of(dn) -> str:
        return f"800555{int(dn.number) % 10000:04d}"

    def new_call(self, site: Site, call_type: int, scenario: str, planned: str) -> Call:
        self._callid[site.key] += 1
        call = Call(site, self.new_uuid(site), self.new_conn(site), self._callid[site.key],
                    call_type, scenario, planned, self.rng.random() < 0.10)
        self.calls.append(call)
        self._hour_calls += 1
        return call

    # -- small random gaps between consecutive messages ----------------------------------------
    def gap(self) -> int:
        """0.2-3 ms: the next event of the same burst."""
        return self.rng.randint(2, 30)

    def rgap(self) -> int:
        """0.5-8 ms: from a request to the event it causes."""
        return self.rng.randint(5, 80)

    # -- logs -------------------------------------------------------------------------------------
    def _setup_logs(self) -> None:
        p = self.profile
        seg = max(4096, int(p.segment_mb * 1024 * 1024))
        if self.replicas == 1:
            folders = [("", self.out / "logs")]
        else:
            folders = [("", self.out / "logs" / "a"), ("-b", self.out / "logs" / "b")]
        for f in (self.out / "logs", self.out / "logs" / "a", self.out / "logs" / "b"):
            apps = [a for site in self.topo.sites for a in (site.app, site.app + "_B")]
            apps += [f"OCS_{site.key.upper()}" for site in self.topo.sites]
            for app in apps:           # our own output of an earlier run, any layout (_B: a
                for old in sorted(f.glob(f"{app}.*.log")):      # switchover's backup)
                    old.unlink()
        for _, f in folders:
            f.mkdir(parents=True, exist_ok=True)
        startup = startup_lines(p)
        for site in self.topo.sites:
            clock = SiteClock(site.utc_offset_s)
            writers = []
            for (suffix, folder), replica in zip(folders, "ab"):
                first = seg if not suffix else int(seg * B_FIRST_SEGMENT_SHARE)
                w = SegmentWriter(folder, site.app, site.host + suffix, site.tz_line, clock, seg,
                                  first, force_split=True)
                # each replica is its own process: the backup started a little earlier
                proc_start = self.start - (5 if not suffix else 9) * TPS
                if self.faults is not None:
                    self.faults.attach(w, replica, site, proc_start, startup)
                w.restart(self.start, proc_start)
                writers.append(w)
            site.log = TServerLog(clock, writers, self.rng.randint(0x1000, 0xFFFF))
        for ocs in self.ocs:
            site = ocs.site
            for (suffix, folder), _replica in zip(folders, "ab"):
                first = seg if not suffix else int(seg * B_FIRST_SEGMENT_SHARE)
                w = SegmentWriter(folder, ocs.app, site.host.replace("-01", "-02") + suffix,
                                  site.tz_line, SiteClock(site.utc_offset_s), seg, first,
                                  force_split=False, app_type=outbound.OCS_APP_TYPE,
                                  command="cm_server")
                w.restart(self.start, self.start - (7 if not suffix else 11) * TPS)
                ocs.writers.append(w)
        for site in self.topo.sites:
            log = site.log
            t = self.start + TPMS
            for dt, text in startup:
                log.line(t + dt, text)
            site.urs = self.connect(site, f"URS_{site.key.upper()}", t + seconds(0.2))

    def connect(self, site: Site, app: str, t: int, rng: random.Random | None = None,
                host: int | None = None) -> Client:
        """A client opens a T-Library connection: a standard log line, a fresh socket. `rng`
        draws its port (OCS uses its own generator), `host` fixes its address."""
        r = rng or self.rng
        self._fd[site.key] += 1
        fd = self._fd[site.key]
        if host is None:
            host = 200 if app.startswith("URS") else 10 + r.randint(0, 239)
        c = Client(app, fd, 0x100 + fd * 3, f"{site.net}.{host}:{r.randint(49152, 65000)}")
        c.connected = True
        site.log.clients.append(c)
        site.log.line(t, f"Std 04500 New client [{fd}] connected ({c.label})")
        return c

    def disconnect(self, site: Site, c: Client, t: int) -> None:
        c.connected = False
        site.log.line(t + seconds(self.rng.uniform(0.05, 0.5)),
                      f"Std 04503 Client [{c.fd}] disconnected ({c.label})")

    # -- routing ------------------------------------------------------------------------------------
    def dispatch(self, g: Group) -> None:
        """Pair the longest-waiting call of the group with its longest-ready agent."""
        waiting, ready = g.waiting, g.ready
        while waiting and ready:
            w = waiting[0]
            if w.done:                  # abandoned meanwhile
                waiting.popleft()
                continue
            agent = next(iter(ready))
            waiting.popleft()
            self.desk.reserve(agent)
            w.fire(agent)

    # -- arrivals --------------------------------------------------------------------------------
    def _rate(self, site: Site, t: int) -> float:
        """New calls per second at tick t for a site (piecewise constant per local hour)."""
        p = self.profile
        hour = (t // TPS + site.utc_offset_s) // 3600 % 24
        share = p.south_share if site.key == "south" else 1.0 - p.south_share
        return p.calls_per_hour[hour] * share / 3600.0

    def _arrivals(self, site: Site):
        rng = self.rng
        t = self.start
        while True:
            # exact non-homogeneous Poisson arrivals: restart the draw at each hour boundary
            boundary = (t // (3600 * TPS) + 1) * 3600 * TPS
            rate = self._rate(site, t)
            if rate <= 0:
                t = boundary
                yield self.flows.to(t)
                continue
            dt = seconds(rng.expovariate(rate))
            if t + dt >= boundary:
                t = boundary
                yield self.flows.to(t)
                continue
            t += dt
            yield self.flows.to(t)
            self.engine.spawn(self._start_call(site, self._plan(site)))

    def _plan(self, site: Site) -> Plan:
        if site.key == "north" and self.walk:
            return self.walk.pop(0)
        p, r = self.profile, self.rng
        u = r.random()
        if u < p.outbound_share:
            return Plan("outbound", r.random() < p.outbound_busy_share)
        if u < p.outbound_share + p.internal_share:
            return Plan("internal", r.random() < p.internal_giveup_share)
        u = r.random()
        scenario = "inbound_routed"
        for name, share in p.mix.items():
            if u < share:
                scenario = name
                break
            u -= share
        if scenario == "abandon_in_queue":
            return Plan(scenario, r.random() < p.abandon_acd_share)
        if scenario == "consult_cancel":
            return Plan(scenario, r.random() < 0.5)
        if scenario == "transfer_single_step":
            return Plan(scenario, r.random() < p.single_step_fail_share)
        if scenario == "conference":
            return Plan(scenario, r.random() < 0.5)
        return Plan(scenario)

    def _start_call(self, site: Site, plan: Plan):
        if plan.scenario == "outbound":
            return self.flows.outbound(plan, site)
        if plan.scenario == "internal":
            return self.flows.internal(plan, site)
        return self.flows.inbound(plan, site)

    # -- hourly work ---------------------------------------------------------------------------------
    def _hour(self, k: int) -> None:
        t = self.start + k * 3600 * TPS
        if k > 0:
            for site in self.topo.sites:
                site.log.check_point(t + 2 * TPMS)
            self._report(t - 3600 * TPS)
        if self.profile.walkthrough:
            self.walk = walkthrough_plans(k)

    def _events(self) -> int:
        return sum(s.log.events for s in self.topo.sites)

    def _report(self, hour_start: int) -> None:
        events = self._events()
        if self.progress is not None:
            stamp = utc_iso(hour_start)[:16].replace("T", " ")
            self.progress(f"simulated {stamp}Z: {self._hour_calls:,} calls, "
                          f"{events - self._hour_events:,} events")
        self._hour_calls = 0
        self._hour_events = events

    # -- run ----------------------------------------------------------------------------------------
    def run(self) -> None:
        eng = self.engine
        k = 0
        while self.start + k * 3600 * TPS < self.end:
            eng.at(self.start + k * 3600 * TPS, self._hour, k)
            k += 1
        self.desk.plan()
        self.dialer.plan()
        for site in self.topo.sites:
            eng.spawn(self._arrivals(site))
        eng.run(self.end)
        last = self.start + (k - 1) * 3600 * TPS
        self._report(last)
        for site in self.topo.sites:
            site.log.close(self.end)
        startup = startup_lines(self.profile)
        for ocs in self.ocs:
            outbound.write_logs(ocs, self.start, self.end, startup)


def startup_lines(p: Profile) -> list[tuple[int, str]]:
    """The logging library's start-up lines (offset in ticks, text): the option echo."""
    lines = [(0, "Std 04106 Log Messages file 'common.lms' successfully loaded")]
    for opt, val in (("time-format", "ISO8601"), ("time-convert", "local"),
                     ("message-format", "short"), ("segment", _mb(p.segment_mb)),
                     ("check-point", "1"), ("verbose", "all"), ("buffering", "yes")):
        lines.append((TPMS, f"Trc 04110 Option '{opt}' has been set to the value '{val}'"))
    lines.append((2 * TPMS, "Trc 04100 Logging service started"))
    return lines


def _mb(mb: float) -> str:
    return f"{int(mb)} MB" if float(mb).is_integer() else f"{mb:g} MB"
