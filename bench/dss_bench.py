"""Data source sessions at scale: what the sessions step holds in memory per day of logs, with
every line versus the reduced skeleton it reads (prints numbers; no asserts).

    .venv/bin/python bench/dss_bench.py        # a simulated bep300 day (cached under bench/out)

The sessions of a replica are derived from all of its history at once (a session is the same
whatever hour is processed), so what one day costs is multiplied by the days of logs kept.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.parse_bench import DAY, simulated_logs  # noqa: E402
from transforms.config import load_snapshot
from transforms.datafolder import DataFolder  # noqa: E402
from transforms.ha import dss  # noqa: E402
from transforms.segments import SegmentStore

MB = 1_000_000


def main() -> None:
    logs = simulated_logs("bep300-day", DAY)
    store = SegmentStore(logs, DataFolder(ROOT / "bench" / "out" / "dss-bench").replica("a"))
    if store.registry().height == 0:
        print("registering (parsing) the day ...", flush=True)
        store.refresh(workers=2)
    switches = load_snapshot(logs.parent / "config.json").switches()
    reduced = store.skeleton()
    full = store.skeleton(reduced=False)

    started = time.perf_counter()
    again = dss.reduce_skeleton(full.select("file_id", "line", "ts", "seq", "message"))
    reduce_s = time.perf_counter() - started
    print(f"bep300 day: {store.registry().height} segments; reducing every line costs "
          f"{reduce_s:.2f} s ({again.height:,} lines kept)")
    for label, lines in (("every line", full), ("reduced skeleton", reduced)):
        started = time.perf_counter()
        sessions = dss.sessions(lines, switches, "a")
        seconds = time.perf_counter() - started
        size = lines.estimated_size() / MB
        print(f"  {label:17s} {lines.height:>10,} rows  {size:8.1f} MB  sessions in {seconds:5.2f} s"
              f"  -> a year of such days: {lines.height * 365 / 1e6:8.1f} M rows, "
              f"{size * 365 / 1000:6.1f} GB ({sessions.height} sessions)")


if __name__ == "__main__":
    main()
