"""Fault injection for HA replicas (docs/simulator.md "Faults in HA replicas").

A fault hits one T-Server (north or south) in one replica folder (``a`` or ``b``) and changes
only what that replica's log shows; the simulation itself, and so ``truth/calls.jsonl`` and
``truth/agents.jsonl``, is the same with or without faults. ``truth/faults.json`` lists what
was injected and what each replica lost.

Spec (a string, a list of item strings, or a list of dicts; see docs/simulator.md):

    default | both_gap | none
    gap:a:north@1h10m+10m; link_down:b:north@1h40m+3m; skew:b:south=+2s; restart:a:north@2h20m+30s

Each replica log that has a fault gets a :class:`ReplicaView`. The view keeps that replica's
own event counter (the numbers its T-Server prints), decides per entry whether the replica
writes it, injects the lines a fault adds (link events, a restarted process' start-up, a
switchover to the backup), re-renders entries with the replica's clock skew, and records
what it dropped. It uses its own ``random.Random``, never the simulation's, so faults cannot
change the simulated activity.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from . import tlib
from .clock import TPMS, TPS, SiteClock, parse_start, utc_iso
from .logwriter import EV, LN, RQ, render

if TYPE_CHECKING:  # pragma: no cover
    from .logwriter import SegmentWriter, TServerLog
    from .topology import Site

KINDS = ("gap", "link_down", "restart", "switchover", "skew")

NAMED: dict[str, str] = {
    "none": "",
    # replica a loses 10 minutes of north in hour 1; b's north CTI link is down for 3 minutes
    # later; b's south host clock runs 2 s ahead; a's north T-Server restarts in the last hour
    "default": ("gap:a:north@1h10m+10m; link_down:b:north@1h40m+3m; skew:b:south=+2s; "
                "restart:a:north@2h20m+30s"),
    # both replicas miss the same 5 minutes of north: nothing can fill them
    "both_gap": "gap:a:north@40m+5m; gap:b:north@40m+5m",
}

DEFAULT_DURATION_S = {"gap": 600.0, "link_down": 180.0, "restart": 30.0, "switchover": 5.0}
MIN_DURATION_S = {"gap": 0.001, "link_down": 0.001, "restart": 2.0, "switchover": 1.0}
MAX_SKEW_S = 3600.0
# the DSCONN_TYPE an ICON would record for the connection that follows the fault
# (docs/semantics.md §10); a gap is lost after ICON, so ICON records nothing
DSCONN_TYPE = {"gap": None, "link_down": 2, "restart": 3, "switchover": 5, "skew": None}

BACKUP_SUFFIX = "_B"
# the backup T-Server of a switchover had been running this long before the window start
BACKUP_STARTED_BEFORE_S = 3600
# simulator-invented standard message ids (no real T-Server message ids are known to us)
MSG_SWITCHOVER = "Std 20033"

_SITES = {"north": "north", "ts_north": "north", "sw_north": "north",
          "south": "south", "ts_south": "south", "sw_south": "south"}
_DUR_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_ITEM_RE = re.compile(r"^(?P<kind>\w+):(?P<replica>\w+):(?P<server>\w+)"
                      r"(?:@(?P<at>.+?)(?:\+(?P<dur>[0-9hms.]+))?|=(?P<skew>[+-]?[0-9hms.]+))$")


def _err(msg: str) -> ValueError:
    return ValueError(f"faults: {msg}")


def _duration(text: Any, what: str) -> float:
    """'1h10m', '90s', '2.5m', '45' (seconds) or a number of seconds -> seconds."""
    if isinstance(text, bool):
        raise _err(f"bad {what} {text!r}")
    if isinstance(text, (int, float)):
        return float(text)
    t = str(text).strip().lower()
    try:
        return float(t)
    except ValueError:
        pass
    m = _DUR_RE.match(t)
    if not t or not m or not any(m.groups()):
        raise _err(f"bad {what} {text!r}; use e.g. 1h10m, 90s, 3m")
    h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return h * 3600 + mi * 60 + s


def _fmt(seconds: float) -> str:
    """Compact canonical duration: 4200 -> '1h10m', 2 -> '2s', 0.5 -> '0.5s'."""
    ticks = int(round(seconds * TPS))
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    h, rest = divmod(ticks, 3600 * TPS)
    m, rest = divmod(rest, 60 * TPS)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "")
    if rest or not out:
        s = rest / TPS
        out += f"{s:g}s"
    return sign + out


@dataclass
class Fault:
    kind: str
    replica: str          # a | b
    site: str             # north | south
    start: int            # ticks, true UTC (skew: the window start)
    end: int              # ticks, exclusive (skew: the window end)
    skew: int = 0         # ticks (skew only)
    spec: str = ""        # canonical item string
    # filled while the run writes the replica's log
    missing: dict = field(default_factory=dict)
    injected: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def _parse_item(item: Any, start: int, end: int) -> Fault:
    if isinstance(item, Mapping):
        d = {str(k).lower(): v for k, v in item.items()}
        unknown = sorted(set(d) - {"kind", "replica", "server", "site", "tserver", "start", "at",
                                   "duration", "end", "seconds", "skew"})
        if unknown:
            raise _err(f"unknown key(s) {', '.join(unknown)} in {dict(item)!r}")
        kind = str(d.get("kind", "")).lower()
        replica = str(d.get("replica", "")).lower()
        server = str(d.get("server", d.get("site", d.get("tserver", "")))).lower()
        at = d.get("start", d.get("at"))
        dur = d.get("duration")
        end_v = d.get("end")
        skew_v = d.get("seconds", d.get("skew"))
        text = repr(dict(item))
    else:
        text = str(item).strip()
        m = _ITEM_RE.match(text.replace(" ", ""))
        if not m:
            raise _err(f"cannot parse {text!r}; expected KIND:REPLICA:SERVER@START[+DURATION] "
                       f"or skew:REPLICA:SERVER=SECONDS, e.g. gap:a:north@1h10m+10m")
        kind, replica, server = m["kind"].lower(), m["replica"].lower(), m["server"].lower()
        at, dur, end_v, skew_v = m["at"], m["dur"], None, m["skew"]
    if kind not in KINDS:
        raise _err(f"unknown kind {kind!r} in {text}; choose one of {', '.join(KINDS)}")
    if replica not in ("a", "b"):
        raise _err(f"replica must be a or b in {text}")
    if server not in _SITES:
        raise _err(f"server must be north or south (or TS_NORTH/TS_SOUTH) in {text}")
    site = _SITES[server]
    if kind == "skew":
        if skew_v is None or at is not None:
            raise _err(f"a skew is written skew:{replica}:{site}=+2s (whole run), not {text}")
        secs = _duration(str(skew_v).lstrip("+-"), "skew") * (-1 if str(skew_v).startswith("-") else 1)
        ticks = int(round(secs * TPS))
        if ticks == 0 or abs(secs) > MAX_SKEW_S:
            raise _err(f"skew must be non-zero and at most {MAX_SKEW_S:g} s, got {skew_v!r}")
        return Fault(kind, replica, site, start, end, skew=ticks,
                     spec=f"skew:{replica}:{site}={'+' if ticks > 0 else ''}{_fmt(secs)}")
    if at is None:
        raise _err(f"{text} needs a start: {kind}:{replica}:{site}@1h10m+10m")
    if skew_v is not None:
        raise _err(f"only a skew takes '=': {text}")
    at_s = str(at).strip()
    if "T" in at_s and "-" in at_s:                   # absolute ISO 8601 time
        try:
            t0 = parse_start(at_s)
        except ValueError as exc:
            raise _err(str(exc)) from None
    else:
        t0 = start + int(round(_duration(at, "start") * TPS))
    if end_v is not None and dur is not None:
        raise _err(f"give a duration or an end, not both: {text}")
    if end_v is not None:
        end_s = str(end_v).strip()
        t1 = parse_start(end_s) if ("T" in end_s and "-" in end_s) else \
            start + int(round(_duration(end_v, "end") * TPS))
    else:
        secs = DEFAULT_DURATION_S[kind] if dur is None else _duration(dur, "duration")
        t1 = t0 + int(round(secs * TPS))
    if t1 - t0 < int(round(MIN_DURATION_S[kind] * TPS)):
        raise _err(f"{kind} needs at least {MIN_DURATION_S[kind]:g} s: {text}")
    if t0 < start + TPS or t1 > end - TPS:
        raise _err(f"{text} must lie inside the window [{utc_iso(start)}, {utc_iso(end)}) "
                   f"(from 1 s after its start to 1 s before its end)")
    return Fault(kind, replica, site, t0, t1,
                 spec=f"{kind}:{replica}:{site}@{_fmt((t0 - start) / TPS)}+{_fmt((t1 - t0) / TPS)}")


def parse_faults(spec: Any, start: int, end: int, replicas: int) -> tuple[str | None, list[Fault]]:
    """Spec -> (name or canonical spec string for the summary, faults in spec order)."""
    if spec is None:
        return None, []
    name = None
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key in NAMED:
            name = key
            spec = NAMED[key]
        items: Iterable[Any] = [x for x in spec.split(";") if x.strip()]
    elif isinstance(spec, (list, tuple)):
        items = spec
    else:
        raise _err(f"expected a name ({', '.join(NAMED)}), a spec string or a list, "
                   f"not {type(spec).__name__}")
    faults = [_parse_item(it, start, end) for it in items]
    for f in faults:
        if f.replica == "b" and replicas < 2:
            raise _err(f"{f.spec} names replica b, but the run has replicas=1")
    for i, f in enumerate(faults):
        for g in faults[:i]:
            if (f.replica, f.site) != (g.replica, g.site):
                continue
            if f.kind == "skew" and g.kind == "skew":
                raise _err(f"two skews for replica {f.replica} {f.site}: {g.spec}, {f.spec}")
            if f.kind != "skew" and g.kind != "skew" and f.start < g.end and g.start < f.end:
                raise _err(f"{g.spec} and {f.spec} overlap")
    if not faults:
        return name, []
    return name or "; ".join(f.spec for f in faults), faults


class FaultPlan:
    """The parsed faults of a run; creates the replica views and reports what happened."""

    def __init__(self, spec: Any, start: int, end: int, replicas: int, seed: int):
        self.start = start
        self.end = end
        self.seed = seed
        self.name, self.faults = parse_faults(spec, start, end, replicas)
        self.views: list[ReplicaView] = []

    def __bool__(self) -> bool:
        return bool(self.faults)

    def attach(self, writer: "SegmentWriter", replica: str, site: "Site", proc_start: int,
               startup: list[tuple[int, str]]) -> None:
        mine = [f for f in self.faults if f.replica == replica and f.site == site.key]
        if mine:
            view = ReplicaView(self, writer, replica, site, mine, proc_start, startup)
            writer.view = view
            self.views.append(view)

    def to_json(self, apps: Mapping[str, "Site"]) -> dict:
        out = []
        for f in self.faults:
            site = apps[f.site]
            rec = {"replica": f.replica, "tserver": site.app, "switch": site.switch,
                   "kind": f.kind, "start": utc_iso(f.start), "end": utc_iso(f.end),
                   "spec": f.spec, "dsconn_type": DSCONN_TYPE[f.kind]}
            if f.kind == "skew":
                rec["skew_seconds"] = f.skew / TPS
            else:
                rec["missing"] = {"start": utc_iso(f.start), "end": utc_iso(f.end), **f.missing}
                rec["injected"] = f.injected
            rec.update(f.extra)
            out.append(rec)
        return {"format": "icon-etl-faults/1", "spec": self.name,
                "window": {"start": utc_iso(self.start), "end": utc_iso(self.end)},
                "faults": out}


class ReplicaView:
    """What one replica's log of one T-Server shows (see the module docstring)."""

    def __init__(self, plan: FaultPlan, writer: "SegmentWriter", replica: str, site: "Site",
                 faults: list[Fault], proc_start: int, startup: list[tuple[int, str]]):
        self.plan = plan
        self.writer = writer
        self.replica = replica
        self.site = site
        self.faults = faults
        self.startup = startup
        self.proc_start = proc_start
        self.clock = SiteClock(site.utc_offset_s)       # own cache: skewed ticks differ
        self.skew = sum(f.skew for f in faults if f.kind == "skew")
        writer.skew = self.skew
        self.rng = random.Random(f"icon-etl-faults/{plan.seed}/{replica}/{site.key}")
        self.log: "TServerLog | None" = None
        self.ctr = 0                # the last sequence number this replica's T-Server printed
        self.drop: str | None = None            # None, "all" or "tlib"
        self.drop_counts = False                # dropped events still advance the counter
        self.drop_fault: Fault | None = None
        self.last_t = 0
        self.primary = (writer.app, writer.host, proc_start)
        self.ordinals: dict[str, tuple[int, int]] = {}   # app -> (last ordinal, process start)
        tr: list[tuple[int, int, Any, Fault]] = []
        for n, f in enumerate(faults):
            if f.kind == "gap":
                tr += [(f.start, n, self._gap_start, f), (f.end, n, self._resume, f)]
            elif f.kind == "link_down":
                tr += [(f.start, n, self._link_down, f), (f.end, n, self._link_up, f)]
            elif f.kind == "restart":
                up = f.end - TPS                    # the new process starts 1 s before the end
                tr += [(f.start, n, self._process_stop, f), (up, n, self._process_start, f),
                       (f.end, n, self._resume, f)]
            elif f.kind == "switchover":
                sw = f.end - TPS // 2               # the backup takes over 0.5 s before the end
                tr += [(f.start, n, self._process_stop, f), (sw, n, self._switchover, f),
                       (f.end, n, self._resume, f)]
            if f.kind != "skew":
                f.missing = {"entries": 0, "events": 0, "requests": 0, "lines": 0,
                             "first_entry": None, "last_entry": None,
                             "first_event_seq": None, "last_event_seq": None}
        # at equal times a fault's end comes before the next one's start
        tr.sort(key=lambda x: (x[0], x[2] not in (self._resume, self._link_up), x[1]))
        self.transitions = tr
        self.i = 0

    def bind(self, log: "TServerLog") -> None:
        self.log = log
        self.ctr = log.seq                  # first_seq - 1: the replica starts in step

    # -- entries ---------------------------------------------------------------------------------
    def entry(self, t: int, etype: str, seq: int | None, payload: Any) -> None:
        if self.i < len(self.transitions) and self.transitions[self.i][0] <= t:
            self._advance(t)
        if self.drop is not None and (self.drop == "all" or _is_tlib(etype, payload)):
            self._missing(t, etype, seq)
            if etype == EV and self.drop_counts:
                self.ctr += 1               # the T-Server numbered it; the copy is lost
            return
        if etype == EV:
            self.ctr += 1
            seq = self.ctr
        self._write(t, etype, seq, payload)

    def finish(self, end: int) -> None:
        self._advance(end)

    def _advance(self, t: int) -> None:
        tr = self.transitions
        while self.i < len(tr) and tr[self.i][0] <= t:
            when, _, fn, f = tr[self.i]
            self.i += 1
            fn(max(when, self.last_t + 1), f)

    def _write(self, t: int, etype: str, seq: int | None, payload: Any) -> None:
        self.last_t = t
        self.writer.write(t, render(self.clock, etype, t + self.skew, seq, payload), seq)

    def _inject(self, t: int, etype: str, payload: Any, f: Fault) -> int:
        """Write an entry that exists only in this replica; returns the tick after it."""
        t = max(t, self.last_t + 1)
        seq = None
        if etype == EV:
            self.ctr += 1
            seq = self.ctr
            f.injected.append({"event": payload[1], "time": utc_iso(t), "seq": f"{seq:016x}"})
        self._write(t, etype, seq, payload)
        return t + 1

    def _missing(self, t: int, etype: str, seq: int | None) -> None:
        m = self.drop_fault.missing
        m["entries"] += 1
        m["events" if etype == EV else "requests" if etype == RQ else "lines"] += 1
        if m["first_entry"] is None:
            m["first_entry"] = utc_iso(t)
        m["last_entry"] = utc_iso(t)
        if etype == EV:
            if m["first_event_seq"] is None:
                m["first_event_seq"] = f"{seq:016x}"
            m["last_event_seq"] = f"{seq:016x}"

    # -- transitions -------------------------------------------------------------------------------
    def _gap_start(self, t: int, f: Fault) -> None:
        # the collector/disk lost [start, end): the T-Server still numbered those events
        self.writer.cut()
        self.drop, self.drop_counts, self.drop_fault = "all", True, f

    def _resume(self, t: int, f: Fault) -> None:
        self.drop, self.drop_fault = None, None

    def _link_down(self, t: int, f: Fault) -> None:
        self._inject(t, EV, (tlib.EVENT, "EventLinkDisconnected", ""), f)
        # the replica's T-Server receives nothing from the switch: no events, no requests
        self.drop, self.drop_counts, self.drop_fault = "tlib", False, f

    def _link_up(self, t: int, f: Fault) -> None:
        self.drop, self.drop_fault = None, None
        self._inject(t, EV, (tlib.EVENT, "EventLinkConnected", ""), f)

    def _process_stop(self, t: int, f: Fault) -> None:
        # the process ends (crash or switchover): the segment simply stops, nothing is logged
        self.writer.cut()
        self.drop, self.drop_counts, self.drop_fault = "all", False, f

    def _process_start(self, t: int, f: Fault) -> None:
        """A restarted T-Server: new process start, fresh log (ordinal 1), option echo, the
        clients reconnect, EventServerConnected, then its own sequence numbers."""
        w = self.writer
        proc = t - t % TPS                  # `Start time (UTC)` prints whole seconds
        self.proc_start = proc
        opened = t + TPS // 5
        w.restart(opened, proc)
        self.last_t = opened
        base = 1                            # a new process counts its events from 1
        self.ctr = base - 1
        for dt, text in self.startup:       # the option echo, as at the start of the run
            self._inject(opened + TPMS + dt, LN, text, f)
        t = self._reconnect(opened + TPS // 5, f)
        self._inject(t + TPMS, EV, (tlib.EVENT, "EventServerConnected",
                                    f"\tAttributeApplicationName\t'{w.app}'\n"), f)
        f.extra = {"process_start": utc_iso(proc), "first_seq": f"{base:016x}"}

    def _switchover(self, t: int, f: Fault) -> None:
        """ICON now gets the events from the other T-Server of the HA pair: its log (own
        application name, host and numbers), a mode-change line, reconnects, EventServerConnected."""
        w = self.writer
        prim_app, prim_host, prim_start = self.primary
        if w.app == prim_app:               # primary -> backup
            app, host = prim_app + BACKUP_SUFFIX, _backup_host(prim_host)
            proc = self.plan.start - BACKUP_STARTED_BEFORE_S * TPS
        else:                               # backup -> primary again
            app, host, proc = prim_app, prim_host, prim_start
        was = w.app
        self.ordinals[was] = (w.ordinal, self.proc_start)
        # a server we come back to continues its own segment numbers (and process)
        ordinal, proc = self.ordinals.get(app, (0, proc))
        self.proc_start = proc
        w.app, w.host = app, host
        w.restart(t, proc, ordinal)
        self.last_t = t
        # the other server's own counter, which has been running for a while
        base = self.rng.randint(0x100000, 0xFFFFFF)
        self.ctr = base - 1
        t = self._inject(t + TPMS, LN, f"{MSG_SWITCHOVER} Switchover: '{app}' is now primary "
                         f"(was backup of '{was}')", f)
        t = self._reconnect(t + TPS // 10, f)
        self._inject(t + TPMS, EV, (tlib.EVENT, "EventServerConnected",
                                    f"\tAttributeApplicationName\t'{app}'\n"), f)
        f.extra = {"from_tserver": was, "to_tserver": app, "to_host": host,
                   "process_start": utc_iso(proc), "first_seq": f"{base:016x}"}

    def _reconnect(self, t: int, f: Fault) -> int:
        """Every client that is connected now opens its connection again (same fd and
        address, so that its later request lines are the same text in both replicas)."""
        for c in self.log.clients if self.log is not None else ():
            if c.connected:                 # 0.5 ms apart
                t = self._inject(t, LN, f"Std 04500 New client [{c.fd}] connected ({c.label})",
                                 f) + TPMS // 2 - 1
        return t


def _is_tlib(etype: str, payload: Any) -> bool:
    """Entries that carry T-Library traffic (lost while the CTI link is down)."""
    if etype == EV or etype == RQ:
        return True
    return etype == LN and payload.startswith("Trc 04542 ")


def _backup_host(host: str) -> str:
    m = re.match(r"^(.*-)(\d+)(-b)?$", host)
    if m:
        n = int(m.group(2)) + 1
        return f"{m.group(1)}{n:0{len(m.group(2))}d}{m.group(3) or ''}"
    return host + "-backup"
