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
from dataclasses import dataclass
from pathlib import Path

from transforms.parsing import parquet_sink
from transforms.parsing.copies import Copy, find_copies
from transforms.parsing.parse import (
    FileReport,
    ParseOptions,
    Parser,
    SegmentJob,
    plan_jobs,
    read_header,
)

SKIP_NAMES = {"README.md", ".DS_Store"}


@dataclass(frozen=True)
class Skipped:
    """A path under a log folder that is not read, and why (`scan_folder`)."""

    path: Path
    target: str
    reason: str

    def describe(self, root: Path) -> str:
        rel = self.path.relative_to(root) if self.path.is_relative_to(root) else self.path
        to = f" -> {self.target}" if self.target else ""
        return f"{rel}{to}: skipped, {self.reason}"


OUTSIDE = "symbolic link to outside the log folder (never read)"
DANGLING = "symbolic link to nothing"
LINKED_FOLDER = "symbolic link to a folder (not followed; its files are read where they are)"
NOT_REGULAR = "not a regular file"


def scan_folder(folder: Path) -> tuple[list[Path], list[Skipped]]:
    """Every regular file under `folder` (hidden names and SKIP_NAMES left out), and what was
    skipped. Paths from a log folder never lead out of it: a symbolic link to a file is read only
    when its target lies inside the folder; links to folders are not followed; links outside,
    dangling links and special files (FIFOs, devices) are skipped and reported."""
    folder = Path(folder)
    real_root = folder.resolve()
    files: list[Path] = []
    skipped: list[Skipped] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            path = here / name
            if path.is_symlink():
                skipped.append(_skipped_link(path, real_root, folder_link=True))
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            if name.startswith(".") or name in SKIP_NAMES:
                continue
            path = here / name
            if path.is_symlink():
                reason = _skipped_link(path, real_root, folder_link=False)
                if reason is None:
                    files.append(path)
                else:
                    skipped.append(reason)
            elif path.is_file():
                files.append(path)
            else:
                skipped.append(Skipped(path, "", NOT_REGULAR))
    return sorted(files), sorted(skipped, key=lambda s: str(s.path))


def _skipped_link(path: Path, real_root: Path, folder_link: bool) -> Skipped | None:
    """Why the link `path` is not read (None: a link to a regular file inside the folder)."""
    try:
        target_text = os.readlink(path)
    except OSError:
        target_text = ""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return Skipped(path, target_text, DANGLING)
    if not target.is_relative_to(real_root):
        return Skipped(path, target_text, OUTSIDE)
    if folder_link or target.is_dir():
        return Skipped(path, target_text, LINKED_FOLDER)
    if not target.is_file():
        return Skipped(path, target_text, NOT_REGULAR)
    return None


def discover_all(paths: Iterable[Path]) -> tuple[list[Path], list[Skipped]]:
    """Files named on the command line (read as named), and every file `scan_folder` finds under
    named folders; with what the folders held that is not read."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in map(Path, paths):
        if path.is_dir():
            files, skips = scan_folder(path)
            found.extend(files)
            skipped.extend(skips)
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found, skipped


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files named on the command line, and every regular file under named folders (see
    `scan_folder` for what is never read)."""
    return discover_all(paths)[0]


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
    with worker_pool(workers) as pool:
        futures = {}
        for job in _largest_first(jobs):
            directory, prefix = destination(job)
            futures[pool.submit(run_job, job, str(directory), prefix, options)] = job
        for n, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            yield job, future.result()
            if progress:
                progress(f"parsed {n}/{len(jobs)} files ({job.path.name})")


def _largest_first(jobs: list[SegmentJob]) -> list[SegmentJob]:
    """Big files first, so that the last jobs to finish are small ones and no worker idles
    long at the end while another still parses."""
    def size(job: SegmentJob) -> int:
        try:
            return job.path.stat().st_size
        except OSError:
            return 0
    return sorted(jobs, key=size, reverse=True)


# Read by Polars' allocator (jemalloc) when a worker imports Polars. Polars' own default returns
# freed memory to the OS after half a second; a worker allocates and frees the same large buffers
# chunk after chunk, so it then pays page faults for them again and again (about a tenth of its
# time). Keeping freed pages bounds the worker's memory by its largest chunk, as before.
WORKER_MALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes set up for parsing (spawned, with `_worker_environment`)."""
    # spawn, not fork: Polars' thread pool does not survive a fork.
    ctx = multiprocessing.get_context("spawn")
    with _worker_environment(), ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield pool


@contextlib.contextmanager
def _worker_environment():
    """Children inherit the environment at spawn: one Polars thread each, since the processes
    already use every core (Polars reads the variable once, at import), and the allocator
    setting above."""
    settings = {"POLARS_MAX_THREADS": "1", "_RJEM_MALLOC_CONF": WORKER_MALLOC_CONF}
    old = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
    files = list(enumerate(discover(paths)))
    # a copy of another file (whole or cut, other compression) is not read: its events would be
    # there twice, and a cut copy would break the chain a TLib block continues in
    copies = find_copies([(n, path, read_header(path)) for n, path in files])
    skipped = {c.file_id for c in copies}
    jobs = plan_jobs((n, path) for n, path in files if n not in skipped)
    out_dir = Path(out_dir)
    staging = parquet_sink.start(out_dir)
    try:
        batches = [reports for _job, reports in run_jobs(
            jobs, lambda job: (staging, f"f{job.file_id:06d}"), options,
            workers or default_workers(), progress)]
        reports = merge_reports(batches) + [_copy_report(c, dict(files)) for c in copies]
        parquet_sink.finish(out_dir, reports)
    except BaseException:
        parquet_sink.abort(out_dir)
        raise
    return summarize(reports, time.perf_counter() - started)


def _copy_report(copy: Copy, paths: dict[int, Path]) -> FileReport:
    report = FileReport(copy.file_id, paths[copy.file_id], read_header(paths[copy.file_id]))
    report.size_bytes = paths[copy.file_id].stat().st_size
    report.problems.append(f"{'copy' if copy.whole else 'partial copy'} of "
                           f"{paths[copy.original].name}: not read")
    if copy.problem:
        report.problems.append(copy.problem)
    return report


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
