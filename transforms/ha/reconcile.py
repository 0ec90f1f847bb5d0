"""HA reconciliation of an hour's events: one stream per switch, from the replicas' logs, with
nothing lost and nothing doubled (docs/semantics.md §10, docs/architecture.md "High
availability").

For each switch, the first replica (in name order) supplies every event it has; a stretch it
does not cover (a hole between two of its data source sessions, or before its first / after its
last event) is filled with the events the next replica has strictly inside that stretch, and so
on. Where no replica covers a stretch it stays empty and is reported (uncovered). Event times are
already in the reference clock (transforms/ha/dss.py), so a filled stretch lines up with the rest.

Reconciling events rather than finished rows is what lets an entity that spans holes on *both*
sides — an 8-hour login session with a gap in each replica at different times — come out exactly
as a complete replica would have produced it. When one replica covers a switch for the whole
hour, every event of that hour comes from it.

Replicas that both cover a call must have logged the same events for it; a call whose events
differ (message and DN) between them is reported as inconsistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import polars as pl

from transforms.ha.dss import Interval, covered, missing, switch_of
from transforms.roles import Window

FILE_ID_STRIDE = 1 << 24   # segment ids of replica n are moved to n * 2^24 + id: unique in a merge


@dataclass
class Merged:
    window: Window
    ledger: pl.DataFrame          # ETL_RECONCILE rows: per switch and replica
    inconsistent: pl.DataFrame    # call, detail


def renumber(window: Window, index: int) -> Window:
    """Make the replica's (file_id, line) unique among replicas."""
    if index == 0:
        return window
    shift = pl.col("file_id") + index * FILE_ID_STRIDE
    kv = window.kvpairs.with_columns(shift.cast(pl.UInt32).alias("file_id"))
    if "kv_file_id" in kv.columns:
        kv = kv.with_columns((pl.col("kv_file_id") + index * FILE_ID_STRIDE).cast(pl.UInt32))
    return Window(window.events.with_columns(shift.cast(pl.UInt32).alias("file_id")), kv)


def _fmt(iv: Interval) -> str:
    return f"{iv.start:%H:%M:%S.%f}"[:-3] + "-" + f"{iv.end:%H:%M:%S.%f}"[:-3]


def merge_hour(windows: dict[str, Window], sessions: pl.DataFrame, switches: pl.DataFrame,
               replicas: list[str], hour: str, start: datetime) -> Merged:
    """`windows`: each replica's events of the hour (aligned, with `src`/`dss_id`, renumbered);
    `sessions`: every replica's data source sessions in the reference clock."""
    start = start.replace(tzinfo=timezone.utc) if start.tzinfo is None else start
    end = start + timedelta(hours=1)
    have = covered(sessions)
    keyed = {r: switch_of(w.events, switches).with_columns(replica=pl.lit(r))
             for r, w in windows.items()}
    repeated = {r: _per_switch(f) for r, f in keyed.items()}
    keyed = {r: without_repeats(f) for r, f in keyed.items()}
    repeated = {r: {sw: n - _per_switch(keyed[r]).get(sw, 0) for sw, n in counts.items()}
                for r, counts in repeated.items()}
    all_switches = sorted({s for f in keyed.values() for s in f["switch"].unique().to_list()})
    span_of = sessions.group_by("switch").agg(first=pl.col("start_ts").min(),
                                              last=pl.col("end_ts").max())
    spans = {sw: (a, b) for sw, a, b in span_of.iter_rows()}
    taken: list[pl.DataFrame] = []
    rows = []
    for sw in all_switches:
        first, last = spans.get(sw, (start, end))
        expect = Interval(max(start, first), min(end, last))
        holes = [Interval(start, end)]        # what no replica taken so far covers
        per_replica = []
        for n, r in enumerate(replicas):
            if r not in keyed:
                continue
            events = keyed[r].filter(pl.col("switch") == sw)
            filled: list[Interval] = []
            if n == 0:
                mine = events
            else:
                mine = events.filter(_inside(holes, start)) if holes else events.clear()
                filled = [h for h in holes if mine.filter(_inside([h], start)).height]
            taken.append(mine)
            per_replica.append((r, mine.height, filled))
            holes = [g for h in holes for g in missing(h, have.get((r, sw), []))]
        gaps = [Interval(max(h.start, expect.start), min(h.end, expect.end)) for h in holes]
        uncovered = ", ".join(_fmt(g) for g in gaps if g.end > g.start)
        for r, n_events, filled in per_replica:
            rows.append((hour, sw, r, n_events, len(filled), ", ".join(_fmt(h) for h in filled),
                         uncovered, repeated.get(r, {}).get(sw, 0)))
    events = pl.concat(taken, how="diagonal_relaxed") if taken else windows[replicas[0]].events
    only = _only_here(keyed)
    ledger = (pl.DataFrame(rows, schema={"HOUR": pl.String, "SWITCH": pl.String,
                                         "REPLICA": pl.String, "EVENTS": pl.Int32,
                                         "FILLED_WINDOWS": pl.Int32, "FILLED": pl.String,
                                         "UNCOVERED": pl.String, "REPEATED": pl.Int32},
                           orient="row")
              .join(only, on=["SWITCH", "REPLICA"], how="left")
              .with_columns(pl.col("CALLS_ONLY_HERE").fill_null(0)))
    events = events.drop("switch", "switch_id", "replica", strict=False)
    keys = events.select("file_id", "line")
    kvpairs = pl.concat([w.kvpairs for w in windows.values()], how="diagonal_relaxed") \
        .join(keys, on=["file_id", "line"], how="semi")
    return Merged(Window(events.sort("ts", "file_id", "line"), kvpairs), ledger,
                  inconsistencies(keyed, have, replicas))


# what identifies an event on its switch: a T-Server numbers its events; a request or a reply has
# no number, and is the same message of the same client at the same time about the same call
NUMBERED_IDENTITY = ["app", "seq", "message"]
# (an OCS reporting event is told apart by what it reports on)
UNNUMBERED_IDENTITY = ["app", "direction", "message", "ts", "client", "reference_id", "conn_id",
                       "call_uuid", "this_dn", "go_evt_code", "go_session", "go_group_dbid",
                       "go_list_dbid", "go_chain_id", "go_chain_guid", "go_record_handle",
                       "go_call_attempt"]


def without_repeats(events: pl.DataFrame) -> pl.DataFrame:
    """An event a replica logged more than once (a TLib block printed twice, a copy of a segment
    with other content, overlapping segments) counts once: the first, in the order events come
    (segment, then line)."""
    numbered = pl.col("seq").is_not_null()
    return pl.concat([
        events.filter(numbered).unique(NUMBERED_IDENTITY, keep="first", maintain_order=True),
        events.filter(~numbered).unique(UNNUMBERED_IDENTITY, keep="first", maintain_order=True)])


def _per_switch(events: pl.DataFrame) -> dict[str, int]:
    return dict(events.group_by("switch").len().iter_rows())


def _inside(holes: list[Interval], hour_start: datetime) -> pl.Expr:
    """Strictly inside a hole (its ends are the covering replica's own events), except at the
    hour's start, which belongs to the hour."""
    return pl.any_horizontal([
        ((pl.col("ts") >= h.start) if h.start == hour_start else (pl.col("ts") > h.start))
        & (pl.col("ts") < h.end) for h in holes])


def _only_here(keyed: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per switch and replica: calls of the hour no other replica logged at all."""
    calls = pl.concat([f.filter(pl.col("call_uuid").is_not_null())
                       .select("switch", "call_uuid", "replica").unique() for f in keyed.values()])
    seen = calls.group_by("call_uuid").agg(n=pl.col("replica").n_unique())
    return (calls.join(seen.filter(pl.col("n") == 1), on="call_uuid", how="semi")
            .group_by("switch", "replica").agg(CALLS_ONLY_HERE=pl.len().cast(pl.Int32))
            .rename({"switch": "SWITCH", "replica": "REPLICA"}))


def inconsistencies(keyed: dict[str, pl.DataFrame], have: dict, replicas: list[str]) -> pl.DataFrame:
    """Calls that every replica covers for their whole span in this hour but logged differently
    (the events' messages and DNs differ)."""
    empty = pl.DataFrame(schema={"call": pl.String, "detail": pl.String})
    present = [r for r in replicas if r in keyed]
    if len(present) < 2:
        return empty
    per = []
    for r in present:
        ev = keyed[r].filter(pl.col("call_uuid").is_not_null() & pl.col("seq").is_not_null())
        calls = ev.group_by("call_uuid", "switch").agg(
            first=pl.col("ts").min(), last=pl.col("ts").max(),
            what=pl.concat_str([pl.col("message"), pl.col("this_dn").fill_null("")], separator="@")
            .sort().str.join(","))
        per.append(calls.with_columns(replica=pl.lit(r)))
    calls = pl.concat(per)
    both = calls.group_by("call_uuid").agg(n=pl.col("replica").n_unique()).filter(
        pl.col("n") == len(present))
    # the call's span as all replicas together saw it: a replica that lost the middle of a call
    # does not cover it, even if it covers the events it kept
    calls = calls.join(both.select("call_uuid"), on="call_uuid", how="semi").with_columns(
        first=pl.col("first").min().over("call_uuid"), last=pl.col("last").max().over("call_uuid"))
    full = []
    for call, sw, first, last, what, r in calls.select(
            "call_uuid", "switch", "first", "last", "what", "replica").iter_rows():
        if not missing(Interval(first, last), have.get((r, sw), [])):
            full.append((call, r, what))
    if not full:
        return empty
    frame = pl.DataFrame(full, schema=["call", "replica", "what"], orient="row", infer_schema_length=None)
    covered_everywhere = frame.group_by("call").agg(n=pl.col("replica").n_unique(),
                                                    kinds=pl.col("what").n_unique(),
                                                    detail=pl.concat_str(["replica", pl.lit(": "),
                                                                          "what"]).str.join(" // "))
    return (covered_everywhere.filter((pl.col("n") == len(present)) & (pl.col("kinds") > 1))
            .select("call", "detail"))
