"""Administration on a loaded IDB (no asserts; prints the figures the closing notes quote):

* purge: the plan, a dry run and the real purge of everything that ended before the middle of the
  loaded span, on SQLite and PostgreSQL (rows and entities per second, peak RSS);
* re-processing: `icon-etl backfill --changed` when nothing changed (the cost of finding what
  changed) and after the attached-data spec changed (gud and its tables only).

    .venv/bin/python bench/admin_bench.py                         # 6 bep300 hours, both IDBs
    .venv/bin/python bench/admin_bench.py --hours 24 --idb sqlite
    .venv/bin/python bench/admin_bench.py --sim bench/out/bep300-truth
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.e2e_bench import load, pg_database, simulate  # noqa: E402


def purge_figures(url: str) -> dict:
    """Plan, dry run and purge of what ended before the middle of the IDB's calls."""
    from transforms.idb import IdbStore, plan_purge
    from transforms.idb.purge import purge

    store = IdbStore(url)
    calls = store.read("G_CALL", columns=["CREATED"])
    first, last = calls["CREATED"].min(), calls["CREATED"].max()
    cutoff = (first + (last - first) / 2).replace(minute=0, second=0, microsecond=0)
    rows_before = sum(store.row_counts(list(store_tables())).values())
    out = {"cutoff": cutoff.isoformat(), "rows_before": rows_before}
    t = time.perf_counter()
    plan = plan_purge(store, cutoff)
    out["plan_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    dry = purge(store, plan, 1000, dry_run=True)
    out["dry_run_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    done = purge(store, plan, 1000, dry_run=False)
    seconds = time.perf_counter() - t
    out.update(purge_s=round(seconds, 2), rows_removed=done.total_rows,
               dry_run_agrees=dry.total_rows == done.total_rows,
               entities=done.entities, batches=done.batches,
               rows_per_s=round(done.total_rows / seconds) if seconds else None,
               rows_after=sum(store.row_counts(list(store_tables())).values()))
    store.engine.dispose()
    return out


def store_tables() -> list[str]:
    from transforms.idb import TABLES

    return [n for n, t in TABLES.items() if t.has_etl_columns]


def backfill_changed(sim: Path, url: str, home: Path, span: tuple[str, str]) -> dict:
    """`backfill --changed` over the loaded span: seconds and what it rebuilt."""
    env = {**os.environ, "ICON_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home"),
           "ICON_LOG_DIR": str(sim / "logs"), "ICON_IDB_URL": url,
           "ICON_CONFIG_SNAPSHOT": str(sim / "config.json"),
           "ICON_OPTIONS": str(home / "icon-options.toml")}
    cmd = [str(ROOT / ".venv" / "bin" / "icon-etl"), "backfill", "--start", span[0], "--end",
           span[1], "--changed", "--quiet", "--no-checks"]
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        print(done.stderr[-3000:])
        raise SystemExit("backfill --changed failed")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "changed_assets": len(summary.get("changed_assets", [])),
            "roles": [a for a in summary.get("changed_assets", []) if a.startswith("roles/")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6)
    parser.add_argument("--sim", type=Path, help="an existing simulation (default: simulate)")
    parser.add_argument("--idb", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "admin")
    args = parser.parse_args()
    sim = args.sim
    if sim is None:
        sim = args.out / f"bep300-{args.hours:g}h"
        if not (sim / "logs").exists():
            simulate(sim, args.hours, 1)
    targets = ["sqlite", "postgres"] if args.idb == "both" else [args.idb]
    for target in targets:
        home = args.out / f"home-{target}"
        drop = None
        if target == "sqlite":
            (args.out / "idb.sqlite").unlink(missing_ok=True)
            url = f"sqlite:///{args.out / 'idb.sqlite'}"
        else:
            url, drop = pg_database()
        try:
            summary = load(sim, url, home, checks=False, parallel=2)
            print(f"[{target}] loaded {summary['partitions']} hours in "
                  f"{summary['wall_seconds']:.1f} s", flush=True)
            # the options the load used, as a file the spec change can edit
            shutil.copy(ROOT / "examples" / "icon-options.toml", home / "icon-options.toml")
            shutil.copy(ROOT / "examples" / "ccon_adata_spec.xml", home / "ccon_adata_spec.xml")
            span = (_iso(summary["first_hour"]), _iso(summary["last_hour"], 1))
            same = backfill_changed(sim, url, home, span)
            print(f"[{target}] backfill --changed, nothing changed: {same}", flush=True)
            spec = home / "ccon_adata_spec.xml"
            spec.write_text(spec.read_text().replace(
                '<key name="Disposition" source="userdata" history="last"/>',
                '<key name="Disposition" source="userdata" history="all"/>'))
            gud = backfill_changed(sim, url, home, span)
            print(f"[{target}] backfill --changed after a spec change: {gud}", flush=True)
            print(f"[{target}] purge: {json.dumps(purge_figures(url), default=str)}", flush=True)
        finally:
            if drop:
                drop()
    print(f"peak RSS of this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


def _iso(key: str, plus_hours: int = 0) -> str:
    """An hourly partition key (2026-03-10-06:00) as ISO 8601 UTC, `plus_hours` later."""
    from transforms.hours import hour_start

    return (hour_start(key) + timedelta(hours=plus_hours)).strftime("%Y-%m-%dT%H:%MZ")


if __name__ == "__main__":
    main()
