"""Compare IDB tables built from the simulator's logs with the simulator's ground truth.

The truth (`truth/calls.jsonl`) is written from the simulation's own model, so agreement here
measures the whole chain: log writing, parsing, and the call model. Times are compared at the
IDB's millisecond precision.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import polars as pl

from transforms.dictionary import CCEvent, MergeType, PartyHistoryChange, PartyState, PartyType

END_EVENTS = {int(m): "".join(w.capitalize() for w in m.name.split("_")) for m in CCEvent}
MERGE_TYPES = {int(MergeType.TRANSFER): "transfer", int(MergeType.CONFERENCE): "conference"}


def _ms(text: str | None) -> datetime | None:
    if text is None:
        return None
    t = datetime.fromisoformat(text).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


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
