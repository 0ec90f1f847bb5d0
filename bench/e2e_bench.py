"""End to end: a simulated bep300 day through `icon-etl load` into SQLite and PostgreSQL
(no asserts; prints the figures the README quotes).

    .venv/bin/python bench/e2e_bench.py                      # a day, both IDBs, --parallel 1 and 2
    .venv/bin/python bench/e2e_bench.py --idb sqlite --parallel 2
    .venv/bin/python bench/e2e_bench.py --sim bench/out/bep300-truth --replicas 1

Reported per target and `--parallel`: seconds, MB/s of logs, events/s, IDB rows/s, peak RSS
(the largest process, and all of the load's processes together, sampled), how much faster than
real time a day of traffic was processed, and seconds per stage (from the Dagster instance's
step statistics); then how much faster `--parallel 2` was than `--parallel 1` per stage.
"""

from __future__ import annotations

import argparse
import json
import os
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


def load(sim: Path, url: str, home: Path, checks: bool = True, parallel: int = 1,
         fresh: bool = True, extra: tuple[str, ...] = ()) -> dict:
    """`icon-etl load` of `sim` into `url` with `home` as ICON_HOME (emptied first if `fresh`);
    `extra`: more arguments (e.g. --start/--end)."""
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "ICON_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home")}
    cmd = [str(ROOT / ".venv" / "bin" / "icon-etl"), "load", "--logs", str(sim / "logs"),
           "--idb", url, "--config", str(sim / "config.json"), "--parallel", str(parallel),
           "--options", str(ROOT / "examples" / "icon-options.toml"), "--quiet", *extra] \
        + ([] if checks else ["--no-checks"])
    steps_before = stage_seconds(home / "dagster_home")
    started = time.time()
    t = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    tree_peak = TreeRss(process.pid)
    tree_peak.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - t
    tree_peak.stop()
    if process.returncode != 0:
        print(err[-3000:])
        raise SystemExit(f"icon-etl load failed ({process.returncode})")
    summary = json.loads(out.strip().splitlines()[-1])
    summary["wall_seconds"] = seconds
    after = stage_seconds(home / "dagster_home")
    summary["stages"] = {k: v - steps_before.get(k, 0.0) for k, v in after.items()}
    summary["peak_rss_mb"] = tree_peak.largest / 1e6
    summary["step_rss_mb"] = {k: v / 1e6 for k, v in
                              tree_peak.during(step_spans(home / "dagster_home", started)).items()}
    summary["tree_rss_mb"] = tree_peak.peak / 1e6
    return summary


class TreeRss:
    """The largest sum of RSS over a process and its descendants (`peak`), and the largest RSS
    of any one of them (`largest`), sampled every 0.2 s."""

    def __init__(self, pid: int):
        import threading

        self.pid, self.peak, self.largest, self._done = pid, 0, 0, threading.Event()
        self.samples: list[tuple[float, int]] = []     # (epoch seconds, largest RSS then)
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.wait(0.2):
            sizes = []
            try:
                for p in [root, *root.children(recursive=True)]:
                    sizes.append(p.memory_info().rss)
            except psutil.Error:
                continue
            self.peak = max(self.peak, sum(sizes))
            self.largest = max(self.largest, *sizes)
            self.samples.append((time.time(), max(sizes)))

    def during(self, spans: dict[str, tuple[float, float]]) -> dict[str, int]:
        """The largest RSS sampled while each step (start, end) ran."""
        return {key: max((rss for t, rss in self.samples if start <= t <= end), default=0)
                for key, (start, end) in spans.items()}


STAGES = {   # step key -> stage, in the order data flows
    "register + parse": lambda k: k.endswith(("log_segments", "parsed_events")),
    "reconcile (HA)": lambda k: k.startswith("ha__"),
    "roles": lambda k: k.startswith("roles__"),
    "IDB writes": lambda k: k.startswith("idb") and not k.endswith("_quality"),
    "quality checks": lambda k: k.endswith("_quality"),
}


def by_stage(steps: dict[str, float]) -> dict[str, float]:
    out = dict.fromkeys(STAGES, 0.0)
    for key, spent in steps.items():
        stage = next((name for name, match in STAGES.items() if match(key)), "other")
        out[stage] = out.get(stage, 0.0) + spent
    return out


def stage_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per step (summed over the load's runs), from the Dagster instance's own step
    events: what the UI shows on each run's timeline."""
    import dagster as dg

    if not (dagster_home / "dagster.yaml").exists():
        return {}
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    stages: dict[str, float] = {}
    for run in instance.get_runs():
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time and step.end_time:
                stages[step.step_key] = stages.get(step.step_key, 0.0) + step.end_time - step.start_time
    return stages


def step_spans(dagster_home: Path, since: float) -> dict[str, tuple[float, float]]:
    """(start, end) of each step of the runs that started after `since` (epoch seconds)."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    spans = {}
    for run in instance.get_runs():
        for step in instance.get_run_step_stats(run.run_id):
            if step.start_time and step.end_time and step.start_time >= since:
                spans[step.step_key] = (step.start_time, step.end_time)
    return spans


def report(title: str, s: dict, mb: float, span_hours: float) -> None:
    rows = sum(s["rows"].values())
    secs = s["wall_seconds"]
    print(f"\n{title}: {secs:,.1f} s  ({s['partitions']} hourly partitions, {s['runs']} runs)")
    print(f"  {mb / secs:8.1f} MB/s of logs")
    print(f"  {s['events'] / secs:8,.0f} events/s   ({s['events']:,} events)")
    print(f"  {rows / secs:8,.0f} IDB rows/s  ({rows:,} rows)")
    print(f"  {s['peak_rss_mb']:8,.0f} MB peak RSS of the largest process")
    print(f"  {s['tree_rss_mb']:8,.0f} MB peak RSS of all its processes together")
    print(f"  {span_hours * 3600 / secs:8,.0f}x real time")
    print("  seconds per stage:")
    for stage, spent in by_stage(s["stages"]).items():
        print(f"    {spent:7.1f}  {stage}")
    print("  seconds per step:")
    for step, spent in sorted(s["stages"].items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {spent:7.1f}  {step}")
    print("  peak RSS (MB) of the largest process while a step ran (the top five):")
    for step, rss in sorted(s["step_rss_mb"].items(), key=lambda kv: -kv[1])[:5]:
        print(f"    {rss:7,.0f}  {step}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", type=Path, help="a simulated folder to reuse")
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--idb", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--no-checks", action="store_true", help="load without the quality checks")
    ap.add_argument("--parallel", type=int, nargs="+", default=[1, 2],
                    help="`icon-etl load --parallel` values to measure (default: 1 2)")
    args = ap.parse_args()
    # the cache is named by what was simulated, so another --hours never reuses a shorter run
    sim = args.sim or ROOT / "bench" / "out" / f"bep300-e2e-{args.replicas}r-{args.hours:g}h"
    if not (sim / "config.json").exists():
        simulate(sim, args.hours, args.replicas)
    mb = sum(p.stat().st_size for p in (sim / "logs").rglob("*") if p.is_file()) / 1e6
    span_hours = args.hours
    print(f"logs: {sim / 'logs'}: {mb:,.0f} MB, {span_hours:g} h of traffic")

    targets = ["sqlite", "postgres"] if args.idb == "both" else [args.idb]
    results: dict[tuple[str, int], dict] = {}
    for target in targets:
        for parallel in args.parallel:
            home = ROOT / "bench" / "out" / f"e2e-home-{target}"
            drop = None
            url = f"sqlite:///{home / 'idb.sqlite'}"
            if target == "postgres":
                url, drop = pg_database()
            try:
                s = load(sim, url, home, checks=not args.no_checks, parallel=parallel)
            finally:
                if drop:
                    drop()
            results[target, parallel] = s
            report(f"{target} --parallel {parallel}"
                   f"{'' if not args.no_checks else ' (no quality checks)'}", s, mb, span_hours)
    for target in targets:
        if (target, 1) in results and (target, 2) in results:
            one, two = (by_stage(results[target, p]["stages"]) for p in (1, 2))
            print(f"\n{target}: --parallel 2 against --parallel 1 "
                  f"(total {results[target, 1]['wall_seconds'] / results[target, 2]['wall_seconds']:.2f}x)")
            for stage in one:
                if one[stage] and two.get(stage):
                    print(f"  {one[stage]:7.1f} s -> {two[stage]:7.1f} s  "
                          f"{one[stage] / two[stage]:5.2f}x  {stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
