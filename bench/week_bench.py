"""Seven bep300 days loaded one after the other, as a site that loads each day's logs when the day
is over (no asserts; prints the cost of each day). Does day 7 cost what day 1 cost, or does the
growing IDB, data folder and segment registry make every day dearer?

    .venv/bin/python bench/week_bench.py                     # SQLite
    .venv/bin/python bench/week_bench.py --idb postgres --parallel 2

The week is simulated once (bench/out/bep300-week, ~4.7 GB). Day N's load sees the segments that
were opened before day N ended (the `UTC time:` of each segment's header), linked into a live log
folder, and loads that day's hours (`icon-etl load --start/--end`) into the same IDB and data
folder as the days before.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.e2e_bench import by_stage, load, pg_database  # noqa: E402

START = datetime(2026, 3, 9, 23, tzinfo=timezone.utc)


def simulate_week(out: Path, days: int) -> None:
    from simulator import simulate

    simulate(out, profile="bep300", start=START.isoformat(), hours=24 * days, seed=7,
             progress=lambda line: print("  " + line, flush=True))


def opened_at(segment: Path) -> datetime:
    """When the segment was opened: its header's `UTC time:` line."""
    with segment.open(errors="replace") as f:
        for _, line in zip(range(20), f):
            if line.startswith("UTC time:"):
                return datetime.fromisoformat(line.split(":", 1)[1].strip()).replace(tzinfo=timezone.utc)
    raise ValueError(f"{segment}: no 'UTC time:' line in its header")


def expose_until(week_logs: Path, live_logs: Path, end: datetime) -> float:
    """Link every segment opened before `end` into the live folder; MB linked so far."""
    live_logs.mkdir(parents=True, exist_ok=True)
    mb = 0.0
    for segment in sorted(week_logs.iterdir()):
        if segment.is_file() and opened_at(segment) < end:
            target = live_logs / segment.name
            if not target.exists():
                os.link(segment, target)
            mb += segment.stat().st_size / 1e6
    return mb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--idb", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--no-checks", action="store_true")
    args = ap.parse_args()
    week = ROOT / "bench" / "out" / f"bep300-week-{args.days}d"
    if not (week / "config.json").exists():
        simulate_week(week, args.days)
    run = ROOT / "bench" / "out" / f"week-run-{args.idb}"
    shutil.rmtree(run, ignore_errors=True)
    live = run / "sim"
    live.mkdir(parents=True)
    shutil.copy(week / "config.json", live / "config.json")
    home = run / "home"
    drop = None
    url = f"sqlite:///{home / 'idb.sqlite'}"
    if args.idb == "postgres":
        url, drop = pg_database()
    print(f"{args.days} bep300 days into {args.idb}, --parallel {args.parallel}, "
          f"checks {'off' if args.no_checks else 'on'}")
    print(f"{'day':>4} {'MB':>6} {'seconds':>8} {'MB/s':>6} {'IDB rows':>10} {'RSS MB':>7}  per stage (s)")
    mb_before, day_one = 0.0, None
    try:
        for day in range(args.days):
            begin, end = START + timedelta(days=day), START + timedelta(days=day + 1)
            mb_so_far = expose_until(week / "logs", live / "logs", end)
            s = load(live, url, home, checks=not args.no_checks, parallel=args.parallel,
                     fresh=day == 0, extra=("--start", begin.isoformat(), "--end", end.isoformat()))
            mb, mb_before = mb_so_far - mb_before, mb_so_far     # the bytes this day added
            seconds = s["wall_seconds"]
            day_one = day_one or seconds
            stages = "  ".join(f"{k.split()[0]} {v:.0f}" for k, v in by_stage(s["stages"]).items())
            print(f"{day + 1:>4} {mb:6.0f} {seconds:8.1f} {mb / seconds:6.1f} "
                  f"{sum(s['rows'].values()):10,} {s['tree_rss_mb']:7,.0f}  {stages}", flush=True)
        print(f"day {args.days} against day 1: {seconds / day_one:.2f}x")
    finally:
        if drop:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
