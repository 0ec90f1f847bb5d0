"""Parse T-Server log files into events, attributes, KV pairs and a line ledger (pure Polars).

Files are read in chunks (`logread`) and processed as *streams*: the segments of one application in
one folder, in segment order. A TLib block that is still open when a chunk or a segment ends is
held back and prepended to the next chunk (after the next segment's header), so a block split
across two segments (hazard H11) becomes one event that remembers both places.

Every input line lands in exactly one ledger kind (LINE_KINDS); the counts per file add up to the
file's line count.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from transforms.parsing.attributes import VTYPE, line_counts, parse_continuations
from transforms.parsing.event_columns import EVENT_SCHEMA, typed_columns
from transforms.parsing.header import (
    OCS_APP_TYPE,
    TSERVER_APP_TYPE,
    LogHeader,
    file_name_time,
    parse_header,
)
from transforms.parsing.line_kinds import (
    CONTROL_CHARS,
    DIRECTION_GO,
    KIND_BINARY,
    KIND_HEADER,
    KIND_STD,
    assign_blocks,
    classify_top,
)
from transforms.parsing.logread import (
    DEFAULT_CHUNK_BYTES,
    LogReadError,
    decode_lines,
    iter_line_chunks,
    read_head,
)
from transforms.parsing.timeline import US_PER_DAY, TimelineState, rebuild_dates

LINE_KINDS = ["header", "tlib_header", "attribute", "kv_member", "std_event", "other", "quarantined"]

# attribute values as printed (quotes kept); KV values are unquoted and typed
ATTRIBUTE_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "attr_file_id": pl.UInt32,
                    "attr_line": pl.UInt32, "name": pl.String, "value": pl.String,
                    "kv_declared": pl.Int32}
KVPAIR_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "kv_file_id": pl.UInt32,
                 "kv_line": pl.UInt32, "attribute": pl.String, "path": pl.String,
                 "key": pl.String, "value": pl.String, "vtype": VTYPE, "depth": pl.Int8}
STD_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "ts": pl.Datetime("us", "UTC"),
              "std_id": pl.String, "checkpoint": pl.Boolean, "text": pl.String}
QUARANTINE_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "last_line": pl.UInt32,
                     "reason": pl.String, "text": pl.String}
FILE_SCHEMA = {"file_id": pl.UInt32, "path": pl.String, "size_bytes": pl.Int64,
               "compressed": pl.Boolean, "app": pl.String, "app_type": pl.String,
               "host": pl.String, "tz_west_seconds": pl.Int32, "utc_offset_seconds": pl.Int32,
               "header_utc": pl.Datetime("us"), "header_local": pl.Datetime("us"),
               "start_time_utc": pl.Datetime("us"), "segment_ordinal": pl.Int32,
               "header_lines": pl.Int32, "lines": pl.Int64, "events": pl.Int64,
               "quarantined": pl.Int64, "recoded_lines": pl.Int64, "crlf_lines": pl.Int64,
               "first_ts": pl.Datetime("us", "UTC"), "last_ts": pl.Datetime("us", "UTC"),
               "is_log": pl.Boolean, "problems": pl.String,
               **{f"n_{k}": pl.Int64 for k in LINE_KINDS}}

LOG_SHAPES = re.compile(r"^(@\d{1,2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"
                        r"|\d{2}:\d{2}:\d{2}[.,]\d{3}|message \w+|request to |Application name:)")
SECURE_MASK = "'***'"
# the application types whose logs are read (the header's `Application type:`); others are
# read as well, with a problem noted (a renamed or unusual server can still print TLib)
READ_APP_TYPES = (TSERVER_APP_TYPE, OCS_APP_TYPE)


@dataclass
class ParseOptions:
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    # Values of these KV keys are masked wherever the parser prints a line (quarantine text).
    redact_keys: frozenset[str] = frozenset()


@dataclass
class ChunkOutput:
    events: pl.DataFrame
    attributes: pl.DataFrame
    kvpairs: pl.DataFrame
    std_events: pl.DataFrame
    quarantine: pl.DataFrame


@dataclass
class FileReport:
    """What parsing one file found. Reports of one file from several jobs add up (`merge`)."""

    file_id: int
    path: Path
    header: LogHeader
    size_bytes: int = 0
    compressed: bool = False
    is_log: bool = True
    counts: Counter = field(default_factory=Counter)
    events: int = 0
    recoded_lines: int = 0
    crlf_lines: int = 0
    first_ts: object = None
    last_ts: object = None
    problems: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: FileReport) -> None:
        """Add up two partial reports of one file, in either order: the successor's job reports
        only lines and events of the block it took over; the file's own job knows the rest."""
        self.counts.update(other.counts)
        self.events += other.events
        self.size_bytes = max(self.size_bytes, other.size_bytes)
        self.compressed = self.compressed or other.compressed
        self.is_log = self.is_log and other.is_log
        self.recoded_lines += other.recoded_lines
        self.crlf_lines += other.crlf_lines
        for ts in (other.first_ts, other.last_ts):
            if ts is not None:
                self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
                self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        self.problems.extend(p for p in other.problems if p not in self.problems)

    def row(self) -> dict:
        h = self.header
        return {
            "file_id": self.file_id, "path": str(self.path), "size_bytes": self.size_bytes,
            "compressed": self.compressed, "app": h.app_name, "app_type": h.app_type,
            "host": h.host, "tz_west_seconds": h.tz_west_seconds,
            "utc_offset_seconds": h.utc_offset_seconds, "header_utc": h.utc_time,
            "header_local": h.local_time, "start_time_utc": h.start_time_utc,
            "segment_ordinal": h.file_ordinal, "header_lines": h.lines, "lines": self.lines,
            "events": self.events, "quarantined": self.counts["quarantined"],
            "recoded_lines": self.recoded_lines, "crlf_lines": self.crlf_lines,
            "first_ts": self.first_ts, "last_ts": self.last_ts, "is_log": self.is_log,
            "problems": "; ".join(self.problems) or None,
            **{f"n_{k}": self.counts[k] for k in LINE_KINDS},
        }


@dataclass
class SegmentJob:
    """One file to parse. A TLib block left open at the end of `previous` (the preceding segment
    of the same stream) is read again and completed here; when `has_successor` is set, this file's
    own open trailing block is left to the successor instead."""

    file_id: int
    path: Path
    header: LogHeader
    previous: tuple[int, Path, LogHeader] | None = None
    has_successor: bool = False


@dataclass
class _State:
    """What one chunk hands to the next chunk of the same file."""

    timeline: TimelineState = field(default_factory=TimelineState)
    pending: pl.DataFrame | None = None      # raw rows of a TLib block still open
    pending_timeline: TimelineState | None = None
    outside_block: bool = False              # last top-level line was not part of a TLib block
    utc_offsets: dict[int, int] = field(default_factory=dict)
    check_binary: bool = True                # the chunk has control characters somewhere
    pending_control: bool = True             # the pending rows have control characters


RAW_COLUMNS = ["line", "line_no", "file_id", "recoded", "is_header"]


def empty(schema: dict) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _timeline_at(moment) -> TimelineState:
    day = (moment.date() - moment.date().fromordinal(719163)).days
    tod = (moment.hour * 3600 + moment.minute * 60 + moment.second) * 1_000_000 + moment.microsecond
    return TimelineState(day=day, tod_us=tod)


def _anchor_on_header(top: pl.DataFrame, anchor, file_id: int) -> pl.DataFrame:
    """The segment's `Local time` dates the lines that follow its header (a timeline anchor)."""
    at = _timeline_at(anchor)
    first_header = top.filter(pl.col("is_header") & (pl.col("file_id") == file_id))
    if first_header.height == 0:
        return top
    i0 = first_header["i"][0]
    return top.with_columns(
        day=pl.when(pl.col("i") == i0).then(pl.lit(at.day, dtype=pl.Int32)).otherwise(pl.col("day")),
        tod_us=pl.when(pl.col("i") == i0).then(pl.lit(at.tod_us, dtype=pl.Int64))
        .otherwise(pl.col("tod_us")),
    )


def _index_lines(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Number the rows (`i`), mark indented continuation lines (`is_cont`), and split off the
    top-level lines (`top`), in one query."""
    line = pl.col("line")
    is_cont = ~pl.col("is_header") & (line.str.starts_with("\t") | line.str.starts_with("  "))
    indexed = (frame.lazy().with_row_index("i")
               .with_columns(pl.col("i").cast(pl.Int64), is_cont=is_cont))
    frame, top = pl.collect_all([
        indexed,
        indexed.filter(~pl.col("is_cont")).select("i", "line", "is_header", "file_id", "line_no"),
    ])
    return frame, top


def _stream_key(path: Path, header: LogHeader) -> tuple[str, str]:
    return (str(path.parent), header.app_name or f"<no header>{path.name}")


def _segment_order(path: Path, header: LogHeader) -> tuple:
    stamp = file_name_time(path.name) or header.local_time
    return (stamp is None, stamp or 0, header.file_ordinal or 0, path.name)


def read_header(path: Path) -> LogHeader:
    try:
        return parse_header(read_head(path))
    except LogReadError:
        return LogHeader()


def plan_jobs(files: Iterable[tuple[int, Path]]) -> list[SegmentJob]:
    """One job per file. Files of the same folder and application form a stream, ordered by
    segment time; each job knows its predecessor and whether a successor follows."""
    streams: dict[tuple[str, str], list[tuple[int, Path, LogHeader]]] = {}
    for file_id, path in files:
        header = read_header(path)
        streams.setdefault(_stream_key(path, header), []).append((file_id, path, header))
    jobs = []
    for key in sorted(streams):
        segments = sorted(streams[key], key=lambda f: _segment_order(f[1], f[2]))
        for n, (file_id, path, header) in enumerate(segments):
            prev = segments[n - 1] if n and header.present else None
            jobs.append(SegmentJob(file_id, path, header, prev,
                                   has_successor=n + 1 < len(segments) and header.present))
    return jobs


class Parser:
    """Parse segment jobs; each chunk's output goes to `sink` (memory bounded by a chunk)."""

    def __init__(self, sink: Callable[[ChunkOutput], None], options: ParseOptions | None = None,
                 progress: Callable[[str], None] | None = None):
        self.sink = sink
        self.options = options or ParseOptions()
        self.progress = progress
        self._by_id: dict[int, FileReport] = {}

    @property
    def reports(self) -> list[FileReport]:
        return list(self._by_id.values())

    def parse(self, files: Iterable[tuple[int, Path]]) -> list[FileReport]:
        """Parse every file, one after the other (see `parse_files` for the parallel form)."""
        for job in plan_jobs(files):
            self.parse_job(job)
        return self.reports

    def _report(self, file_id: int, path: Path, header: LogHeader) -> FileReport:
        if file_id not in self._by_id:
            self._by_id[file_id] = FileReport(file_id, path, header)
        return self._by_id[file_id]

    # -- one file -----------------------------------------------------------------------------
    def parse_job(self, job: SegmentJob) -> list[FileReport]:
        header, path, file_id = job.header, job.path, job.file_id
        report = self._report(file_id, path, header)
        report.problems.extend(header.problems)
        try:
            report.size_bytes = path.stat().st_size
            with open(path, "rb") as f:
                report.compressed = f.read(2) == b"\x1f\x8b"
        except OSError as exc:
            report.problems.append(f"cannot read file: {exc.strerror or exc}")
            report.is_log = False
            return [report]
        if not header.present and not self._looks_like_log(path):
            self._quarantine_whole_file(report)
            return [report]
        if not header.present:
            report.problems.append("no log header: dates and time zone unknown "
                                   "(times taken from AttributeTimeinSecs where present)")
        elif header.app_type and not any(kind in header.app_type for kind in READ_APP_TYPES):
            report.problems.append(f"application type {header.app_type!r} is not a T-Server")

        state = _State()
        offset = header.utc_offset_seconds
        state.utc_offsets[file_id] = offset if offset is not None else 0
        anchor = header.local_time or file_name_time(path.name)
        if anchor is not None:
            state.timeline = _timeline_at(anchor)
        if job.previous is not None:
            self._take_over_open_block(job, state)
        try:
            first = True
            for chunk in iter_line_chunks(path, self.options.chunk_bytes):
                report.recoded_lines += chunk.recoded_lines
                report.crlf_lines += chunk.crlf_lines
                lines = chunk.lines
                if chunk.read_error:
                    report.problems.append(chunk.read_error)
                    lines = self._cut_damaged_line(lines, report)
                final = chunk.is_last and not job.has_successor
                if lines.height == 0 and not final:
                    continue  # nothing new; an open block stays with the successor
                frame = lines.with_columns(
                    file_id=pl.lit(file_id, dtype=pl.UInt32),
                    is_header=pl.col("line_no") <= header.lines,
                )
                # look for control characters only if the chunk or the held-back rows have any
                state.check_binary = chunk.has_control_chars or (
                    state.pending is not None and state.pending_control)
                self._process(frame, state, file_id, anchor if first else None, final)
                first = False
                if self.progress:
                    self.progress(f"{path.name}: {report.lines:,} lines, {report.events:,} events")
        except LogReadError as exc:
            report.problems.append(str(exc))
        ids = {file_id} | ({job.previous[0]} if job.previous else set())
        return [r for i, r in self._by_id.items() if i in ids]

    def _take_over_open_block(self, job: SegmentJob, state: _State) -> None:
        """Read the predecessor's trailing open TLib block (if any) as this job's first lines."""
        prev_id, prev_path, prev_header = job.previous
        self._report(prev_id, prev_path, prev_header)
        lines, outside = trailing_block(prev_path, prev_id, prev_header)
        state.utc_offsets[prev_id] = prev_header.utc_offset_seconds or 0
        state.outside_block = outside
        if lines is not None and lines.height:
            state.pending = lines
            state.pending_timeline = state.timeline  # dated against this segment's header
            state.pending_control = has_control_chars(lines)

    def _cut_damaged_line(self, lines: pl.DataFrame, report: FileReport) -> pl.DataFrame:
        """The last line before damage in a compressed file may be cut short: quarantine it."""
        if lines.height == 0:
            return lines
        last = lines.tail(1)
        q = last.select(pl.lit(report.file_id, dtype=pl.UInt32).alias("file_id"),
                        pl.col("line_no").alias("line"), pl.col("line_no").alias("last_line"),
                        pl.lit("truncated_line").alias("reason"),
                        redact(pl.col("line").str.slice(0, 500), self.options.redact_keys).alias("text"))
        report.counts["quarantined"] += 1
        self.sink(ChunkOutput(empty(EVENT_SCHEMA), empty(ATTRIBUTE_SCHEMA), empty(KVPAIR_SCHEMA),
                              empty(STD_SCHEMA), q.cast(QUARANTINE_SCHEMA)))
        return lines.head(lines.height - 1)

    def _looks_like_log(self, path: Path) -> bool:
        try:
            head = read_head(path, 16 * 1024)
        except LogReadError:
            return False
        return any(LOG_SHAPES.match(line) for line in head[:200])

    def _quarantine_whole_file(self, report: FileReport) -> None:
        """Not a T-Server log: one ledger range covers the whole file."""
        n = 0
        try:
            for chunk in iter_line_chunks(report.path, self.options.chunk_bytes):
                n += chunk.lines.height
                if chunk.read_error:
                    report.problems.append(chunk.read_error)
        except LogReadError as exc:
            report.problems.append(str(exc))
        report.is_log = False
        report.counts["quarantined"] += n
        report.problems.append("not a T-Server log (no header and no TLib, standard or "
                               "trace lines in its first 200 lines)")
        if n:
            q = pl.DataFrame({"file_id": [report.file_id], "line": [1], "last_line": [n],
                              "reason": ["not_a_tserver_log"], "text": [None]},
                             schema=QUARANTINE_SCHEMA)
            self.sink(ChunkOutput(empty(EVENT_SCHEMA), empty(ATTRIBUTE_SCHEMA),
                                  empty(KVPAIR_SCHEMA), empty(STD_SCHEMA), q))

    # -- one chunk ----------------------------------------------------------------------------
    def _process(self, frame: pl.DataFrame, state: _State, file_id: int, anchor,
                 final: bool) -> None:
        """`anchor` (the segment's local start time) is set on the first chunk of a file."""
        if state.pending is not None:
            # The open block goes first, read with the clock it started under; this segment's
            # header then re-anchors the clock, and its leading indented lines join the block.
            frame = pl.concat([state.pending, frame.select(RAW_COLUMNS)])
            state.timeline = state.pending_timeline or state.timeline
            state.pending = None
        if frame.height == 0:
            return
        frame, top = _index_lines(frame)
        top = classify_top(top, state.check_binary)
        if anchor is not None:
            top = _anchor_on_header(top, anchor, file_id)
        top, timeline_after = rebuild_dates(top, state.timeline)
        top = assign_blocks(top)
        frame = frame.with_columns(block=self._owners(frame, top, state))

        if not final:
            last_block = frame["block"][-1]
            if last_block is not None and last_block >= 0:
                # `i` is the row number, so the open block is a slice (no filter over the chunk)
                cut = int(last_block)
                state.pending = frame.slice(cut).select(RAW_COLUMNS)
                state.pending_control = state.check_binary and has_control_chars(state.pending)
                top = top.head(int(top["i"].search_sorted(cut)))
                before = top["local_us"].drop_nulls()
                state.pending_timeline = (
                    TimelineState(day=int(before[-1]) // US_PER_DAY,
                                  tod_us=int(before[-1]) % US_PER_DAY)
                    if before.len() else state.timeline)
                frame = frame.head(cut)
        state.timeline = timeline_after
        body = top.filter(~pl.col("is_header"))
        if body.height:
            state.outside_block = body["block"][-1] < 0
        self._emit(frame, top, state)

    @staticmethod
    def _owners(frame: pl.DataFrame, top: pl.DataFrame, state: _State) -> pl.Series:
        """Block id of each row: its own for top-level lines, the nearest top-level line's for
        indented lines, -1 outside TLib blocks. Header lines are transparent (a block split across
        segments continues after the next header) and own nothing. Indented lines before any
        top-level line continue the previous chunk's context, or are orphans (null)."""
        body_top = top.filter(~pl.col("is_header"))
        owner = pl.repeat(None, frame.height, dtype=pl.Int64, eager=True).alias("block")
        owner = owner.scatter(body_top["i"], body_top["block"].cast(pl.Int64)).forward_fill()
        if state.outside_block:
            owner = owner.fill_null(-1)
        return (pl.select(pl.when(frame["is_header"]).then(None).otherwise(owner)).to_series()
                .alias("block"))

    # -- outputs ------------------------------------------------------------------------------
    def _emit(self, frame: pl.DataFrame, top: pl.DataFrame, state: _State) -> None:
        in_block = pl.col("block").is_not_null() & (pl.col("block") >= 0)
        # Event index of every row: how many blocks started up to it. A block's rows are
        # contiguous, so they all carry the index of its event; per-event values are then
        # gathered and scattered by position instead of grouped and joined.
        frame = frame.with_columns(
            _ev=(pl.col("i") == pl.col("block")).fill_null(False).cum_sum().cast(pl.Int32) - 1)
        cont_blocks = frame.filter(pl.col("is_cont") & in_block).select(
            "i", "block", pl.col("_ev").cast(pl.UInt32), "file_id", "line_no", "line")
        cont_blocks = _go_lines_as_attributes(cont_blocks, top)
        attrs, kvs, bad = parse_continuations(cont_blocks, state.check_binary)
        heads = self._heads(top)
        events = self._events(heads, cont_blocks, attrs, state.utc_offsets)

        # every attribute and member carries its message key (file and line of the block's head)
        key_file, key_line = heads["file_id"], heads["line"]
        attributes = attrs.select(key_file.gather(attrs["_ev"]).alias("file_id"),
                                  key_line.gather(attrs["_ev"]).alias("line"),
                                  pl.col("file_id").alias("attr_file_id"),
                                  pl.col("line_no").alias("attr_line"), "name", "value",
                                  "kv_declared")
        kvpairs = kvs.select(key_file.gather(kvs["_ev"]).alias("file_id"),
                             key_line.gather(kvs["_ev"]).alias("line"),
                             pl.col("file_id").alias("kv_file_id"),
                             pl.col("line_no").alias("kv_line"), "attribute", "path", "key",
                             "value", "vtype", "depth")
        std = (top.filter(pl.col("kind") == KIND_STD)
               .with_columns(ts=(pl.col("local_us") - _offset_us(state.utc_offsets))
                             .cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
               .select("file_id", pl.col("line_no").alias("line"), "ts", "std_id",
                       "checkpoint", pl.col("line").alias("text")))

        loose = frame.filter(pl.col("is_cont") & ~in_block.fill_null(False)).select(
            "file_id", "line_no", "line", "block")
        quarantine = self._quarantine(top, loose, bad)
        self._count(top, loose, line_counts(attrs, kvs, bad))
        events = events.select([pl.col(c).cast(t) for c, t in EVENT_SCHEMA.items()])
        per_file = events.group_by("file_id").agg(n=pl.len(), lo=pl.col("ts").min(),
                                                  hi=pl.col("ts").max())
        for file_id, n, lo, hi in per_file.iter_rows():
            rep = self._by_id[file_id]
            rep.events += n
            if lo is not None:
                rep.first_ts = lo if rep.first_ts is None else min(rep.first_ts, lo)
                rep.last_ts = hi if rep.last_ts is None else max(rep.last_ts, hi)
        self.sink(ChunkOutput(
            events,
            attributes.select([pl.col(c).cast(t) for c, t in ATTRIBUTE_SCHEMA.items()]),
            kvpairs.select([pl.col(c).cast(t) for c, t in KVPAIR_SCHEMA.items()]),
            std.select([pl.col(c).cast(t) for c, t in STD_SCHEMA.items()]),
            quarantine,
        ))

    @staticmethod
    def _heads(top: pl.DataFrame) -> pl.DataFrame:
        """One row per TLib block, in file order (= event index): where and when it starts, its
        direction, message and client, and its last top-level line (`last_i`, ...)."""
        return (
            top.filter(pl.col("block") >= 0)
            .group_by("block", maintain_order=True)
            .agg(
                file_id=pl.col("file_id").first(),
                line=pl.col("line_no").first(),
                local_us=pl.col("local_us").first(),
                direction=pl.col("direction").drop_nulls().first(),
                message=pl.col("message").drop_nulls().first(),
                client=pl.col("client").drop_nulls().first(),
                last_i=pl.col("i").last(),
                last_file_id=pl.col("file_id").last(),
                last_line=pl.col("line_no").last(),
            )
        )

    @staticmethod
    def _events(heads: pl.DataFrame, cont: pl.DataFrame, attrs: pl.DataFrame,
                offsets: dict[int, int]) -> pl.DataFrame:
        """One row per block (event index order): its head, its last line, attribute count and
        typed columns, all aligned by position."""
        events = pl.arange(0, heads.height, dtype=pl.UInt32, eager=True)
        # rows are in file order, so each event's rows are found by binary search on `_ev`
        counts = (attrs["_ev"].search_sorted(events, side="right")
                  - attrs["_ev"].search_sorted(events, side="left"))
        last_file_id, last_line = Parser._block_ends(heads, cont, events)
        offset_us = _offset_us(offsets)
        from_log = (pl.col("local_us") - offset_us).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        from_attr = ((pl.col("time_in_secs") * 1_000_000 + pl.col("time_in_usecs").fill_null(0))
                     .cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        return (
            pl.concat([heads.drop("last_i", "last_file_id", "last_line"),
                       typed_columns(attrs, heads.height,
                                     reporting=(heads["direction"] == DIRECTION_GO).any())],
                      how="horizontal")
            .with_columns(last_file_id=last_file_id, last_line=last_line,
                          n_attributes=counts.cast(pl.UInt16))
            .with_columns(
                ts=pl.coalesce(from_log, from_attr),
                ts_source=pl.when(from_log.is_not_null()).then(pl.lit("log"))
                .when(from_attr.is_not_null()).then(pl.lit("time_in_secs")),
            )
        )

    @staticmethod
    def _block_ends(heads: pl.DataFrame, cont: pl.DataFrame, events: pl.Series
                    ) -> tuple[pl.Series, pl.Series]:
        """File and line of each block's last line: its last continuation line, unless a
        top-level line of the block (`message X` completing a request) comes after it."""
        if cont.height == 0:
            return heads["last_file_id"], heads["last_line"]
        end = (cont["_ev"].search_sorted(events, side="right").cast(pl.Int64) - 1).clip(0)
        last = cont.select("_ev", "i", "file_id", "line_no")[end]
        cont_is_last = (last["_ev"] == events) & (last["i"] > heads["last_i"])
        ends = pl.select(
            pl.when(cont_is_last).then(last["file_id"]).otherwise(heads["last_file_id"]),
            pl.when(cont_is_last).then(last["line_no"]).otherwise(heads["last_line"]),
        )
        return ends.to_series(0), ends.to_series(1)

    def _quarantine(self, top: pl.DataFrame, loose: pl.DataFrame, bad: pl.DataFrame) -> pl.DataFrame:
        parts = [
            bad.select("file_id", pl.col("line_no").alias("line"), pl.col("line_no").alias("last_line"),
                       "reason", pl.col("line").alias("text")),
            top.filter(pl.col("kind") == KIND_BINARY).select(
                "file_id", pl.col("line_no").alias("line"), pl.col("line_no").alias("last_line"),
                pl.lit("binary_garbage").alias("reason"), pl.col("line").alias("text")),
            loose.filter(pl.col("block").is_null()).select(
                "file_id", pl.col("line_no").alias("line"), pl.col("line_no").alias("last_line"),
                pl.lit("orphan_continuation").alias("reason"), pl.col("line").alias("text")),
        ]
        q = pl.concat([p.cast(QUARANTINE_SCHEMA) for p in parts])
        return q.with_columns(text=redact(pl.col("text").str.slice(0, 500),
                                          self.options.redact_keys))

    def _count(self, top: pl.DataFrame, loose: pl.DataFrame, cont_counts: pl.DataFrame) -> None:
        """Ledger: each line counted once, under the file it physically belongs to. `loose` are
        the indented lines outside TLib blocks."""
        top_kinds = top.group_by(
            "file_id",
            kind=pl.when(pl.col("kind") == KIND_HEADER).then(pl.lit("header"))
            .when(pl.col("block") >= 0).then(pl.lit("tlib_header"))
            .when(pl.col("kind") == KIND_STD).then(pl.lit("std_event"))
            .when(pl.col("kind") == KIND_BINARY).then(pl.lit("quarantined"))
            .otherwise(pl.lit("other")),
        ).len()
        loose = loose.group_by(
            "file_id",
            kind=pl.when(pl.col("block").is_null()).then(pl.lit("quarantined"))
            .otherwise(pl.lit("other")),
        ).len()
        kinds = pl.concat([top_kinds.cast({"len": pl.UInt32}), loose.cast({"len": pl.UInt32}),
                           cont_counts.select("file_id", "kind", "len")])
        for file_id, kind, n in kinds.iter_rows():
            self._by_id[file_id].counts[kind] += n


def _go_lines_as_attributes(cont: pl.DataFrame, top: pl.DataFrame) -> pl.DataFrame:
    """An OCS reporting block prints its attributes one TAB deeper than a TLib block
    (`\t\tEvtCode\tCampaignLoaded`, and its KV lists' members deeper still): read without
    that TAB, they are attributes and KV lists like any other (docs/log-format.md "OCS logs")."""
    go_blocks = top.filter(pl.col("direction") == DIRECTION_GO)["block"]
    if go_blocks.len() == 0 or cont.height == 0:
        return cont
    return cont.with_columns(line=pl.when(pl.col("block").is_in(go_blocks.implode()))
                             .then(pl.col("line").str.strip_prefix("\t")).otherwise("line"))


def _offset_us(offsets: dict[int, int]) -> pl.Expr:
    """Each file's UTC offset (local − UTC), in µs, by `file_id`."""
    return pl.col("file_id").replace_strict(offsets, default=0, return_dtype=pl.Int64) * 1_000_000


def has_control_chars(lines: pl.DataFrame) -> bool:
    """Whether any of a few held-back lines has control characters (binary garbage)."""
    return bool(lines.select(pl.col("line").str.contains(CONTROL_CHARS).any()).item())


def redact(text: pl.Expr, keys: frozenset[str]) -> pl.Expr:
    """Mask the value of `'key'\tvalue` members whose key is secure."""
    if not keys:
        return text
    alternatives = "|".join(re.escape(k) for k in sorted(keys))
    return text.str.replace_all(rf"('(?:{alternatives})'(?:\(list\))?[\t ]+).*$", f"${{1}}{SECURE_MASK}")


TRAILING_FIRST_WINDOW = 64 * 1024
TRAILING_WINDOW = 1 << 20


def _last_lines(path: Path, min_bytes: int) -> tuple[pl.DataFrame, bool]:
    """The file's last lines (at least `min_bytes`), with their real line numbers.
    Returns (lines, covers_whole_file)."""
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    if compressed:
        tail: list[pl.DataFrame] = []
        for chunk in iter_line_chunks(path, max(min_bytes, 1 << 20)):
            tail = (tail + [chunk.lines])[-2:]
        frame = pl.concat(tail) if tail else pl.DataFrame(schema={"line": pl.String,
                                                                "line_no": pl.UInt32,
                                                                "recoded": pl.Boolean})
        return frame, len(tail) < 2
    size = path.stat().st_size
    start = max(0, size - min_bytes)
    with open(path, "rb") as f:
        newlines = 0
        while f.tell() < start:  # count lines before the window (cheap: bytes.count)
            block = f.read(min(8 << 20, start - f.tell()))
            newlines += block.count(b"\n")
        data = f.read()
    if start > 0:
        cut = data.find(b"\n")
        newlines += 1
        data = data[cut + 1:] if cut >= 0 else b""
    lines, recoded = decode_lines(data) if data else (pl.Series("line", [], dtype=pl.String),
                                                       pl.Series("recoded", [], dtype=pl.Boolean))
    frame = pl.DataFrame({"line": lines.str.strip_suffix("\r")}).with_columns(
        line_no=pl.int_range(newlines + 1, newlines + 1 + lines.len(), dtype=pl.UInt32),
        recoded=recoded)
    return frame, start == 0


def trailing_block(path: Path, file_id: int, header: LogHeader
                   ) -> tuple[pl.DataFrame | None, bool]:
    """The raw lines of the TLib block left open at the end of `path` (None if the file ends
    outside a block), and whether its last top-level line lies outside any block.

    Uses the same classification as the parser, so it finds exactly the block that the parse of
    `path` (with a successor) leaves to the next segment."""
    window = TRAILING_FIRST_WINDOW
    while True:
        try:
            frame, whole = _last_lines(path, window)
        except (OSError, pl.exceptions.ComputeError):
            return None, False
        frame = frame.with_columns(file_id=pl.lit(file_id, dtype=pl.UInt32),
                                   is_header=pl.col("line_no") <= header.lines)
        frame = frame.select(RAW_COLUMNS).with_row_index("i").with_columns(pl.col("i").cast(pl.Int64))
        line = pl.col("line")
        frame = frame.with_columns(
            is_cont=(~pl.col("is_header")) & (line.str.starts_with("\t") | line.str.starts_with("  ")))
        top = frame.filter(~pl.col("is_cont")).select("i", "line", "is_header", "file_id", "line_no")
        top = assign_blocks(classify_top(top, check_binary=False))
        owner = Parser._owners(frame, top, _State())
        last = owner[-1] if owner.len() else None
        body = top.filter(~pl.col("is_header"))
        outside = bool(body.height and body["block"][-1] < 0)
        # The last top-level line's block depends on that line and the one before it (a
        # `message X` line completes the request header before it), so a window holding both
        # gives the same answer as any larger one; from 1 MB on, one line settles it too.
        if whole or body.height >= 2 or (last is not None and window >= TRAILING_WINDOW):
            if last is None or last < 0:
                return None, outside
            return frame.slice(int(last)).select(RAW_COLUMNS), outside
        window = TRAILING_WINDOW if window < TRAILING_WINDOW else window * 4
