"""Agreement with the simulator's ground truth over a simulated day, with timings (no asserts).

    .venv/bin/python bench/truth_bench.py                       # bep300, a whole day (~670 MB)
    .venv/bin/python bench/truth_bench.py --profile small --hours 3
    .venv/bin/python bench/truth_bench.py --sim bench/out/bep300-day   # reuse a simulated folder

Builds the IDB tables from all events at once (`build_gcc`, `build_gud`, `build_gls`,
`build_gos`; hour-by-hour equals this: tests/test_pipeline.py) and prints, per check, how many
truth facts the IDB agrees with.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator import simulate  # noqa: E402
from simulator.compare import (  # noqa: E402
    compare_agents,
    compare_calls,
    compare_outbound,
    compare_user_data,
    load_truth_calls,
    load_window,
)
from transforms.config import load_options, load_snapshot, spec_from_options
from transforms.roles import PARTY_LOOKUP, build_gcc, build_gls, build_gos, build_gud

EXAMPLES = ROOT / "examples"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_report(title: str, report: dict) -> bool:
    print(f"\n{title}")
    for name, c in report["checks"].items():
        print(f"  {c['percent']:7.3f}%  {c['agree']:>9,} / {c['total']:<9,}  {name}")
    for name, examples in report["disagreements"].items():
        print(f"  disagreements in {name!r}, e.g.:")
        for ex in examples[:3]:
            print(f"    {json.dumps(ex, default=str)[:300]}")
    return report["all_agree"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="bep300")
    ap.add_argument("--start", default="2026-03-09T23:00:00Z", help="north's local midnight")
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sim", type=Path, help="a simulated folder to reuse (else simulate)")
    ap.add_argument("--workers", type=int, default=4, help="parser processes")
    ap.add_argument("--keep", action="store_true", help="keep bench/out/<profile>-truth")
    args = ap.parse_args()

    sim = args.sim or ROOT / "bench" / "out" / f"{args.profile}-truth"
    timings: dict[str, float] = {}
    if not (sim / "truth" / "calls.jsonl").exists():
        t = time.perf_counter()
        simulate(sim, profile=args.profile, start=args.start, hours=args.hours, seed=args.seed,
                 progress=lambda line: print("  " + line, flush=True))
        timings["simulate"] = time.perf_counter() - t
    log_mb = sum(p.stat().st_size for p in (sim / "logs").rglob("*") if p.is_file()) / 1e6
    print(f"logs: {sim / 'logs'} ({log_mb:,.0f} MB)")

    data = sim.parent / (sim.name + "-data")
    shutil.rmtree(data, ignore_errors=True)
    t = time.perf_counter()
    config = load_snapshot(sim / "config.json")
    window = load_window(sim / "logs", data, workers=args.workers, switches=config.switches())
    timings["parse + load"] = time.perf_counter() - t
    options = load_options(EXAMPLES / "icon-options.toml")

    t = time.perf_counter()
    gcc = build_gcc(window.events, window.kvpairs, config, "bench")
    timings["gcc"] = time.perf_counter() - t
    t = time.perf_counter()
    gud = build_gud(window.events, window.kvpairs, config, gcc, spec_from_options(options),
                    options.get("callconcentrator", "adata-userdata-history"), "bench")
    timings["gud"] = time.perf_counter() - t
    t = time.perf_counter()
    gls = build_gls(window.events, window.kvpairs, config, "bench", options,
                    gcc.tables["G_PARTY"].select(PARTY_LOOKUP))
    timings["gls"] = time.perf_counter() - t
    t = time.perf_counter()
    gos = build_gos(window.events, window.kvpairs, config, "bench")
    timings["gos"] = time.perf_counter() - t
    tables = {**gcc.tables, **gud.tables, **gls.tables, **gos.tables}

    truth = load_truth_calls(sim / "truth")
    ok = print_report(f"calls ({len(truth):,} in the truth file)", compare_calls(tables, truth))
    ok &= print_report("attached data", compare_user_data(tables, truth, frozenset({"CustomerPIN"})))
    ok &= print_report("agents: login sessions, states, reasons, DND, custom states",
                       compare_agents(tables, sim / "truth"))
    ok &= print_report("outbound: campaign attempts, chains, records, fields, dialed calls",
                       compare_outbound(tables, sim / "truth", config.list_fields()))

    print(f"\nevents {window.events.height:,}  kv pairs {window.kvpairs.height:,}")
    print("rows: " + ", ".join(f"{n} {f.height:,}" for n, f in tables.items() if f.height))
    for name, seconds in timings.items():
        print(f"  {name:<14} {seconds:8.2f} s")
    print(f"  peak RSS       {rss_mb():8,.0f} MB")
    print("ALL AGREE" if ok else "DISAGREEMENTS FOUND")
    if not args.keep and not args.sim:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
