"""Benchmark the log parser end to end, as `icon-etl parse` runs it (prints numbers; no asserts).

    .venv/bin/python bench/parse_bench.py            # bep300 day (~620 MB), workers = cores and 1,
                                                     # then big single files (>= 0.6 GB and, if
                                                     # the disk allows, >= 2 GB) with workers=1
    .venv/bin/python bench/parse_bench.py --quick    # one simulated bep300 hour, no big file
    .venv/bin/python bench/parse_bench.py --floor    # also the floor: the same files only read,
                                                     # split at TABs and written (no parsing)

Inputs are simulated once and cached under `bench/out/` (git-ignored). Each measurement runs in a
fresh Python process so that its peak RSS figures are its own: `RUSAGE_SELF` is the parent (the
process that calls `parse_to_parquet`), `RUSAGE_CHILDREN` the largest worker process. CPU seconds
(user + system, parent and workers) are printed too: on a shared machine they say more than the
wall clock, and the load average before each run says how shared it was.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

DAY = {"profile": "bep300", "start": "2026-03-10T00:00:00Z", "hours": 24, "seed": 7}
# 09:00Z = 10:00 local on north: the first peak hour of the bep300 day curve
HOUR = {"profile": "bep300", "start": "2026-03-10T09:00:00Z", "hours": 1, "seed": 7}
MB = 1_000_000


# -- inputs ---------------------------------------------------------------------------------------
def simulated_logs(name: str, spec: dict) -> Path:
    """Simulate once; `truth/summary.json` is written last, so its presence marks a complete run."""
    folder = OUT / name
    if not (folder / "truth" / "summary.json").exists():
        from simulator import simulate

        shutil.rmtree(folder, ignore_errors=True)
        print(f"simulating {spec} into {folder} ...", flush=True)
        started = time.perf_counter()
        simulate(folder, **spec)
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return folder / "logs"


def big_file(logs: Path, target_bytes: int) -> Path | None:
    """One file made of the day's north segments, in order, repeated until it reaches
    `target_bytes`. Only the first segment keeps its header, so it reads as one long segment."""
    segments = sorted(logs.glob("TS_NORTH.*.log"))
    if not segments:
        return None
    day_bytes = sum(p.stat().st_size for p in segments)
    repeats = max(1, -(-target_bytes // day_bytes))
    path = OUT / "big" / f"TS_NORTH.x{repeats}.log"
    if path.exists() and path.stat().st_size >= day_bytes * repeats - repeats * 4096:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"writing {path} ({repeats} x {day_bytes / MB:.0f} MB) ...", flush=True)
    with open(path, "wb") as out:
        for n in range(repeats):
            for k, segment in enumerate(segments):
                data = segment.read_bytes()
                if n or k:
                    data = data.split(b"\n\n", 1)[1]  # drop the header (ends at its empty line)
                out.write(data)
    return path


def affordable_big_bytes(wanted: int, minimum: int) -> int:
    """How big a file the disk allows, up to `wanted` (0 if below `minimum`): the file and its
    Parquet output must fit with room to spare (10 GB stay free)."""
    free = shutil.disk_usage(OUT).free
    room = (free - 10_000_000_000) // 1.3
    return int(min(wanted, room)) if room >= minimum else 0


# -- the floor: what any Polars parser of these files must at least do ------------------------------
def split_and_write(path: str, out: str) -> tuple[int, int]:
    """Read one file's lines, cut each at its first three TABs and write the pieces as Parquet,
    as the parser's workers do (one Polars thread each). No classification, dates, KV nesting,
    typed columns or ledger: the least work that still turns every line into columns."""
    import polars as pl

    data = Path(path).read_bytes()
    lines = pl.read_lines(data).to_series()
    pieces = pl.select(lines.str.split_exact("\t", 3).struct.unnest())
    pieces.write_parquet(out, compression="zstd", compression_level=1, statistics=False)
    return len(data), lines.len()


def floor_summary(paths: list[Path], out: Path, workers: int) -> dict:
    """`split_and_write` over every file, in worker processes set up as the parser's."""
    from transforms.parsing import discover, worker_pool

    files = discover(paths)
    out.mkdir(parents=True)
    started = time.perf_counter()
    with worker_pool(workers) as pool:
        done = list(pool.map(split_and_write, map(str, files),
                             [str(out / f"{n:06d}.parquet") for n in range(len(files))]))
    return {"files": len(files), "bytes": sum(b for b, _ in done),
            "lines": sum(n for _, n in done), "events": 0, "quarantined_lines": 0,
            "seconds": time.perf_counter() - started}


# -- one measurement (run in a child process) --------------------------------------------------------
def measure(paths: list[str], workers: int, floor: bool = False) -> dict:
    from transforms.parsing import parse_to_parquet

    out = OUT / f"parsed-{os.getpid()}"
    try:
        started = time.perf_counter()
        if floor:
            summary = floor_summary([Path(p) for p in paths], out, workers)
        else:
            summary = parse_to_parquet([Path(p) for p in paths], out, workers=workers)
        seconds = time.perf_counter() - started
        output_bytes = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    me, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    # ru_maxrss is in KiB on Linux
    return {"seconds": seconds, "bytes": summary["bytes"], "lines": summary["lines"],
            "events": summary["events"], "files": summary["files"],
            "quarantined": summary["quarantined_lines"], "output_bytes": output_bytes,
            "rss_parent": me.ru_maxrss * 1024, "rss_workers": children.ru_maxrss * 1024,
            "cpu_parent": me.ru_utime + me.ru_stime,
            "cpu_workers": children.ru_utime + children.ru_stime,
            "load_before": os.getloadavg()[0]}


def run_measurement(paths: list[Path], workers: int, floor: bool = False) -> dict:
    """`measure` in a fresh interpreter: its RSS figures are not inflated by earlier runs."""
    cmd = [sys.executable, __file__, *(["--floor"] if floor else []), "--measure", str(workers),
           *map(str, paths)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(label: str, r: dict) -> None:
    s = r["seconds"]
    print(f"{label}\n"
          f"  {r['bytes'] / MB:,.1f} MB in {r['files']} file(s): {s:.2f} s  "
          f"{r['bytes'] / MB / s:,.1f} MB/s  {r['events'] / s:,.0f} events/s  "
          f"{r['lines'] / s:,.0f} lines/s\n"
          f"  {r['lines']:,} lines, {r['events']:,} events, {r['quarantined']:,} quarantined, "
          f"{r['output_bytes'] / MB:,.1f} MB of Parquet\n"
          f"  peak RSS: parent {r['rss_parent'] / MB:,.0f} MB, "
          f"largest worker {r['rss_workers'] / MB:,.0f} MB\n"
          f"  CPU: parent {r['cpu_parent']:.2f} s, workers {r['cpu_workers']:.2f} s "
          f"({r['bytes'] / MB / (r['cpu_parent'] + r['cpu_workers']):,.1f} MB per CPU second); "
          f"load average before the run {r['load_before']:.2f}", flush=True)


TARGET_MB_S = 150  # issue 2, on a 2-core machine


def mb_per_cpu_second(r: dict) -> float:
    return r["bytes"] / MB / (r["cpu_parent"] + r["cpu_workers"])


def compare_to_floor(parsed: dict, floor: dict) -> None:
    """How much more CPU per MB the parser spends than the floor, and how much more the target
    would allow on this machine (the target's CPU budget is 2 cores' worth, used fully)."""
    cost = mb_per_cpu_second(floor) / mb_per_cpu_second(parsed)
    allowed = mb_per_cpu_second(floor) / (TARGET_MB_S / 2)
    print(f"  the parser spends {cost:.1f}x the floor's CPU per MB; {TARGET_MB_S} MB/s on 2 cores "
          f"allows at most {allowed:.1f}x on this machine", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one simulated hour, no big file")
    ap.add_argument("--workers", type=int, nargs="*", default=None,
                    help="worker counts to measure (default: cores, then 1)")
    ap.add_argument("--big-gb", type=float, default=2.0,
                    help="size of the larger single big file (0 = no big files)")
    ap.add_argument("--floor", action="store_true",
                    help="also measure the floor (read, split at TABs, write; no parsing)")
    ap.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:  # child process: one measurement, JSON on the last line
        print(json.dumps(measure(args.measure[1:], int(args.measure[0]), floor=args.floor)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    logs = simulated_logs("bep300-hour" if args.quick else "bep300-day", HOUR if args.quick else DAY)
    cores = os.cpu_count() or 1
    for workers in args.workers or sorted({cores, 1}, reverse=True):
        parsed = run_measurement([logs], workers)
        report(f"parse {logs} with workers={workers} (cores={cores})", parsed)
        if args.floor:
            floor = run_measurement([logs], workers, floor=True)
            report(f"floor (read, split at TABs, write; no parsing) of {logs} with "
                   f"workers={workers}", floor)
            compare_to_floor(parsed, floor)

    if args.quick or args.big_gb <= 0:
        return
    big_files(logs, [600 * MB, int(args.big_gb * 1e9)])


def big_files(logs: Path, targets: list[int]) -> None:
    """Memory on single big files: parse files of different sizes with workers=1; the peak RSS
    should not grow with the file (it is set by the chunk size)."""
    from transforms.parsing import DEFAULT_CHUNK_BYTES

    results = []
    for target in sorted(set(targets)):
        size = affordable_big_bytes(target, minimum=target)
        if not size:
            print(f"big file of {target / MB:,.0f} MB skipped: not enough free disk under {OUT}")
            continue
        path = big_file(logs, size)
        if path is None:
            return
        r = run_measurement([path], 1)
        report(f"parse one big file {path.name} ({path.stat().st_size / MB:,.0f} MB) with "
               "workers=1", r)
        results.append((path.stat().st_size, r["rss_parent"]))
    for file_bytes, rss in results:
        print(f"  file {file_bytes / MB:8,.0f} MB -> peak RSS {rss / MB:6,.0f} MB "
              f"(chunk size {DEFAULT_CHUNK_BYTES / MB:.0f} MB)")


if __name__ == "__main__":
    main()
