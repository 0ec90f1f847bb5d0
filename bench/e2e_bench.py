"""End to end: a simulated bep300 day through `icon-etl load` into SQLite and PostgreSQL
(no asserts; prints the figures the README quotes).

    .venv/bin/python bench/e2e_bench.py                      # simulate (or reuse) a day, both IDBs
    .venv/bin/python bench/e2e_bench.py --idb sqlite         # one target
    .venv/bin/python bench/e2e_bench.py --sim bench/out/bep300-truth --replicas 1

Reported per target: MB/s of logs, events/s, IDB rows/s, peak RSS of the load process (and its
parser workers), and how much faster than real time a day of traffic was processed.
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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("ICON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def simulate(out: Path, hours: float, replicas: int) -> None:
    from simulator import simulate as run

    run(out, profile="bep300", start="2026-03-09T23:00:00Z", hours=hours, seed=7,
        replicas=replicas, progress=lambda line: print("  " + line, flush=True))


def pg_database() -> tuple[str, callable]:
    import sqlalchemy as sa

    name = f"icon_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return f"{PG_SERVER}/{name}", drop


def load(sim: Path, url: str, home: Path, checks: bool = True) -> dict:
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "ICON_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home")}
    cmd = [str(ROOT / ".venv" / "bin" / "icon-etl"), "load", "--logs", str(sim / "logs"),
           "--idb", url, "--config", str(sim / "config.json"),
           "--options", str(ROOT / "examples" / "icon-options.toml"), "--quiet"] \
        + ([] if checks else ["--no-checks"])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        print(done.stderr[-3000:])
        raise SystemExit(f"icon-etl load failed ({done.returncode})")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["wall_seconds"] = seconds
    summary["stages"] = stage_seconds(home / "dagster_home")
    summary["peak_rss_mb"] = max(peak, before) / 1024
    return summary


def stage_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per step (summed over the load's runs), from the Dagster instance's own step
    events: what the UI shows on each run's timeline."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    stages: dict[str, float] = {}
    for run in instance.get_runs():
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time and step.end_time:
                stages[step.step_key] = stages.get(step.step_key, 0.0) + step.end_time - step.start_time
    return stages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", type=Path, help="a simulated folder to reuse")
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--idb", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--no-checks", action="store_true", help="load without the quality checks")
    args = ap.parse_args()
    # the cache is named by what was simulated, so another --hours never reuses a shorter run
    sim = args.sim or ROOT / "bench" / "out" / f"bep300-e2e-{args.replicas}r-{args.hours:g}h"
    if not (sim / "config.json").exists():
        simulate(sim, args.hours, args.replicas)
    mb = sum(p.stat().st_size for p in (sim / "logs").rglob("*") if p.is_file()) / 1e6
    span_hours = args.hours
    print(f"logs: {sim / 'logs'}: {mb:,.0f} MB, {span_hours:g} h of traffic")

    targets = ["sqlite", "postgres"] if args.idb == "both" else [args.idb]
    for target in targets:
        home = ROOT / "bench" / "out" / f"e2e-home-{target}"
        drop = None
        url = f"sqlite:///{home / 'idb.sqlite'}"
        if target == "postgres":
            url, drop = pg_database()
        try:
            s = load(sim, url, home, checks=not args.no_checks)
        finally:
            if drop:
                drop()
        rows = sum(s["rows"].values())
        secs = s["wall_seconds"]
        print(f"\n{target}{'' if not args.no_checks else ' (no quality checks)'}: {secs:,.1f} s  "
              f"({s['partitions']} hourly partitions, {s['runs']} runs)")
        print(f"  {mb / secs:8.1f} MB/s of logs")
        print(f"  {s['events'] / secs:8,.0f} events/s   ({s['events']:,} events)")
        print(f"  {rows / secs:8,.0f} IDB rows/s  ({rows:,} rows)")
        print(f"  {s['peak_rss_mb']:8,.0f} MB peak RSS")
        print(f"  {span_hours * 3600 / secs:8,.0f}x real time")
        print("  seconds per step (steps of one run overlap when they run in parallel):")
        for step, spent in sorted(s["stages"].items(), key=lambda kv: -kv[1]):
            print(f"    {spent:7.1f}  {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
