"""Compare IDB tables built from the simulator's logs with the simulator's ground truth.

The truth (`truth/calls.jsonl`) is written from the simulation's own model, so agreement here
measures the whole chain: log writing, parsing, and the call model. Times are compared at the
IDB's millisecond precision.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from transforms.idb.dictionary import CCEvent, MergeType, PartyHistoryChange, PartyState, PartyType

END_EVENTS = {int(m): "".join(w.capitalize() for w in m.name.split("_")) for m in CCEvent}
MERGE_TYPES = {int(MergeType.TRANSFER): "transfer", int(MergeType.CONFERENCE): "conference"}


def _ms(text: str | None) -> datetime | None:
    if text is None:
        return None
    t = datetime.fromisoformat(text).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def load_window(log_dir: Path, data_dir: Path, replica: str = "a", workers: int = 1,
                switches: pl.DataFrame | None = None):
    """Every event of a folder of logs as one window (registry + parse cache under `data_dir`),
    the input `build_gcc`/`build_gud` take in the pipeline, without the hourly split. With the
    configuration's `switches`, events get the data source sessions the pipeline derives."""
    from transforms.datafolder import DataFolder
    from transforms.ha import OFFSET_SCHEMA, ReplicaClock, sessions
    from transforms.roles import Window, with_sources
    from transforms.segments import SegmentStore

    store = SegmentStore(Path(log_dir), DataFolder(data_dir).replica(replica))
    registry = store.refresh(workers=workers).registry
    frames = store.slice_hour(datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
    if not frames:
        return Window.empty()
    clock = None
    if switches is not None:
        clock = ReplicaClock(sessions(store.skeleton(), switches, replica),
                             pl.DataFrame(schema=OFFSET_SCHEMA), switches)
    return Window(with_sources(frames["events"], registry, replica, clock), frames["kvpairs"])


def load_truth_calls(truth_dir: Path) -> list[dict]:
    with open(Path(truth_dir) / "calls.jsonl") as f:
        return [json.loads(line) for line in f]


class Tally:
    """Agreement counts per check, with the first few disagreements kept for the report."""

    def __init__(self, keep: int = 5):
        self.ok: Counter = Counter()
        self.total: Counter = Counter()
        self.examples: dict[str, list] = {}
        self.keep = keep

    def check(self, name: str, expected, actual, where: str) -> None:
        self.total[name] += 1
        if expected == actual:
            self.ok[name] += 1
        else:
            self.examples.setdefault(name, [])
            if len(self.examples[name]) < self.keep:
                self.examples[name].append({"where": where, "truth": str(expected),
                                            "idb": str(actual)})

    def report(self) -> dict:
        checks = {name: {"agree": self.ok[name], "total": self.total[name],
                         "percent": round(100.0 * self.ok[name] / self.total[name], 3)}
                  for name in sorted(self.total)}
        return {"checks": checks, "all_agree": all(v["agree"] == v["total"] for v in checks.values()),
                "disagreements": self.examples}


def compare_calls(tables: dict[str, pl.DataFrame], truth: list[dict]) -> dict:
    """Per-check agreement of G_CALL / G_CALL_STAT / G_PARTY / G_PARTY_HISTORY / G_IS_LINK* with
    the truth's calls and their monitored parties."""
    t = Tally()
    calls = {r["CALLID"]: r for r in tables["G_CALL"].iter_rows(named=True)}
    stats = {r["CALLID"]: r for r in tables["G_CALL_STAT"].iter_rows(named=True)}
    active = set(tables["G_CALL_ACTIVE"]["CALLID"].to_list())
    truth_ids = {c["call_uuid"] for c in truth}
    t.check("calls: same set of CallUUIDs", sorted(truth_ids), sorted(calls), "G_CALL")
    parties = _parties_by_call(tables)
    links = tables["G_IS_LINK_HISTORY"].select("LINKID", "CALLID").unique()
    for c in truth:
        cid = c["call_uuid"]
        row = calls.get(cid)
        if row is None:
            continue
        t.check("call created", _ms(c["created"]), row["CREATED"], cid)
        t.check("call terminated", _ms(c["terminated"]), row["TERMINATED"], cid)
        t.check("call active at end of data", c["terminated"] is None, cid in active, cid)
        t.check("call parent (consultation)", c["parent_call_uuid"], row["PARENTCALLID"], cid)
        t.check("call merged into", c["merged_into"], row["MERGECALLID"], cid)
        t.check("call merge type", c["merge_type"], MERGE_TYPES.get(row["MERGETYPE"]), cid)
        if c["terminated"] is not None:
            stat = stats.get(cid, {})
            t.check("who released (CtrlParty, G_CALL_STAT.GSYS_EXT_VCH1)",
                    c["released_by"] or "", stat.get("GSYS_EXT_VCH1"), cid)
            abandoned = c["outcome"] in ("abandoned_in_queue", "abandoned_ringing") or any(
                p["end_event"] == "EventAbandoned" for p in c["parties"])
            t.check("abandon flag (G_CALL_STAT.F_TE_ABND)", int(abandoned),
                    stat.get("F_TE_ABND"), cid)
        ours = parties.get(cid, [])
        t.check("monitored parties (DNs in joining order)", [p["dn"] for p in c["parties"]],
                [p["dn"] for p in ours], cid)
        for n, (want, got) in enumerate(zip(c["parties"], ours)):
            _compare_party(t, want, got, f"{cid} party {n + 1} ({want['dn']})")
        for link in c.get("is_links", []):
            held = links.filter((pl.col("LINKID") == link["link_id"]) & (pl.col("CALLID") == cid))
            t.check("IS-Link held by the call", True, held.height > 0, f"{cid} {link['link_id']}")
    return t.report()


def _parties_by_call(tables: dict[str, pl.DataFrame]) -> dict[str, list[dict]]:
    """Internal parties per call in creation order, with their history folded into lists."""
    party = tables["G_PARTY"].filter(pl.col("TYPE") == int(PartyType.INTERNAL))
    hist = tables["G_PARTY_HISTORY"].join(party.select("PARTYID"), on="PARTYID", how="semi") \
        .sort("PARTYID", "PSEQ")
    stat = tables["G_PARTY_STAT"].select("PARTYID", releasing="GSYS_EXT_INT1")
    guid_call = tables["G_PARTY"].select("PARTYGUID", "CALLID", "CREATED")
    out: dict[str, list[dict]] = {}
    by_party = {pid: rows for (pid,), rows in hist.group_by("PARTYID", maintain_order=True)}
    for p in party.join(stat, on="PARTYID", how="left").sort("CALLID", "CREATED", "PARTYID") \
            .iter_rows(named=True):
        rows = by_party.get(p["PARTYID"])
        h = rows.to_dicts() if rows is not None else []

        def at(pred) -> list:
            return [r["ADDED"] for r in h if pred(r)]

        moved_to = None
        if p["CCEVENT"] == int(CCEvent.EVENT_PARTY_CHANGED) and p["TERMINATED"] is not None:
            later = guid_call.filter((pl.col("PARTYGUID") == p["PARTYGUID"])
                                     & (pl.col("CALLID") != p["CALLID"])
                                     & (pl.col("CREATED") >= p["CREATED"]))
            moved_to = later.sort("CREATED")["CALLID"][0] if later.height else None
        out.setdefault(p["CALLID"], []).append({
            "dn": p["ENDPOINTDN"],
            "queued": at(lambda r: r["STATE"] in (int(PartyState.QUEUED), int(PartyState.ROUTING))),
            "dialing": at(lambda r: r["CCEVENT"] == int(CCEvent.EVENT_DIALING)),
            "alerting": at(lambda r: r["STATE"] == int(PartyState.ALERTING)),
            "connected": at(lambda r: r["STATE"] == int(PartyState.CONNECTED)
                            and r["PREVSTATE"] != int(PartyState.HOLD)
                            and r["CCEVENT"] != int(CCEvent.EVENT_DIALING)),
            "held": at(lambda r: r["STATE"] == int(PartyState.HOLD)),
            "retrieved": at(lambda r: r["STATE"] == int(PartyState.CONNECTED)
                            and r["PREVSTATE"] == int(PartyState.HOLD)),
            "ended": p["TERMINATED"],
            "end_event": END_EVENTS.get(p["CCEVENT"]) if p["TERMINATED"] is not None else None,
            "releasing_party": p["releasing"],
            "moved_to": moved_to,
            "created_change": h[0]["CHANGETYPE"] if h else None,
        })
    for plist in out.values():
        assert all(p["created_change"] == int(PartyHistoryChange.PARTY_CREATED) for p in plist)
    return out


def _compare_party(t: Tally, want: dict, got: dict, where: str) -> None:
    for key in ("queued", "alerting", "held", "retrieved"):
        t.check(f"party {key} times", [_ms(x) for x in want[key]], got[key], where)
    t.check("party dialing times", [_ms(x) for x in want["dialing"]], got["dialing"], where)
    if not want["dialing"]:  # a dialling party is connected from EventDialing (semantics.md)
        t.check("party connected times", [_ms(x) for x in want["connected"]], got["connected"], where)
    t.check("party ended", _ms(want["ended"]), got["ended"], where)
    t.check("party end event", want["end_event"], got["end_event"], where)
    t.check("party releasing party (G_PARTY_STAT.GSYS_EXT_INT1)", want["releasing_party"],
            got["releasing_party"], where)
    t.check("party moved to (transfer/conference)", want["moved_to"], got["moved_to"], where)


def final_user_data(tables: dict[str, pl.DataFrame]) -> dict[str, dict[str, str]]:
    """Each call's attached data at its end, folded from the UserData history rows (public and
    secure; needs history `all` or `last` for every key)."""
    from transforms.idb.dictionary import UserDataChange, UserDataSource

    rows = pl.concat([tables[n] for n in ("G_USERDATA_HISTORY", "G_SECURE_USERDATA_HISTORY")])
    last = (rows.filter(pl.col("SOURCE") == int(UserDataSource.USERDATA))
            .sort("CALLID", "ADDED", "CSEQ", "ID")
            .group_by("CALLID", "KEYNAME", maintain_order=True).agg(pl.all().last())
            .filter(pl.col("CHANGETYPE") != int(UserDataChange.DELETE)))
    out: dict[str, dict[str, str]] = {}
    for call, key, value in last.select("CALLID", "KEYNAME", "VALUE").iter_rows():
        out.setdefault(call, {})[key] = value
    return out


def compare_user_data(tables: dict[str, pl.DataFrame], truth: list[dict],
                      secure_keys: frozenset[str] = frozenset()) -> dict:
    """Final attached data per call against the truth's `final_user_data` (KV-list values are not
    stored: semantics.md §9), and secure keys only in the secure table."""
    t = Tally()
    ours = final_user_data(tables)
    for c in truth:
        want = {k: v for k, v in (c.get("final_user_data") or {}).items() if not isinstance(v, dict)}
        got = ours.get(c["call_uuid"], {})
        t.check("final attached data of the call", want, got, c["call_uuid"])
    public = tables["G_USERDATA_HISTORY"]
    if secure_keys:
        leaked = public.filter(pl.col("KEYNAME").is_in(list(secure_keys)))
        t.check("secure keys absent from G_USERDATA_HISTORY", 0, leaked.height, "G_USERDATA_HISTORY")
    return t.report()


# -- agent login sessions and states (gls) --------------------------------------------------------

AGENT_STATE_NAMES = {1: "login", 2: "notready", 3: "ready", 4: "acw"}


def compare_agents(tables: dict[str, pl.DataFrame], truth_dir: Path,
                   custom_states: bool | None = None) -> dict:
    """Per-check agreement of the gls tables with `truth/agents.jsonl`: sessions (agent, DNs,
    login, logout), agent-state intervals per DN (state, workmode, start, end), the reasons active
    in each truth interval and the reason-code rows, DND intervals and busy intervals (call
    connected / disconnected records), at millisecond precision; and the custom-state intervals
    (dn, code, key, start, end) of G_CUSTOM_STATES when `custom_states` is True, or when it is
    None and the table has rows (custom states are recorded only when `[custom-states]
    AgentRecordUserTypes` names the simulator's keys)."""
    with open(Path(truth_dir) / "agents.jsonl") as f:
        truth = [json.loads(line) for line in f]
    t = Tally()
    sessions = {(r["ETL_LOGIN_CODE"], r["CREATED"]): r
                for r in tables["G_LOGIN_SESSION"].iter_rows(named=True)}
    wanted = {(s["agent"], _ms(s["login"])): s for s in truth}
    t.check("sessions: same set of (agent, login)", sorted(wanted), sorted(sessions),
            "G_LOGIN_SESSION")
    dns = _agent_session_dns(tables["GX_SESSION_ENDPOINT"])
    hist = _agent_history(tables["G_AGENT_STATE_HISTORY"])
    codes = _agent_codes(tables)
    dnd = _agent_rows(tables["G_DND_HISTORY"], "LOGINSESSIONID",
                      lambda r: (r["ETL_DN"], r["CREATED"], r["TERMINATED"]))
    custom = tables.get("G_CUSTOM_STATES")
    if custom_states is None:
        custom_states = custom is not None and custom.height > 0
    custom_rows = _agent_custom_states(custom) if custom_states and custom is not None else {}
    for key, s in wanted.items():
        row = sessions.get(key)
        if row is None:
            continue
        sid, where = row["LOGINSESSIONID"], f"{s['agent']} {s['login']}"
        t.check("session DNs", s["dns"], dns.get(sid, []), where)
        t.check("session logout", _ms(s["logout"]), row["TERMINATED"], where)
        t.check("session open at end of data", s["logout"] is None, row["STATE"] == 1, where)
        records = hist.get(sid, {})
        for dn in s["dns"]:
            want = _truth_state_intervals([x for x in s["states"] if x["dn"] == dn])
            got = _idb_state_intervals(records.get(dn, []))
            t.check("state intervals per DN (count)", len(want), len(got), f"{where} {dn}")
            for n, (w, g) in enumerate(zip(want, got)):
                at = f"{where} {dn} interval {n + 1} ({w[0]} from {w[2]})"
                t.check("state interval state", w[0], g[0], at)
                t.check("state interval workmode", w[1], g[1], at)
                t.check("state interval start", w[2], g[2], at)
                t.check("state interval end", w[3], g[3], at)
        ours = codes.get(sid, [])
        for iv in s["states"]:
            start, end = _ms(iv["start"]), _ms(iv["end"])
            active = [c for c in ours if c[0] == iv["dn"] and c[4] <= start
                      and (c[5] is None or (end is not None and c[5] >= end))]
            at = f"{where} {iv['dn']} {iv['state']} from {iv['start']}"
            t.check("state reasons (software)", iv["reasons"],
                    {c[2]: c[3] for c in active if c[1] == 0}, at)
            hw = [c[3] for c in active if c[1] == 1]
            t.check("state hardware reason", iv["hardware_reason"], hw[0] if hw else None, at)
        want_codes = _truth_reason_rows(s["states"])
        t.check("reason code rows (count)", len(want_codes), len(ours), where)
        have = set(ours)
        for c in want_codes:
            t.check("reason code row (dn, hwflag, key, value, created, terminated)", True,
                    c in have, f"{where} {c}")
        want_dnd = sorted((d["dn"], _ms(d["on"]), _ms(d["off"])) for d in s["dnd"])
        got_dnd = sorted(dnd.get(sid, []), key=lambda x: (x[0], x[1]))
        t.check("DND intervals (count)", len(want_dnd), len(got_dnd), where)
        for w, g in zip(want_dnd, got_dnd):
            t.check("DND interval (dn, on, off)", w, g, f"{where} {w[0]} {w[1]}")
        want_busy = sorted((b["dn"], b["call_uuid"], _ms(b["start"]), _ms(b["end"]))
                           for b in s["busy"])
        got_busy = sorted(_idb_busy(records))
        t.check("busy intervals (count)", len(want_busy), len(got_busy), where)
        for w, g in zip(want_busy, got_busy):
            t.check("busy interval (dn, call, connected, disconnected)", w, g,
                    f"{where} {w[0]} {w[1]}")
        if custom_states:
            want_custom = sorted((c["dn"], c["code"], c["key"], _ms(c["start"]), _ms(c["end"]))
                                 for c in s.get("custom_states", []))
            got_custom = custom_rows.get(sid, [])
            t.check("custom states (count)", len(want_custom), len(got_custom), where)
            for w, g in zip(want_custom, got_custom):
                t.check("custom state interval (dn, code, key, start, end)", w, g,
                        f"{where} {w[0]} {w[2]} {w[3]}")
    if custom_states:
        # every custom state row belongs to a session of the truth
        known = {sessions[k]["LOGINSESSIONID"] for k in wanted if k in sessions}
        t.check("custom states outside the truth's sessions", 0,
                sum(len(v) for sid, v in custom_rows.items() if sid not in known),
                "G_CUSTOM_STATES")
    return t.report()


def _agent_rows(frame: pl.DataFrame, by: str, pick) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in frame.iter_rows(named=True):
        out.setdefault(r[by], []).append(pick(r))
    return out


def _agent_custom_states(custom: pl.DataFrame) -> dict[str, list[tuple]]:
    """(dn, code, key, start, end) of each session's G_CUSTOM_STATES rows, sorted; a state still
    open at the end of the data has end None, like the truth's."""
    rows = _agent_rows(custom, "LOGINSESSIONID", lambda r: (
        r["ENDPOINTDN"], r["STATECODE"], r["STATEKEY"], r["CREATED"], r["TERMINATED"]))
    return {sid: sorted(v, key=lambda x: (x[0], x[1], x[2], x[3])) for sid, v in rows.items()}


def _agent_session_dns(endpoints: pl.DataFrame) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sid, dn in endpoints.sort("LOGINSESSIONID", "CREATED", "ETL_DN") \
            .select("LOGINSESSIONID", "ETL_DN").iter_rows():
        if dn not in out.setdefault(sid, []):
            out[sid].append(dn)
    return out


def _agent_history(history: pl.DataFrame) -> dict[str, dict[str, list[dict]]]:
    out: dict[str, dict[str, list[dict]]] = {}
    for r in history.sort("LOGINSESSIONID", "ETL_DN", "SEQ").iter_rows(named=True):
        out.setdefault(r["LOGINSESSIONID"], {}).setdefault(r["ETL_DN"], []).append(r)
    return out


def _agent_codes(tables: dict[str, pl.DataFrame]) -> dict[str, list[tuple]]:
    rows = pl.concat([tables["G_AGENT_STATE_RC"], tables["G_AGENT_STATE_RC_A"]])
    return _agent_rows(rows, "SESSIONID", lambda r: (r["ETL_DN"], r["HWFLAG"], r["KEYNAME"],
                                                     r["VALUE"], r["CREATED"], r["TERMINATED"]))


def _truth_state_intervals(states: list[dict]) -> list[tuple]:
    """(state, workmode, start, end): a self-transition (same state and workmode, e.g. the
    hardware reason) continues the interval."""
    out: list[list] = []
    for x in states:
        start, end = _ms(x["start"]), _ms(x["end"])
        if out and out[-1][0] == x["state"] and out[-1][1] == x["workmode"] and out[-1][3] == start:
            out[-1][3] = end
        else:
            out.append([x["state"], x["workmode"], start, end])
    return [tuple(x) for x in out]


def _idb_state_intervals(records: list[dict]) -> list[tuple]:
    """The agent's own state (busy is a separate dimension: the state pending while busy) from a
    DN's G_AGENT_STATE_HISTORY records, as intervals (state, workmode, start, end)."""
    from transforms.idb.dictionary import AgentState

    out: list[list] = []
    for r in records:
        own = r["PENDINGSTATE"] if r["STATE"] == int(AgentState.BUSY) else r["STATE"]
        if own is None:
            continue
        cur = (AGENT_STATE_NAMES.get(own), r["WORKMODE"]) if own != 0 else None
        if out and out[-1][3] is None and (out[-1][0], out[-1][1]) == cur:
            continue
        if out and out[-1][3] is None:
            out[-1][3] = r["ADDED"]
        if cur is not None:
            out.append([cur[0], cur[1], r["ADDED"], None])
    return [tuple(x) for x in out]


def _truth_reason_rows(states: list[dict]) -> list[tuple]:
    """The reason-code rows the truth implies: (dn, hwflag, key, value, created, terminated); a
    code repeated by a self-transition continues, any state change closes it."""
    open_: dict[tuple, list] = {}
    rows: list[list] = []
    last: dict[str, dict] = {}
    for x in states:
        dn, start = x["dn"], _ms(x["start"])
        prev = last.get(dn)
        same_state = prev is not None and prev["state"] == x["state"] \
            and prev["workmode"] == x["workmode"] and _ms(prev["end"]) == start
        now = {(0, k, str(v)) for k, v in x["reasons"].items()}
        if x["hardware_reason"] is not None:
            now.add((1, "ReasonCode", str(x["hardware_reason"])))
        for code in [c for c in open_ if c[0] == dn]:
            if not (same_state and code[1:] in now):
                open_.pop(code)
        for code in now:
            if (dn, *code) not in open_:
                row = [dn, *code, start, None]
                rows.append(row)
                open_[(dn, *code)] = row
        for code in [c for c in open_ if c[0] == dn]:
            open_[code][5] = _ms(x["end"])
        last[dn] = x
    return [tuple(r) for r in rows]


def _idb_busy(records: dict[str, list[dict]]) -> list[tuple]:
    """(dn, call, connected, disconnected) from the call connected (8) / disconnected (9)
    records: the k-th disconnect of a call on a DN closes its k-th connect."""
    from transforms.idb.dictionary import StateRecordType

    out = []
    for dn, recs in records.items():
        opened: dict[str, list] = {}
        for r in recs:
            if r["TYPE"] == int(StateRecordType.CALL_CONNECTED):
                opened.setdefault(r["CALLID"], []).append([dn, r["CALLID"], r["ADDED"], None])
                out.append(opened[r["CALLID"]][-1])
            elif r["TYPE"] == int(StateRecordType.CALL_DISCONNECTED):
                pending = [x for x in opened.get(r["CALLID"], []) if x[3] is None]
                if pending:
                    pending[0][3] = r["ADDED"]
    return [tuple(x) for x in out]


# ---- outbound --------------------------------------------------------------------------------------

CAMPAIGN_STATES = {"loaded": 1, "started": 2, "unloading": 3, "terminated": 0}
CHAIN_STATES = {"scheduled": 1, "processing": 2, "processed": 3, "terminated": 0}


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def _by(frame: pl.DataFrame, key: str, order: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in frame.sort(key, order).iter_rows(named=True):
        out.setdefault(r[key], []).append(r)
    return out


def compare_outbound(tables: dict[str, pl.DataFrame], truth_dir: Path,
                     fields: pl.DataFrame) -> dict:
    """Campaign attempts (truth/campaigns.jsonl) against GO_CAMPAIGN, GO_CAMPAIGNHISTORY and
    GO_CAMPPROP_HIST; chain processing attempts (truth/chains.jsonl) against GO_CHAIN,
    GO_CHAINREC_HIST, the field histories and GOX_CHAIN_CALL. `fields`: the configuration's
    stored fields (ConfigSnapshot.list_fields)."""
    from transforms.idb.dictionary import DialMode, OptimMode

    t = Tally()
    attempts = _jsonl(Path(truth_dir) / "campaigns.jsonl")
    rows = {r["SESSID"]: r for r in tables["GO_CAMPAIGN"].iter_rows(named=True)}
    history = _by(tables["GO_CAMPAIGNHISTORY"], "SESSID", "SEQ")
    props = _by(tables["GO_CAMPPROP_HIST"], "SESSID", "SEQ")
    t.check("campaign attempts: same set of session GUIDs",
            sorted(a["session"] for a in attempts), sorted(rows), "GO_CAMPAIGN")
    modes = {m.name.replace("_", "").lower(): int(m) for m in DialMode}
    optims = {m.name.replace("_", "").lower(): int(m) for m in OptimMode}
    for a in attempts:
        sid, row = a["session"], rows.get(a["session"])
        if row is None:
            continue
        last = a["steps"][-1]
        t.check("campaign attempt created, terminated", (_ms(a["created"]), _ms(a["terminated"])),
                (row["CREATED"], row["TERMINATED"]), sid)
        t.check("campaign attempt campaign and group", (a["campaign_dbid"], a["group_dbid"]),
                (row["CAMPAIGNID"], row["GROUPID"]), sid)
        state = CAMPAIGN_STATES[last["state"]] or None
        t.check("campaign attempt state and dialing mode",
                (state, modes.get(str(last.get("DialMode")).lower())),
                (row["STATE"], row["DIALMODE"]), sid)
        t.check("campaign history: states in order",
                [(CAMPAIGN_STATES[s["state"]], _ms(s["at"])) for s in a["steps"]],
                [(r["STATE"], r["ADDED"]) for r in history.get(sid, [])], sid)
        changes, before = [], None
        for s in a["steps"]:
            now = (modes.get(str(s.get("DialMode")).lower()),
                   optims.get(str(s.get("OptimMode")).lower()), s.get("OptimValue"))
            if now != before and any(v is not None for v in now):
                changes.append((*now, _ms(s["at"])))
            before = now
        t.check("campaign property history", changes,
                [(r["DIALMODE"], r["OPTIMMODE"], r["OPTIMVALUE"], r["ADDED"])
                 for r in props.get(sid, [])], sid)
    _compare_chains(t, tables, _jsonl(Path(truth_dir) / "chains.jsonl"), fields)
    return t.report()


def _compare_chains(t: Tally, tables: dict[str, pl.DataFrame], chains: list[dict],
                    fields: pl.DataFrame) -> None:
    rows = {r["CHAINGUID"]: r for r in tables["GO_CHAIN"].iter_rows(named=True)}
    records = _by(tables["GO_CHAINREC_HIST"], "CHAINGUID", "SEQ")
    clear = _by(tables["GO_FIELDHIST"], "CHAINGUID", "ADDED")
    secure = _by(tables["GO_SEC_FIELDHIST"], "CHAINGUID", "ADDED")
    current = _by(tables["GO_CUSTOM_FIELDS"], "CHAINGUID", "FIELDID")
    calls = _by(tables["GOX_CHAIN_CALL"], "CHAINGUID", "ADDED")
    t.check("chain attempts: same set of chain GUIDs", sorted(c["chain_guid"] for c in chains),
            sorted(rows), "GO_CHAIN")
    stored = {(lst, name): (fid, sec) for lst, name, fid, sec in fields.iter_rows()}
    for c in chains:
        guid, row = c["chain_guid"], rows.get(c["chain_guid"])
        if row is None:
            continue
        t.check("chain attempt session, list, chain id, created, terminated",
                (c["session"], c["list_dbid"], c["chain_id"], _ms(c["created"]),
                 _ms(c["terminated"])),
                (row["SESSID"], row["CALLINGLISTID"], row["CHAINID"], row["CREATED"],
                 row["TERMINATED"]), guid)
        t.check("chain record history: states, attempts, results",
                [(CHAIN_STATES[s["state"]], c["record_handle"], s.get("call_attempt"),
                  s.get("call_result"), _ms(s["at"]))
                 for s in c["steps"] if s["code"] != "ChainUpdated"],
                [(r["STATE"], r["RECORDHANDLE"], r["CALLATTID"], r["CALLRESULT"], r["ADDED"])
                 for r in records.get(guid, [])], guid)
        values = [(name, None, value, _ms(c["created"]), None)
                  for name, value in c["fields_loaded"].items()]
        values += [(f["field"], f["old"], f["new"], _ms(f["at"]), f.get("call_attempt"))
                   for f in c["field_changes"] if f["old"] != f["new"]]
        want: dict[bool, list] = {False: [], True: []}
        final: dict[int, str] = {}
        for name, old, new, at, attempt in values:
            if (c["list_dbid"], name) in stored:
                fid, sec = stored[(c["list_dbid"], name)]
                want[sec].append((fid, old, new, at, attempt))
                if not sec:
                    final[fid] = new
        for sec, got in ((False, clear), (True, secure)):
            t.check(f"chain {'secure' if sec else 'clear'} field history", sorted(
                want[sec], key=lambda v: (v[3], v[0])), sorted(
                [(r["FIELDID"], r["OLDVALUE"], r["NEWVALUE"], r["ADDED"], r["CALLATTID"])
                 for r in got.get(guid, [])], key=lambda v: (v[3], v[0])), guid)
        t.check("chain current field values (GO_CUSTOM_FIELDS)", sorted(final.items()),
                sorted((r["FIELDID"], r["VALUE"]) for r in current.get(guid, [])), guid)
        t.check("chain dialed calls (GOX_CHAIN_CALL)",
                [(x["call_uuid"], x["call_attempt"], _ms(x["at"])) for x in c["calls"]],
                [(r["CALLID"], r["CALLATTID"], r["ADDED"]) for r in calls.get(guid, [])], guid)
