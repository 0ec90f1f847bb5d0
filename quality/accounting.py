"""Line accounting of one replica's hour of parsed events, and the quarantined share.

The parser puts every line of a segment in exactly one ledger kind (`transforms.parsing.parse.LINE_KINDS`,
columns `n_*` of the segment registry). For the segments whose events fall in the hour, the check
verifies, per segment:
  * the ledger kinds add up to the segment's line count;
  * the line count equals the lines physically in the file (read again, same reader as the
    parser), unless the file changed since it was registered;
  * every quarantined line has a quarantine record (file:line, reason) in the parse cache;
  * every event the parse cache holds for the hour is in the hour's parsed partition.
And for the hour: quarantined lines / lines stays under the `[icon-etl]
max-quarantine-share-warn` (warning) and `max-quarantine-share-fail` (error) options.
Segments with no event time at all (not a log, only garbage) belong to no hour; their ledger is
checked in every hour, their lines do not count in an hour's share.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from quality.report import Report, cell, md_table, partition_span
from quality.rules import Rule
from quality.suites import Expect, SuitePlan, Validator
from quality.validate import SAMPLE_PER_EXPECTATION
from transforms.datafolder import ReplicaData
from transforms.parsing import LINE_KINDS, LogReadError, iter_line_chunks, parquet_sink

LINE_ACCOUNTING, QUARANTINE_SHARE = "line_accounting", "quarantine_share"
ASSET = "parsed_events"


@dataclass(frozen=True)
class LedgerRule(Rule):
    name: str
    reads: tuple[str, ...]

    @property
    def columns(self):
        return self.reads

    @property
    def label(self):
        return self.name


def _pair(check: str, label: str, a: str, b: str) -> Expect:
    rule = LedgerRule(ASSET, check, label, ("segment_id", "path", a, b))
    return Expect(rule, label, (a, b), "ExpectColumnPairValuesToBeEqual",
                  {"column_A": a, "column_B": b, "ignore_row_if": "either_value_is_missing"})


LEDGER_PLAN = SuitePlan("parsed_events.line_accounting", (
    _pair(LINE_ACCOUNTING, "ledger kinds add up to the segment's line count", "lines",
          "ledger_lines"),
    _pair(LINE_ACCOUNTING, "every physical line of the segment is in the ledger", "lines",
          "physical_lines"),
    _pair(LINE_ACCOUNTING, "every quarantined line has a quarantine record", "quarantined",
          "quarantine_record_lines"),
    _pair(LINE_ACCOUNTING, "every event of the hour in the parse cache is in the partition",
          "cache_events", "partition_events"),
))


def share_plan(warn: float, fail: float) -> SuitePlan:
    def bound(label: str, limit: float) -> Expect:
        rule = LedgerRule(ASSET, QUARANTINE_SHARE, label, ("lines", "quarantined",
                                                           "quarantined_share"))
        return Expect(rule, label, ("quarantined_share",), "ExpectColumnMaxToBeBetween",
                      {"column": "quarantined_share", "min_value": 0.0, "max_value": limit})

    return SuitePlan(f"parsed_events.quarantine_share.{warn:g}.{fail:g}", (
        bound(f"quarantined share <= {warn:g} (max-quarantine-share-warn)", warn),
        bound(f"quarantined share <= {fail:g} (max-quarantine-share-fail)", fail),
    ))


def physical_lines(path: Path) -> int | None:
    """Lines in the file, read the way the parser reads it (plain or gzip, damage included)."""
    try:
        return sum(chunk.lines.height for chunk in iter_line_chunks(path))
    except (LogReadError, OSError):
        return None


def _entry_prev(parse_key: str) -> int | None:
    """`<id>-<previous id>-<has successor>-v<format>` -> previous id."""
    parts = parse_key.split("-")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def hour_segments(registry: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """The segments `SegmentStore.slice_hour` reads for [start, end)."""
    live = registry.filter(pl.col("duplicate_of").is_null() & pl.col("parse_key").is_not_null())
    return live.filter((pl.col("first_ts") < end) & (pl.col("last_ts") >= start))


def quarantined_share(registry: pl.DataFrame, start: datetime, end: datetime) -> float:
    """Quarantined lines / lines of the segments whose events fall in [start, end)."""
    hour = hour_segments(registry, start, end)
    lines = int(hour["lines"].sum() or 0)
    return int(hour["quarantined"].sum() or 0) / lines if lines else 0.0


def ledger_frame(registry: pl.DataFrame, root: Path, data: ReplicaData,
                 partition_events: Path | None, start: datetime, end: datetime,
                 counted: dict[Path, int | None] | None = None
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per-segment ledger frame, segments without event time). `partition_events` None: the
    hour was not written on purpose (refused, or its build failed): its events are not
    compared. `counted`: physical line counts of files already read (a segment spans hours)."""
    counted = {} if counted is None else counted
    live = registry.filter(pl.col("duplicate_of").is_null())
    timeless = live.filter(pl.col("first_ts").is_null())
    hour = hour_segments(registry, start, end)
    segs = pl.concat([hour, timeless.filter(pl.col("parse_key").is_not_null())], how="vertical")
    ids = set(segs["segment_id"].to_list())
    keys = [k for k in live["parse_key"].drop_nulls().to_list()
            if int(k.split("-")[0]) in ids or _entry_prev(k) in ids]
    entries = [data.cache_entry(k) for k in keys if data.cache_entry(k).is_dir()]

    quarantine = _scan(entries, "quarantine")
    q = (quarantine.filter(pl.col("file_id").is_in(list(ids)))
         .group_by("file_id").agg((pl.col("last_line").cast(pl.Int64) - pl.col("line").cast(pl.Int64)
                                   + 1).sum().alias("quarantine_record_lines"))
         .collect() if quarantine is not None else None)
    events = _scan(entries, "events")
    cache_events = (events.filter((pl.col("ts") >= start) & (pl.col("ts") < end))
                    .group_by("file_id").len("cache_events").collect()
                    if events is not None else None)
    part = (pl.scan_parquet(partition_events).group_by("file_id").len("partition_events").collect()
            if partition_events is not None and partition_events.exists() else None)

    rows = []
    hour_ids = set(hour["segment_id"].to_list())
    for seg in segs.iter_rows(named=True):
        path = root / seg["path"]
        physical = None
        if seg["segment_id"] in hour_ids and path.is_file():
            stat = path.stat()
            if stat.st_size == seg["size_bytes"] and stat.st_mtime_ns == seg["mtime_ns"]:
                if path not in counted:
                    counted[path] = physical_lines(path)
                physical = counted[path]
        rows.append({"segment_id": seg["segment_id"], "path": seg["path"],
                     "in_hour": seg["segment_id"] in hour_ids,
                     "lines": seg["lines"], "quarantined": seg["quarantined"],
                     "ledger_lines": sum(int(seg.get(f"n_{k}") or 0) for k in LINE_KINDS),
                     "physical_lines": physical})
    frame = pl.DataFrame(rows, schema={
        "segment_id": pl.Int64, "path": pl.String, "in_hour": pl.Boolean, "lines": pl.Int64,
        "quarantined": pl.Int64, "ledger_lines": pl.Int64, "physical_lines": pl.Int64},
        orient="row")
    frame = frame.join(_by_file(q, "quarantine_record_lines"), on="segment_id", how="left",
                       maintain_order="left").with_columns(
        pl.col("quarantine_record_lines").fill_null(0))
    counts = _by_file(cache_events, "cache_events").join(
        _by_file(part, "partition_events"), on="segment_id", how="full", coalesce=True)
    frame = frame.join(counts, on="segment_id", how="full", coalesce=True, maintain_order="left")
    frame = frame.with_columns(
        pl.when(pl.col("cache_events").is_not_null() | pl.col("partition_events").is_not_null())
        .then(pl.col(c).fill_null(0)).alias(c) for c in ("cache_events", "partition_events"))
    if partition_events is None:
        frame = frame.with_columns(partition_events=pl.lit(None, pl.Int64))
    return frame.sort("segment_id"), timeless


def _scan(entries: list[Path], name: str) -> pl.LazyFrame | None:
    files = parquet_sink.files(entries, name)
    return pl.scan_parquet(files) if files else None


def _by_file(frame: pl.DataFrame | None, column: str) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame(schema={"segment_id": pl.Int64, column: pl.Int64})
    return frame.select(pl.col("file_id").cast(pl.Int64).alias("segment_id"),
                        pl.col(column).cast(pl.Int64))


@dataclass
class HourAccounting:
    partition: str
    ledger: pl.DataFrame
    timeless: pl.DataFrame
    lines: int
    quarantined: int
    outcomes: dict[str, list] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def share(self) -> float:
        return self.quarantined / self.lines if self.lines else 0.0


def account_hour(validator: Validator, partition: str, registry: pl.DataFrame, root: Path,
                 data: ReplicaData, partition_events: Path | None, start: datetime,
                 end: datetime, warn: float, fail: float) -> HourAccounting:
    """`root`: the replica's log folder; `data`: its part of the data folder (the parse cache);
    `partition_events`: the hour's parsed events."""
    return account_hours(validator, [(partition, partition_events, start, end)], registry, root,
                         data, warn, fail)[0]


def account_hours(validator: Validator, hours: list[tuple[str, Path | None, datetime, datetime]],
                  registry: pl.DataFrame, root: Path, data: ReplicaData, warn: float,
                  fail: float) -> list[HourAccounting]:
    """`account_hour` of each (partition, its parsed events, start, end), with one suite run
    over all the hours' ledgers when they pass (every expectation holds row by row, or on the
    maximum: all hours pass exactly when their rows together do); each hour alone otherwise,
    so that a failure names its hour."""
    started = time.perf_counter()
    counted: dict[Path, int | None] = {}
    out: list[HourAccounting] = []
    for partition, events, start, end in hours:
        ledger, timeless = ledger_frame(registry, root, data, events, start, end, counted)
        in_hour = ledger.filter(pl.col("in_hour"))
        out.append(HourAccounting(partition, ledger, timeless, int(in_hour["lines"].sum() or 0),
                                  int(in_hour["quarantined"].sum() or 0)))
    plans = {LINE_ACCOUNTING: (LEDGER_PLAN, lambda h: h.ledger),
             QUARANTINE_SHARE: (share_plan(warn, fail), lambda h: pl.DataFrame(
                 {"lines": [h.lines], "quarantined": [h.quarantined],
                  "quarantined_share": [h.share]}))}
    for check, (plan, frame_of) in plans.items():
        together = validator.run(plan, pl.concat([frame_of(h) for h in out])) if len(out) > 1 \
            else None
        for h in out:
            h.outcomes[check] = together if together is not None and all(
                o.success for o in together) else validator.run(plan, frame_of(h))
    spent = (time.perf_counter() - started) / max(len(out), 1)
    for h in out:
        h.seconds = spent
    return out


def accounting_report(hours: list[HourAccounting]) -> Report:
    """The line_accounting check over the run's hours."""
    failures = [(h, o) for h in hours for o in h.outcomes[LINE_ACCOUNTING] if not o.success]
    meta = {"partitions": partition_span([h.partition for h in hours]),
            "segments_checked": sum(h.ledger.filter(pl.col("in_hour")).height for h in hours),
            "lines": sum(h.lines for h in hours),
            "quarantined_lines": sum(h.quarantined for h in hours),
            "events_in_partitions": int(sum(h.ledger["partition_events"].sum() or 0 for h in hours)),
            "segments_without_event_time": hours[-1].timeless.height if hours else 0,
            "expectations_evaluated": sum(len(h.outcomes[LINE_ACCOUNTING]) for h in hours),
            "expectations_failed": len(failures), "suite": LEDGER_PLAN.name,
            "seconds": round(sum(h.seconds for h in hours), 3)}
    last = hours[-1] if hours else None
    if last is not None and last.ledger.height:
        meta["ledger"] = ("md", md_table(last.ledger.head(20)))
    if not failures:
        return Report(True, f"every line of {meta['segments_checked']} segment-hours is in the "
                            f"ledger ({meta['lines']:,} lines, {meta['quarantined_lines']:,} "
                            f"quarantined).", meta)
    lines = ["| partition | expectation | observed |", "| --- | --- | --- |"]
    samples = []
    for h, o in failures:
        lines.append(f"| {cell(h.partition)} | {cell(o.expect.label, 200)} | "
                     f"{cell(o.observed_text, 200)} |")
        rows = [i for i in o.rows if 0 <= i < h.ledger.height][:SAMPLE_PER_EXPECTATION]
        cols = ["segment_id", "path", *o.expect.reads]
        if rows:
            samples.append(f"**{o.expect.label}** ({h.partition}):\n\n"
                           f"{md_table(h.ledger.select(cols)[rows])}")
    meta["failing_expectations"] = ("md", "\n".join(lines))
    if samples:
        meta["offending_rows"] = ("md", "\n\n".join(samples[:5]))
    h, o = failures[0]
    return Report(False, f"line accounting: {o.expect.label} failed in {h.partition}: "
                         f"{o.observed_text}.", meta)


def share_report(hours: list[HourAccounting], warn: float, fail: float) -> tuple[Report, str]:
    """The quarantine_share check: (report, severity 'WARN' | 'ERROR')."""
    worst = max(hours, key=lambda h: h.share) if hours else None
    meta = {"partitions": partition_span([h.partition for h in hours]),
            "max_quarantined_share": round(worst.share, 6) if worst else 0.0,
            "worst_partition": worst.partition if worst else "",
            "max-quarantine-share-warn": warn, "max-quarantine-share-fail": fail,
            "lines": sum(h.lines for h in hours),
            "quarantined_lines": sum(h.quarantined for h in hours),
            "suite": share_plan(warn, fail).name}
    table = pl.DataFrame({"partition": [h.partition for h in hours],
                          "lines": [h.lines for h in hours],
                          "quarantined": [h.quarantined for h in hours],
                          "share": [round(h.share, 6) for h in hours]})
    meta["by_hour"] = ("md", md_table(table.tail(24)))
    failed = [(h, o) for h in hours for o in h.outcomes[QUARANTINE_SHARE] if not o.success]
    if not failed:
        return Report(True, f"quarantined share {meta['max_quarantined_share']:.4%} <= {warn:g} "
                            f"(worst hour {meta['worst_partition']}).", meta), "WARN"
    over_fail = any(h.share > fail for h, _ in failed)
    severity = "ERROR" if over_fail else "WARN"
    limit = fail if over_fail else warn
    lines = ["| partition | expectation | observed share |", "| --- | --- | --- |"]
    lines += [f"| {cell(h.partition)} | {cell(o.expect.label, 200)} | {h.share:.4%} "
              f"({h.quarantined:,} of {h.lines:,} lines) |" for h, o in failed]
    meta["failing_expectations"] = ("md", "\n".join(lines))
    offenders = pl.concat([h.ledger.filter(pl.col("in_hour") & (pl.col("quarantined") > 0))
                           .select("segment_id", "path", "lines", "quarantined")
                           for h, _ in failed if h.ledger.height], how="vertical").unique(
        "segment_id", maintain_order=True) if failed else None
    if offenders is not None and offenders.height:
        meta["offending_rows"] = ("md", md_table(offenders.sort("quarantined", descending=True)
                                                 .head(SAMPLE_PER_EXPECTATION)))
    option = "max-quarantine-share-fail" if over_fail else "max-quarantine-share-warn"
    return Report(False, f"quarantined share {worst.share:.4%} in {worst.partition} is over "
                         f"{limit:g} ({option}).", meta), severity
