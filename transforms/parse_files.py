"""Parse files or folders of logs into Parquet, one process per core across segments.

Segments parse independently (a segment re-reads its predecessor's open trailing block), so a
folder of segments spreads over worker processes; one very large file is still read in chunks.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from transforms import parquet_sink
from transforms.parse import FileReport, ParseOptions, Parser, SegmentJob, plan_jobs

SKIP_NAMES = {"README.md", ".DS_Store"}


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files named on the command line, and every regular file under named folders."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and not any(part.startswith(".") for part in
                                                           p.relative_to(path).parts)
                                and p.name not in SKIP_NAMES))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def run_job(job: SegmentJob, directory: str, prefix: str, options: ParseOptions) -> list[FileReport]:
    """Parse one segment into `directory` (picklable entry point for worker processes)."""
    sink = parquet_sink.ParquetSink(Path(directory), prefix=prefix)
    return Parser(sink, options).parse_job(job)


def run_jobs(jobs: list[SegmentJob], destination: Callable[[SegmentJob], tuple[Path, str]],
             options: ParseOptions, workers: int = 1,
             progress: Callable[[str], None] | None = None) -> Iterator[tuple[SegmentJob, list[FileReport]]]:
    """Run jobs, in worker processes when `workers` > 1; yields (job, reports) as jobs finish."""
    if workers <= 1 or len(jobs) <= 1:
        for n, job in enumerate(jobs, 1):
            directory, prefix = destination(job)
            yield job, run_job(job, str(directory), prefix, options)
            if progress:
                progress(f"parsed {n}/{len(jobs)} files ({job.path.name})")
        return
    # spawn, not fork: Polars' thread pool does not survive a fork.
    ctx = multiprocessing.get_context("spawn")
    with _one_polars_thread_per_child(), ProcessPoolExecutor(max_workers=workers,
                                                             mp_context=ctx) as pool:
        futures = {}
        for job in jobs:
            directory, prefix = destination(job)
            futures[pool.submit(run_job, job, str(directory), prefix, options)] = job
        for n, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            yield job, future.result()
            if progress:
                progress(f"parsed {n}/{len(jobs)} files ({job.path.name})")


@contextlib.contextmanager
def _one_polars_thread_per_child():
    """Children inherit the environment at spawn: one Polars thread each, since the processes
    already use every core (Polars reads the variable once, at import)."""
    old = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = old


def merge_reports(batches: Iterable[list[FileReport]]) -> list[FileReport]:
    """A file's lines can be counted by two jobs (its own, and its successor's for a block that
    continues there); add them up per file."""
    merged: dict[int, FileReport] = {}
    for batch in batches:
        for report in batch:
            if report.file_id in merged:
                merged[report.file_id].merge(report)
            else:
                merged[report.file_id] = report
    return sorted(merged.values(), key=lambda r: r.file_id)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parse_to_parquet(paths: Iterable[Path], out_dir: Path, options: ParseOptions | None = None,
                     workers: int | None = None,
                     progress: Callable[[str], None] | None = None) -> dict:
    """Parse `paths` (files or folders) into `out_dir`; returns the summary printed by the CLI."""
    options = options or ParseOptions()
    started = time.perf_counter()
    files = discover(paths)
    jobs = plan_jobs(enumerate(files))
    out_dir = Path(out_dir)
    staging = parquet_sink.start(out_dir)
    try:
        batches = [reports for _job, reports in run_jobs(
            jobs, lambda job: (staging, f"f{job.file_id:06d}"), options,
            workers or default_workers(), progress)]
        reports = merge_reports(batches)
        parquet_sink.finish(out_dir, reports)
    except BaseException:
        parquet_sink.abort(out_dir)
        raise
    return summarize(reports, time.perf_counter() - started)


def summarize(reports: list[FileReport], seconds: float) -> dict:
    kinds: dict[str, int] = {}
    for r in reports:
        for kind, n in r.counts.items():
            kinds[kind] = kinds.get(kind, 0) + n
    return {
        "files": len(reports),
        "bytes": sum(r.size_bytes for r in reports),
        "lines": sum(r.lines for r in reports),
        "events": sum(r.events for r in reports),
        "quarantined_lines": kinds.get("quarantined", 0),
        "seconds": round(seconds, 3),
        "line_kinds": dict(sorted(kinds.items())),
        "files_with_problems": sum(1 for r in reports if r.problems),
    }
