"""Time to validate one bep300 hour's IDB tables with the quality suites (no asserts).

    .venv/bin/python bench/quality_bench.py                        # simulate 1 h of bep300, run, validate
    .venv/bin/python bench/quality_bench.py --out bench/out/quality # keep (and reuse) the folder
    .venv/bin/python bench/quality_bench.py --dagster              # also time the asset-check steps

Simulates with `icon-etl simulate --profile bep300 --hours 1 --out DIR` (unless DIR/logs exists),
runs the asset graph into a SQLite IDB the way tests/test_pipeline.py does (`runner.run_all`),
then validates the busiest hour: seconds per table (suite on the hour's rows, foreign keys
looked up in the IDB, coverage against the parsed events), the parsed-events line accounting,
and the one-off cost of importing Great Expectations.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

import dagster as dg  # noqa: E402
import polars as pl  # noqa: E402

from assets.graph import build_assets  # noqa: E402
from assets.partitions import hourly_partitions  # noqa: E402
from assets.resources import IconConfig, Idb, LogStorage  # noqa: E402
from dagster_project import runner  # noqa: E402
from transforms.hours import hour_span  # noqa: E402
from transforms.roles import ROLE_TABLES  # noqa: E402

EXAMPLES = ROOT / "examples"
HOURLY = hourly_partitions()


def pipeline_assets(replicas: list[str]) -> list:
    """The asset graph as dagster_project/definitions.py builds it (without the checks)."""
    return build_assets(replicas, HOURLY)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="bep300")
    ap.add_argument("--start", default="2026-03-10T09:00:00Z", help="the first bep300 peak hour")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, help="keep (and reuse) the simulation and IDB here")
    ap.add_argument("--dagster", action="store_true", help="also run the asset checks in Dagster")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="qualitybench-"))
    try:
        return run(args, out)
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)


def run(args, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    sim = out / "sim"
    if not (sim / "logs").exists():
        t0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("icon-etl")), "simulate", "--profile",
                        args.profile, "--hours", str(args.hours), "--start", args.start,
                        "--seed", str(args.seed), "--out", str(sim)], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"simulated {args.profile} {args.hours:g} h in {time.perf_counter() - t0:.1f} s")
    for name in ("icon-options.toml", "ccon_adata_spec.xml"):
        if not (sim / name).exists():
            shutil.copy(EXAMPLES / name, sim / name)
    work = out / "work"
    url = f"sqlite:///{work / 'idb.sqlite'}"
    logs = LogStorage(log_dir=str(sim / "logs"), data_dir=str(work / "data"), workers=2)
    icon = IconConfig(snapshot=str(sim / "config.json"), options_file=str(sim / "icon-options.toml"))
    idb = Idb(url=url)
    replicas = sorted(logs.replica_folders())
    resources = {"logs": logs, "icon": icon, "idb": idb}
    if not (work / "idb.sqlite").exists():
        work.mkdir(parents=True, exist_ok=True)
        defs = dg.Definitions(assets=pipeline_assets(replicas), resources=resources)
        t0 = time.perf_counter()
        with dg.instance_for_test() as instance:
            summary = runner.run_all(defs, instance, progress=lambda _: None, hours_per_run=24)
        print(f"pipeline: {summary} in {time.perf_counter() - t0:.1f} s")

    # the busiest hour: most G_CALL rows written
    data = logs.data()
    part = max(data.role_hours("gcc"), key=lambda p: pl.scan_parquet(
        data.role_table_file("gcc", p, "G_CALL")).select(pl.len()).collect().item())
    print(f"validating partition {part} (replicas {', '.join(replicas)})")

    t0 = time.perf_counter()
    import great_expectations  # noqa: F401

    gx_import = time.perf_counter() - t0
    from assets.checks import _coverage_input
    from quality import accounting, frames
    from quality.rules import rules_for
    from quality.suites import Validator
    from quality.validate import coverage_rows, validate_table

    t0 = time.perf_counter()
    validator = Validator()
    context_s = time.perf_counter() - t0
    lookup = frames.ReferenceLookup(idb.store())
    options = icon.options()
    print(f"\n{'table':28s} {'rows':>8s} {'expect.':>7s} {'failed':>6s} {'seconds':>8s}")
    total = 0.0
    for role, names in ROLE_TABLES.items():
        staged = data.role_hour(role, part)
        tables = staged[0] if staged else {}
        for name in names:
            rules = rules_for(name)
            t0 = time.perf_counter()
            frame = tables.get(name, rules.table.empty())
            # one hour alone: no later hour of the run wrote anything
            nothing_later = pl.DataFrame(schema={"value": pl.String, "hour": pl.String})
            coverage = {r.column: coverage_rows(r, [(part, frame, _coverage_input(
                logs, r, part, nothing_later))]) for r in rules.coverage}
            res = validate_table(validator, rules, frame, part, lookup, coverage, options)
            dt = time.perf_counter() - t0
            total += dt
            print(f"{name:28s} {res.rows:8,d} {len(res.outcomes):7d} {len(res.failures):6d} "
                  f"{dt:8.3f}")
            for f in res.failures[:3]:
                print(f"    failed: {f.outcome.expect.label}: {f.outcome.observed_text}")
    acc_total = 0.0
    for r in replicas:
        store = logs.segments(r)
        t0 = time.perf_counter()
        hour = accounting.account_hour(
            validator, part, store.registry(), logs.replica_root(r), data.replica(r),
            data.parsed_events_file(r, part), *hour_span(part),
            float(options.get("icon-etl", "max-quarantine-share-warn")),
            float(options.get("icon-etl", "max-quarantine-share-fail")))
        dt = time.perf_counter() - t0
        acc_total += dt
        print(f"{'parsed_events ' + r:28s} {hour.lines:8,d} "
              f"{sum(len(v) for v in hour.outcomes.values()):7d} "
              f"{sum(not o.success for v in hour.outcomes.values() for o in v):6d} {dt:8.3f}"
              f"   (lines of {hour.ledger.filter(pl.col('in_hour')).height} segments)")
    print(f"\nIDB tables: {total:.2f} s ({lookup.queries} IDB lookups); parsed events: "
          f"{acc_total:.2f} s; GX import {gx_import:.2f} s (once per process), context "
          f"{context_s:.3f} s")

    if args.dagster:
        from assets.checks import build_quality_checks

        checks = build_quality_checks(replicas, HOURLY)
        with dg.instance_for_test() as instance:
            t0 = time.perf_counter()
            result = dg.materialize(
                pipeline_assets(replicas) + checks, selection=dg.AssetSelection.checks(*checks),
                instance=instance, resources=resources, raise_on_error=False,
                run_config=runner.quiet(), tags={runner.RANGE_START: part, runner.RANGE_END: part})
            dt = time.perf_counter() - t0
            evals = result.get_asset_check_evaluations()
            print(f"dagster: {len(evals)} asset checks, {sum(not e.passed for e in evals)} failed, "
                  f"run {'succeeded' if result.success else 'FAILED'} in {dt:.1f} s "
                  f"(incl. GX import if first in process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
