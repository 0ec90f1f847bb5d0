"""Benchmark the simulator: seconds per simulated hour, MB written, MB/s (no asserts).

    .venv/bin/python bench/simulate_bench.py                       # bep300, busy hour, 1 h
    .venv/bin/python bench/simulate_bench.py --profile small --hours 3 --start 2026-03-09T22:00:00Z
    .venv/bin/python bench/simulate_bench.py --hours 24 --start 2026-03-09T23:00:00Z   # a whole day
    .venv/bin/python bench/simulate_bench.py --hours 3 --replicas 2 --faults default  # with faults
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator import simulate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="bep300")
    # 09:00Z = 10:00 local on north: the first peak hour of the bep300 day curve
    ap.add_argument("--start", default="2026-03-10T09:00:00Z")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--faults", default=None, help="fault spec or set name (docs/simulator.md)")
    ap.add_argument("--out", default=None, help="keep the output here (default: temp dir, removed)")
    args = ap.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="simbench-"))
    try:
        t0 = time.perf_counter()
        s = simulate(out, profile=args.profile, start=args.start, hours=args.hours, seed=args.seed,
                     replicas=args.replicas, progress=lambda line: print("  " + line, flush=True),
                     faults=args.faults)
        dt = time.perf_counter() - t0
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    mb = s["log_bytes"] / 1e6
    events = sum(v["events"] for v in s["switches"].values())
    print(f"profile={args.profile} start={args.start} hours={args.hours:g} replicas={args.replicas}"
          f" faults={args.faults}")
    print(f"calls={s['calls']:,} events={events:,} log files={s['log_files']} sessions={s['sessions']}")
    inbound = sum(v for k, v in s["customer_calls_by_scenario"].items()
                  if k not in ("outbound", "internal", "campaign"))
    print(f"customer calls={sum(s['customer_calls_by_scenario'].values()):,} inbound={inbound:,} "
          f"abandoned in queue={s['outcomes']['abandoned_in_queue']:,} "
          f"({s['outcomes']['abandoned_in_queue'] / max(1, inbound):.1%} of inbound)")
    print(f"elapsed {dt:.2f} s = {dt / args.hours:.2f} s per simulated hour")
    print(f"written {mb:.1f} MB of log, {mb / dt:.1f} MB/s")


if __name__ == "__main__":
    main()
