"""The registry of raw log segments of one replica folder, and the per-segment parse cache.

`SegmentStore.refresh()` looks at the folder, notices what is new or changed (size/mtime, then
SHA-256), gives every distinct content a stable `segment_id` (a file copied twice is parsed
once; the copy's row has no segment_id and `duplicate_of` names the segment read), parses what is
not cached yet, and writes the registry.
`SegmentStore.slice_hour()` then cuts the cached parse into one UTC hour.

A segment's parse depends on its predecessor (a TLib block can continue in the next segment) and
on whether a successor exists, so the cache key is `<id>-<previous id>-<has successor>-v<format>`:
when a new segment arrives only the previously-last segment is parsed again, and a release whose
parser output differs (PARSE_FORMAT) parses everything again. The keys whose values are masked in
printed lines (secure keys, `[icon-etl] mask-keys`) add `-m<digest>`: masking one more key parses
again, so no cached quarantine record keeps a value that is now masked.

What the folder holds but is never read (symbolic links leading out of it, links to folders,
special files: `parse_files.scan_folder`) is listed in `segments_skipped.parquet` beside the
registry and reported as a warning.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from transforms.datafolder import ReplicaData, entry_report, entry_skeleton, swap_in, write_frame
from transforms.ha import SKELETON_SCHEMA, reduce_skeleton
from transforms.parsing import (
    OCS_APP_TYPE,
    LINE_KINDS,
    FileReport,
    ParseOptions,
    SegmentJob,
    discover_all,
    find_copies,
    merge_reports,
    parquet_sink,
    plan_jobs,
    read_header,
    run_jobs,
)

# Bumped whenever the parser's output changes shape, so cached parses of older releases are redone.
PARSE_FORMAT = 3   # 3: OCS reporting blocks and their go_* columns

REGISTRY_SCHEMA = {
    "segment_id": pl.Int64, "path": pl.String, "size_bytes": pl.Int64, "mtime_ns": pl.Int64,
    "sha256": pl.String, "app": pl.String, "app_type": pl.String, "host": pl.String,
    "tz_west_seconds": pl.Int32,
    "utc_offset_seconds": pl.Int32, "header_local": pl.Datetime("us"),
    "start_time_utc": pl.Datetime("us"), "segment_ordinal": pl.Int32,
    "duplicate_of": pl.Int64, "parse_key": pl.String,
    "first_ts": pl.Datetime("us", "UTC"), "last_ts": pl.Datetime("us", "UTC"),
    "events": pl.Int64, "unplaced_events": pl.Int64, "lines": pl.Int64, "quarantined": pl.Int64,
    "problems": pl.String, "status": pl.String,
    **{f"n_{k}": pl.Int64 for k in LINE_KINDS},
}
SKIPPED_SCHEMA = {"path": pl.String, "target": pl.String, "reason": pl.String}


def every_line(folders: list[Path]) -> pl.DataFrame:
    """Every dated event and standard line of the given parse-cache entries (file_id, line, ts,
    seq, message; message null on standard lines): the skeleton before its reduction."""
    events = parquet_sink.scan(folders, "events").select("file_id", "line", "ts", "seq", "message")
    std = parquet_sink.scan(folders, "std_events").select(
        "file_id", "line", "ts", seq=pl.lit(None, dtype=pl.UInt64),
        message=pl.lit(None, dtype=pl.String))
    return pl.concat([events, std]).filter(pl.col("ts").is_not_null()).collect()


def mask_tag(keys: frozenset[str]) -> str:
    """Part of the parse-cache key naming the masked keys (empty when none are masked)."""
    if not keys:
        return ""
    return f"-m{zlib.crc32(chr(0).join(sorted(keys)).encode()):08x}"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 << 20):
            h.update(block)
    return h.hexdigest()


@dataclass
class RefreshResult:
    registry: pl.DataFrame
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: int = 0
    parsed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # "<path> -> <target>: skipped, <why>"
    seconds: float = 0.0


def _report_to_json(r: FileReport) -> dict:
    return {"file_id": r.file_id, "counts": dict(r.counts), "events": r.events,
            "recoded_lines": r.recoded_lines, "crlf_lines": r.crlf_lines,
            "first_ts": r.first_ts.isoformat() if r.first_ts else None,
            "last_ts": r.last_ts.isoformat() if r.last_ts else None,
            "problems": r.problems}


class SegmentStore:
    """One replica's segments: `root` holds the logs, `data` (the data folder's part of the
    replica) the registry and the parse cache."""

    def __init__(self, root: Path, data: ReplicaData):
        self.root = Path(root)
        self.data = data
        self._mask = ""

    # -- reading ------------------------------------------------------------------------------
    def registry(self) -> pl.DataFrame:
        if self.data.registry.exists():
            return pl.read_parquet(self.data.registry)
        return pl.DataFrame(schema=REGISTRY_SCHEMA)

    def ocs_apps(self) -> set[str]:
        """The applications whose segments are Outbound Contact Server logs (their header's
        application type): their data source sessions are the gos provider's."""
        registry = self.registry()
        if "app_type" not in registry.columns:
            return set()
        ocs = pl.col("app_type").str.contains(OCS_APP_TYPE, literal=True).fill_null(False)
        return set(registry.filter(ocs)["app"].drop_nulls().to_list())

    def skipped(self) -> pl.DataFrame:
        """What the last refresh found in the folder and did not read (path, target, reason)."""
        if self.data.skipped.exists():
            return pl.read_parquet(self.data.skipped)
        return pl.DataFrame(schema=SKIPPED_SCHEMA)

    def originals(self, parsed: bool = False) -> pl.DataFrame:
        """Registry rows of the segments read (a copy's row only names its original in
        `duplicate_of`); `parsed`: only those whose parse is in the cache."""
        read = pl.col("duplicate_of").is_null()
        return self.registry().filter(read & pl.col("parse_key").is_not_null() if parsed else read)

    def span(self) -> tuple[datetime | None, datetime | None]:
        """First and last event time of the segments read (None, None before any event)."""
        reg = self.originals()
        return reg["first_ts"].min(), reg["last_ts"].max()

    def paths(self) -> pl.DataFrame:
        """file_id (segment id, as events carry it) -> path of every parsed (non-duplicate)
        segment: what ETL_SOURCE strings are made of."""
        return self.originals().select(pl.col("segment_id").cast(pl.UInt32).alias("file_id"), "path")

    def entry(self, parse_key: str) -> Path:
        return self.data.cache_entry(parse_key)

    def entries(self) -> list[Path]:
        """The parse-cache entries of the segments read, in registry order."""
        return [self.entry(k) for k in self.originals(parsed=True)["parse_key"]]

    # -- refresh ------------------------------------------------------------------------------
    def refresh(self, options: ParseOptions | None = None, workers: int = 1,
                progress: Callable[[str], None] | None = None) -> RefreshResult:
        started = datetime.now()
        options = options or ParseOptions()
        self._mask = mask_tag(options.redact_keys)
        if not self.root.is_dir():
            raise FileNotFoundError(f"log folder {self.root} does not exist (set ICON_LOG_DIR or "
                                    f"pass --logs to a folder of T-Server log segments)")
        previous = {row["path"]: row for row in self.registry().iter_rows(named=True)}
        files, skipped = discover_all([self.root])
        self._write_skipped(skipped)
        rows = []
        for path in files:
            rel = str(path.relative_to(self.root))
            stat = path.stat()
            old = previous.get(rel)
            same = old is not None and old["size_bytes"] == stat.st_size and \
                old["mtime_ns"] == stat.st_mtime_ns
            rows.append({"path": rel, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                         "sha256": old["sha256"] if same else sha256_of(path),
                         "status": "unchanged" if same else ("changed" if old else "new")})
        ids = self._assign_ids([r["sha256"] for r in rows])
        canonical: dict[str, dict] = {}
        for row in sorted(rows, key=lambda r: r["path"]):
            row["segment_id"] = ids[row["sha256"]]
            first = canonical.setdefault(row["sha256"], row)
            row["duplicate_of"] = None if first is row else first["segment_id"]
            if first is not row:
                row["status"] = "duplicate"
        unique = self._without_copies(list(canonical.values()), rows)
        result = RefreshResult(pl.DataFrame(schema=REGISTRY_SCHEMA))
        result.new, result.changed, result.unchanged = (
            sum(1 for r in rows if r["status"] == status)
            for status in ("new", "changed", "unchanged"))
        result.duplicates = sum(1 for r in rows if r["duplicate_of"] is not None)
        result.removed = len(set(previous) - {r["path"] for r in rows})

        jobs = plan_jobs((r["segment_id"], self.root / r["path"]) for r in unique)
        reports = self._parse_missing(jobs, options, workers, progress, result)
        by_id = {r["segment_id"]: r for r in unique}
        for job in jobs:
            by_id[job.file_id]["parse_key"] = self._key(job)
            by_id[job.file_id]["header"] = job.header
        merged = {r.file_id: r for r in merge_reports(reports)}
        table = [self._row(r, by_id.get(r["duplicate_of"] or r["segment_id"]), merged)
                 for r in rows]
        registry = pl.DataFrame(table, schema=REGISTRY_SCHEMA, orient="row") if table \
            else pl.DataFrame(schema=REGISTRY_SCHEMA)
        self._write(registry)
        self._collect_garbage({self._key(job) for job in jobs})
        result.registry = registry
        result.skipped = [s.describe(self.root) for s in skipped]
        if progress:
            for line in result.skipped:
                progress(f"WARNING {line}")
            parsed_now = sorted(set(result.parsed))
            for row in registry.filter(pl.col("problems").is_not_null()
                                       & pl.col("parse_key").is_in(parsed_now)).iter_rows(named=True):
                progress(f"problem in {row['path']}: {row['problems']} "
                         f"({row['quarantined']} line(s) quarantined)")
        result.seconds = (datetime.now() - started).total_seconds()
        return result

    def _without_copies(self, unique: list[dict], rows: list[dict]) -> list[dict]:
        """The segments to read: `unique` (one per distinct content) less the copies of another
        segment (transforms/parsing/copies.py); each copy's row, and the rows of its byte-for-byte
        duplicates, name the segment read instead."""
        headers = [(r["segment_id"], self.root / r["path"], read_header(self.root / r["path"]))
                   for r in unique]
        copies = {c.file_id: c for c in find_copies(headers)}
        if not copies:
            return unique
        for row in rows:
            copy = copies.get(row["segment_id"])
            if copy is not None:
                row["duplicate_of"] = copy.original
                row["status"] = "copy" if copy.whole else "partial copy"
                row["copy_problem"] = copy.problem
        return [r for r in unique if r["segment_id"] not in copies]

    def _key(self, job: SegmentJob) -> str:
        prev = job.previous[0] if job.previous else 0
        return f"{job.file_id}-{prev}-{int(job.has_successor)}-v{PARSE_FORMAT}{self._mask}"

    def _write_skipped(self, skipped) -> None:
        frame = pl.DataFrame([(str(s.path.relative_to(self.root)) if s.path.is_relative_to(self.root)
                               else str(s.path), s.target, s.reason) for s in skipped],
                             schema=SKIPPED_SCHEMA, orient="row")
        write_frame(self.data.skipped, frame)

    def _assign_ids(self, digests: list[str]) -> dict[str, int]:
        known = (pl.read_parquet(self.data.segment_ids) if self.data.segment_ids.exists()
                 else pl.DataFrame(schema={"sha256": pl.String, "segment_id": pl.Int64}))
        ids = dict(known.iter_rows())
        next_id = max(ids.values(), default=0) + 1
        for digest in digests:
            if digest not in ids:
                ids[digest] = next_id
                next_id += 1
        write_frame(self.data.segment_ids,
                    pl.DataFrame({"sha256": list(ids), "segment_id": list(ids.values())},
                                 schema={"sha256": pl.String, "segment_id": pl.Int64}))
        return ids

    def _parse_missing(self, jobs: list[SegmentJob], options: ParseOptions, workers: int,
                       progress, result: RefreshResult) -> list[list[FileReport]]:
        todo = [job for job in jobs if not entry_report(self.entry(self._key(job))).exists()]
        staging = {self._key(job): self.data.cache_staging(self._key(job)) for job in todo}
        for path in staging.values():
            shutil.rmtree(path, ignore_errors=True)
        for job, reports in run_jobs(todo, lambda j: (staging[self._key(j)], "part"), options,
                                     workers, progress):
            key = self._key(job)
            self._finish_entry(staging[key], reports)
            swap_in(staging[key], self.entry(key))
            result.parsed.append(key)
        return [self._load_reports(self._key(job)) for job in jobs]

    def _finish_entry(self, folder: Path, reports: list[FileReport]) -> None:
        parquet_sink.complete_outputs(folder)
        stats = (parquet_sink.scan([folder], "events")
                 .select(lo=pl.col("ts").min(), hi=pl.col("ts").max(),
                         unplaced=pl.col("ts").is_null().sum())
                 .collect().row(0, named=True))
        span = {"first_ts": stats["lo"].isoformat() if stats["lo"] else None,
                "last_ts": stats["hi"].isoformat() if stats["hi"] else None,
                "unplaced": int(stats["unplaced"] or 0)}
        doc = {"reports": [_report_to_json(r) for r in reports], **span}
        self._write_skeleton(folder)
        entry_report(folder).write_text(json.dumps(doc, indent=1))

    @staticmethod
    def _write_skeleton(folder: Path) -> pl.DataFrame:
        """The entry's reduced skeleton (`dss.reduce_skeleton`): what data-source sessions read
        of it, kept small so that years of segments fit in memory together."""
        reduced = reduce_skeleton(every_line([folder]))
        write_frame(entry_skeleton(folder), reduced)
        return reduced

    def _load_reports(self, key: str) -> list[FileReport]:
        doc = json.loads(entry_report(self.entry(key)).read_text())
        out = []
        for item in doc["reports"]:
            r = FileReport(item["file_id"], Path(), None)  # type: ignore[arg-type]
            r.counts.update(item["counts"])
            r.events = item["events"]
            r.recoded_lines, r.crlf_lines = item["recoded_lines"], item["crlf_lines"]
            r.first_ts = datetime.fromisoformat(item["first_ts"]) if item["first_ts"] else None
            r.last_ts = datetime.fromisoformat(item["last_ts"]) if item["last_ts"] else None
            r.problems = list(item["problems"])
            out.append(r)
        return out

    def entry_span(self, key: str) -> dict:
        doc = json.loads(entry_report(self.entry(key)).read_text())
        as_time = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
        return {"first_ts": as_time(doc["first_ts"]), "last_ts": as_time(doc["last_ts"]),
                "unplaced": doc["unplaced"]}

    def _row(self, row: dict, source: dict | None, merged: dict[int, FileReport]) -> dict:
        header = (source or {}).get("header")
        key = (source or {}).get("parse_key")
        report = merged.get(row["segment_id"]) if row["duplicate_of"] is None else None
        span = self.entry_span(key) if key else {"first_ts": None, "last_ts": None, "unplaced": 0}
        counts = report.counts if report else {}
        copy = row["duplicate_of"] is not None
        return {
            # a copy has no id of its own (`duplicate_of` names the segment read), so that the
            # registry's segment_id stays a key: joins of events to paths never double a row
            "segment_id": None if copy else row["segment_id"], "path": row["path"],
            "size_bytes": row["size_bytes"],
            "mtime_ns": row["mtime_ns"], "sha256": row["sha256"],
            "app": header.app_name if header else None,
            "app_type": header.app_type if header else None,
            "host": header.host if header else None,
            "tz_west_seconds": header.tz_west_seconds if header else None,
            "utc_offset_seconds": header.utc_offset_seconds if header else None,
            "header_local": header.local_time if header else None,
            "start_time_utc": header.start_time_utc if header else None,
            "segment_ordinal": header.file_ordinal if header else None,
            "duplicate_of": row["duplicate_of"], "parse_key": key,
            "first_ts": span["first_ts"], "last_ts": span["last_ts"],
            "events": report.events if report else 0,
            "unplaced_events": span["unplaced"] if row["duplicate_of"] is None else 0,
            "lines": sum(counts.values()), "quarantined": counts.get("quarantined", 0),
            "problems": "; ".join(report.problems) if report and report.problems
            else row.get("copy_problem"),
            "status": row["status"],
            **{f"n_{k}": counts.get(k, 0) for k in LINE_KINDS},
        }

    def _write(self, registry: pl.DataFrame) -> None:
        write_frame(self.data.registry, registry)

    def _collect_garbage(self, keep: set[str]) -> None:
        for entry in self.data.cache_entries():
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)

    def skeleton(self, reduced: bool = True) -> pl.DataFrame:
        """The lines of the replica that data-source sessions need (SKELETON_SCHEMA), with each
        segment's application, process start and segment ordinal: each parsed segment's reduced
        skeleton (written when it was parsed; made now for entries of older releases), or with
        `reduced=False` every line (`every_line`; what the reduction must agree with)."""
        registry = self.originals(parsed=True)
        if registry.height == 0:
            return pl.DataFrame(schema=SKELETON_SCHEMA)
        folders = [self.entry(k) for k in registry["parse_key"]]
        if reduced:
            lines = pl.concat([pl.read_parquet(entry_skeleton(f)) if entry_skeleton(f).exists()
                               else self._write_skeleton(f) for f in folders])
        else:
            lines = every_line(folders).with_columns(prev_seq=pl.lit(None, dtype=pl.UInt64))
        segments = registry.select(pl.col("segment_id").cast(pl.UInt32).alias("file_id"), "app",
                                   proc_start="start_time_utc", ordinal="segment_ordinal")
        return (lines.join(segments, on="file_id", how="left")
                .select(list(SKELETON_SCHEMA)).cast(SKELETON_SCHEMA))

    # -- slicing ------------------------------------------------------------------------------
    def slice_hour(self, start: datetime, end: datetime) -> dict[str, pl.DataFrame]:
        """Events (and their KV pairs) whose UTC time falls in [start, end), from every cached
        parse whose events overlap the window."""
        registry = self.originals(parsed=True)
        keys = registry.filter((pl.col("first_ts") < end) & (pl.col("last_ts") >= start))
        apps = registry.select(pl.col("segment_id").cast(pl.UInt32).alias("file_id"), "app")
        if keys.height == 0:
            return {}
        folders = [self.entry(k) for k in keys["parse_key"]]
        events = (parquet_sink.scan(folders, "events")
                  .filter((pl.col("ts") >= start) & (pl.col("ts") < end))
                  .join(apps.lazy(), on="file_id", how="left")
                  .sort("ts", "file_id", "line")
                  .collect())
        msg = events.select("file_id", "line").lazy()
        kvpairs = (parquet_sink.scan(folders, "kvpairs")
                   .join(msg, on=["file_id", "line"], how="semi").collect())
        std = (parquet_sink.scan(folders, "std_events")
               .filter((pl.col("ts") >= start) & (pl.col("ts") < end)).collect())
        return {"events": events, "kvpairs": kvpairs, "std_events": std}
