"""`icon-etl explain CALLUUID`: a call's events, as the logs have them, beside the IDB rows each
event produced (ETL_SOURCE / ETL_SOURCE_LAST point at the log lines), so a reporting engineer
can see why a row says what it says; `icon-etl explain CHAINGUID` does the same for an outbound
chain processing attempt (its OCS reporting events beside its GO_* rows)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from transforms.datafolder import DataFolder
from transforms.idb.dictionary import (
    CallHistoryChange,
    CallResult,
    ChainState,
    CallType,
    PartyHistoryChange,
    PartyState,
    PartyType,
    UserDataChange,
)
from transforms.idb.store import IdbStore, redact_url
from transforms.parsing import parquet_sink
from transforms.roles import with_sources
from transforms.segments import SegmentStore


class ExplainError(LookupError):
    """The call is not in the IDB."""


def _name(enum, value) -> str:
    try:
        return enum(value).name.lower()
    except (ValueError, TypeError):
        return str(value)


def _one(store: IdbStore, name: str, column: str, value: str, what: str) -> dict:
    """The row of `name` whose `column` is `value` (ExplainError when there is none)."""
    rows = store.read(name, f"{column} = :c", {"c": value})
    if rows.height == 0:
        raise ExplainError(f"{what} {value} is not in the IDB {redact_url(store.url)}")
    return rows.row(0, named=True)


def _short(party_id: str | None, call_id: str) -> str:
    """`.2` for the call's own parties, the whole id for a party of another call."""
    if party_id and party_id.startswith(call_id + "."):
        return party_id[len(call_id):]
    return party_id or "-"


def call_events(call_id: str, conn_ids: list[str], data: DataFolder, sources: set[str]) -> pl.DataFrame:
    """Every parsed event of the call (its CallUUID, one of its ConnIDs without a CallUUID, or a
    line an IDB row names as its source — e.g. the EventPartyChanged of the call a party moved
    to), from each replica's parse cache, with `src` as ETL_SOURCE writes it."""
    mine = (pl.col("call_uuid") == call_id) | (
        pl.col("call_uuid").is_null() & pl.col("conn_id").is_in(conn_ids))
    return logged_events(mine, data, sources)


def logged_events(mine: pl.Expr, data: DataFolder, sources: set[str]) -> pl.DataFrame:
    """The parsed events `mine` selects, and the lines IDB rows name as their sources (`sources`),
    from the parse cache of each replica those name, with `src` as ETL_SOURCE writes it."""
    replicas = sorted({s.split("/", 1)[0] for s in sources})
    frames = []
    for replica in replicas:
        store = SegmentStore(Path("."), data.replica(replica))
        registry = store.originals(parsed=True)
        if registry.height == 0:
            continue
        paths = registry.select(pl.col("segment_id").cast(pl.UInt32).alias("file_id"), "path")
        named = (pl.DataFrame({"src": sorted(s for s in sources if s.startswith(replica + "/"))},
                              schema={"src": pl.String})
                 .select(pl.col("src").str.extract(r"^[^/]+/(.*):(\d+)$", 1).alias("path"),
                         pl.col("src").str.extract(r":(\d+)$", 1).cast(pl.UInt32).alias("line"))
                 .join(paths, on="path").select("file_id", "line"))
        events = parquet_sink.scan(store.entries(), "events", missing_columns="insert") \
            .filter(mine | pl.struct("file_id", "line").is_in(named.to_struct().implode())) \
            .collect()
        if events.height:
            events = events.join(registry.select(pl.col("segment_id").cast(pl.UInt32).alias("file_id"),
                                                 "app"), on="file_id", how="left")
            frames.append(with_sources(events, store.registry(), replica)
                          .with_columns(replica=pl.lit(replica)))
    if not frames:
        return pl.DataFrame(schema={"ts": pl.Datetime("us", "UTC"), "message": pl.String,
                                    "this_dn": pl.String, "conn_id": pl.String, "src": pl.String,
                                    "replica": pl.String, "seq": pl.UInt64, "line": pl.UInt32})
    return pl.concat(frames, how="diagonal_relaxed").sort("ts", "seq", "line")


def explain_call(call_id: str, idb_url: str, data: DataFolder, out: Callable[[str], None] = print) -> None:
    store = IdbStore(idb_url)
    params = {"c": call_id}
    c = _one(store, "G_CALL", "CALLID", call_id, "call")
    parties = store.read("G_PARTY", "CALLID = :c", params).sort("CREATED", "PARTYID")
    party_hist = store.read("G_PARTY_HISTORY", "CALLID = :c", params).sort("CSEQ")
    call_hist = store.read("G_CALL_HISTORY", "CALLID = :c", params).sort("CSEQ")
    user_data = store.read("G_USERDATA_HISTORY", "CALLID = :c", params).sort("ADDED", "KEYNAME")

    out(f"call {call_id}  ConnID {c['CONNID']}  {_name(CallType, c['CALLTYPE'])}  "
        f"created {c['CREATED']}  terminated {c['TERMINATED'] or '(open)'}")
    if c["PARENTCALLID"]:
        out(f"  consultation of {c['PARENTCALLID']}")
    if c["MERGECALLID"]:
        out(f"  merged into {c['MERGECALLID']}")
    if c["ETL_CLOSED_BY"]:
        out(f"  closed by rule: {c['ETL_CLOSED_BY']}")
    out(f"  G_CALL from {c['ETL_SOURCE']} .. {c['ETL_SOURCE_LAST']}  (partition {c['ETL_PARTITION']})")
    for link in store.read("GOX_CHAIN_CALL", "CALLID = :c", params).iter_rows(named=True):
        out(f"  dialed by outbound chain {link['CHAINGUID']} (call attempt {link['CALLATTID']}): "
            f"icon-etl explain {link['CHAINGUID']}")

    produced: dict[str, list[str]] = {}
    for r in call_hist.iter_rows(named=True):
        produced.setdefault(r["ETL_SOURCE"], []).append(
            f"CSEQ {r['CSEQ']} {_name(CallHistoryChange, r['CHANGETYPE'])}")
    for r in party_hist.iter_rows(named=True):
        produced.setdefault(r["ETL_SOURCE"], []).append(
            f"CSEQ {r['CSEQ']} party {_short(r['PARTYID'], call_id)} {r['ENDPOINTDN']} "
            f"{_name(PartyHistoryChange, r['CHANGETYPE'])} {_name(PartyState, r['STATE'])}")
    for (src, change), keys in user_data.group_by("ETL_SOURCE", "CHANGETYPE", maintain_order=True):
        produced.setdefault(src, []).append(
            f"data {_name(UserDataChange, change)}: {', '.join(keys['KEYNAME'].to_list())}")

    conn_ids = [c["CONNID"]] if c["CONNID"] else []
    sources = {s for s in [c["ETL_SOURCE"], *produced] if s}
    events = call_events(call_id, conn_ids, data, sources)
    out("")
    out(f"events in the logs ({events.height}):")
    out(f"  {'time (UTC)':<23}  {'event':<26} {'ThisDN':<14} {'source':<44} IDB rows")
    shown = set()
    for e in events.iter_rows(named=True):
        rows = produced.get(e["src"], [])
        shown.add(e["src"])
        ts = e["ts"].strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
        first = rows[0] if rows else ""
        out(f"  {ts:<23}  {e['message'] or '':<26} {e['this_dn'] or '':<14} {e['src']:<44} {first}")
        for more in rows[1:]:
            out(f"  {'':<23}  {'':<26} {'':<14} {'':<44} {more}")
    unmatched = {s: r for s, r in produced.items() if s not in shown}
    if unmatched:
        out("  rows whose source event is not in the parse cache (logs moved or cache removed):")
        for src, rows in unmatched.items():
            out(f"    {src}: {'; '.join(rows)}")

    out("")
    out(f"parties (G_PARTY, {parties.height}):")
    for p in parties.iter_rows(named=True):
        out(f"  {_short(p['PARTYID'], call_id):<6} {p['ENDPOINTDN'] or '':<14} "
            f"{_name(PartyType, p['TYPE']):<9} state {_name(PartyState, p['STATE']):<10} "
            f"created {p['CREATED']}  terminated {p['TERMINATED'] or '(open)'}"
            + (f"  parent {_short(p['PARENTPARTYID'], call_id)}" if p["PARENTPARTYID"] else "")
            + (f"  closed by {p['ETL_CLOSED_BY']}" if p["ETL_CLOSED_BY"] else ""))


def explain_chain(chain_guid: str, idb_url: str, data: DataFolder,
                  out: Callable[[str], None] = print) -> None:
    """An outbound chain processing attempt: its GO_CHAIN row, its OCS reporting events beside
    the record-history, field-history and call-link rows each produced (secure values are not
    shown), and the calls it dialed."""
    store = IdbStore(idb_url)
    params = {"c": chain_guid}
    c = _one(store, "GO_CHAIN", "CHAINGUID", chain_guid, "chain")
    out(f"chain {chain_guid}  campaign attempt {c['SESSID']}  list {c['CALLINGLISTID']}  "
        f"chain id {c['CHAINID']}  created {c['CREATED']}  terminated "
        f"{c['TERMINATED'] or '(open)'}" + (f"  closed by {c['ETL_CLOSED_BY']}"
                                            if c["ETL_CLOSED_BY"] else ""))
    produced: dict[str, list[str]] = {}
    for r in store.read("GO_CHAINREC_HIST", "CHAINGUID = :c", params).sort("SEQ").iter_rows(
            named=True):
        result = f" result {_name(CallResult, r['CALLRESULT'])}" if r["CALLRESULT"] is not None \
            else ""
        produced.setdefault(r["ETL_SOURCE"], []).append(
            f"SEQ {r['SEQ']} record {r['RECORDHANDLE']} {_name(ChainState, r['STATE'])}"
            f"{result}" + (f" attempt {r['CALLATTID']}" if r["CALLATTID"] else ""))
    for name, shown in (("GO_FIELDHIST", True), ("GO_SEC_FIELDHIST", False)):
        for r in store.read(name, "CHAINGUID = :c", params).sort("FIELDID", "SEQ").iter_rows(
                named=True):
            value = f"{r['OLDVALUE']!r} -> {r['NEWVALUE']!r}" if shown else "(secure)"
            produced.setdefault(r["ETL_SOURCE"], []).append(
                f"field {r['FIELDID']} #{r['SEQ']} {value}")
    calls = store.read("GOX_CHAIN_CALL", "CHAINGUID = :c", params).sort("ADDED")
    for r in calls.iter_rows(named=True):
        produced.setdefault(r["ETL_SOURCE"], []).append(f"dialed call {r['CALLID']}")
    sources = {s for s in [c["ETL_SOURCE"], *produced] if s}
    events = logged_events(pl.col("go_chain_guid") == chain_guid, data, sources)
    out("")
    out(f"OCS reporting events in the logs ({events.height}):")
    for e in events.iter_rows(named=True):
        rows = produced.get(e["src"], [""])
        ts = e["ts"].strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
        out(f"  {ts:<23}  {e.get('go_evt_code') or e['message'] or '':<18} {e['src']:<44} "
            f"{rows[0]}")
        for more in rows[1:]:
            out(f"  {'':<23}  {'':<18} {'':<44} {more}")
