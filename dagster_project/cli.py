"""The `icon-etl` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


# options (and attached-data spec) the demo runs with: examples/ of the source checkout
EXAMPLE_OPTIONS = Path(__file__).resolve().parents[1] / "examples" / "icon-options.toml"


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulator import simulate

    summary = simulate(args.out, profile=args.profile, start=args.start, hours=args.hours,
                       seed=args.seed, replicas=args.replicas, progress=_err, faults=args.faults)
    print(json.dumps(summary, default=str))
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    from transforms.parse import ParseOptions
    from transforms.parse_files import parse_to_parquet

    options = ParseOptions(chunk_bytes=args.chunk_mb * 1024 * 1024,
                           redact_keys=frozenset(args.redact or []))
    summary = parse_to_parquet(args.paths, Path(args.out), options, workers=args.workers,
                               progress=_err if args.progress else None)
    print(json.dumps(summary))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Simulate a small contact center (unless ICON_LOG_DIR is set) and run the main job."""
    home = Path(os.environ.setdefault("ICON_HOME", str(Path(args.home).absolute())))
    if not os.environ.get("ICON_LOG_DIR"):
        demo = home / "demo"
        logs = demo / "logs"
        if not logs.exists():
            from simulator import simulate

            _err(f"simulating a small contact center into {demo} ...")
            simulate(demo, profile="small", hours=args.hours, seed=args.seed, progress=_err)
        os.environ["ICON_LOG_DIR"] = str(logs)
        os.environ.setdefault("ICON_CONFIG_SNAPSHOT", str(demo / "config.json"))
        if EXAMPLE_OPTIONS.exists():
            os.environ.setdefault("ICON_OPTIONS", str(EXAMPLE_OPTIONS))
    return _run_everything(args)


def cmd_load(args: argparse.Namespace) -> int:
    """Register the logs and process every hour they cover (or --start/--end) into the IDB."""
    _set_env("ICON_LOG_DIR", args.logs)
    _set_env("ICON_IDB_URL", args.idb)
    _set_env("ICON_DATA_DIR", args.data)
    _set_env("ICON_CONFIG_SNAPSHOT", args.config)
    _set_env("ICON_OPTIONS", args.options)
    if args.logs and not Path(args.logs).is_dir():
        raise FileNotFoundError(f"--logs {args.logs}: not a folder of T-Server log segments")
    return _run_everything(args)


def cmd_backfill(args: argparse.Namespace) -> int:
    """Process a range of hours again (the logs are registered first), in as few runs as the
    backfill policy allows."""
    return _run_everything(args)


def _set_env(name: str, value) -> None:
    if value:
        os.environ[name] = str(Path(value).absolute()) if name != "ICON_IDB_URL" else str(value)


def _hours(args: argparse.Namespace) -> list[str] | None:
    """Partition keys from --start (inclusive) to --end (exclusive); None: every hour with data."""
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if not start and not end:
        return None
    from datetime import datetime, timedelta, timezone

    from dagster_project.runner import hours_between

    def parse(text: str, flag: str) -> datetime:
        try:
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{flag} {text!r}: not an ISO 8601 time (e.g. 2026-03-09T22:00Z)") from None
        return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)

    if not (start and end):
        raise ValueError("give both --start and --end (or neither, for every hour with data)")
    first, last = parse(start, "--start"), parse(end, "--end") - timedelta(microseconds=1)
    if last < first:
        raise ValueError(f"--end {end} is not after --start {start}")
    return hours_between(first, last)


def _run_everything(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    from dagster_project import runner, settings
    from dagster_project.definitions import defs

    instance = runner.local_instance()
    _err(f"logs: {settings.log_dir()}  data: {settings.data_dir()}  "
         f"dagster home: {os.environ['DAGSTER_HOME']}")
    summary = runner.run_all(defs, instance, partition_keys=_hours(args), progress=_err,
                             hours_per_run=getattr(args, "hours_per_run", runner.HOURS_PER_RUN),
                             verbose=not getattr(args, "quiet", False))
    summary.update(runner.idb_summary(defs))
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary))
    if summary["failed_runs"]:
        _err(f"a run failed: {summary.get('error', '')}\n(the run's log is in the Dagster UI: make ui)")
        return 1
    _err("open the Dagster UI with:  make ui   (then http://127.0.0.1:3000)")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from dagster_project import settings
    from dagster_project.explain import ExplainError, explain

    try:
        explain(args.call_uuid, args.idb or settings.idb_url(),
                Path(args.data) if args.data else settings.data_dir())
    except ExplainError as exc:
        _err(f"icon-etl explain: {exc}")
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="icon-etl", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="write a simulated contact center's T-Server logs")
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--profile", default="small", choices=["small", "bep300"])
    s.add_argument("--start", default="2026-03-09T22:00:00Z", help="ISO 8601 UTC start")
    s.add_argument("--hours", type=float, default=3)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--replicas", type=int, default=1, choices=[1, 2])
    s.add_argument("--faults", default=None,
                   help="HA faults in single replicas' logs: a set (default, both_gap) or a spec "
                        "such as 'gap:a:north@1h10m+10m; skew:b:south=+2s' (docs/simulator.md)")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("parse", help="parse log files or folders into Parquet")
    s.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR")
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--workers", type=int, default=None, help="parser processes (default: cores)")
    s.add_argument("--chunk-mb", type=int, default=48, help="bytes read at a time per file")
    s.add_argument("--redact", action="append", metavar="KEY",
                   help="mask the value of this KV key in printed lines (repeatable)")
    s.add_argument("--progress", action="store_true", help="print progress to stderr")
    s.set_defaults(func=cmd_parse)

    s = sub.add_parser("demo", help="simulate (unless ICON_LOG_DIR is set) and run the main job")
    s.add_argument("--home", default="var", help="ICON_HOME when not set (default ./var)")
    s.add_argument("--hours", type=float, default=3)
    s.add_argument("--seed", type=int, default=7)
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("load", help="register a folder of logs and load every hour it covers "
                                    "into the IDB")
    s.add_argument("--logs", required=True, help="log folder (one sub-folder per HA replica, or "
                                                 "the segments directly)")
    s.add_argument("--idb", help="IDB SQLAlchemy URL (default: ICON_IDB_URL or "
                                 "sqlite:///$ICON_HOME/idb.sqlite)")
    s.add_argument("--data", help="data folder (default: ICON_DATA_DIR or $ICON_HOME/data)")
    s.add_argument("--config", help="configuration snapshot (default: ICON_CONFIG_SNAPSHOT or "
                                    "config.json beside the log folder)")
    s.add_argument("--options", help="ICON options file (TOML, docs/options.md)")
    _range_arguments(s, required=False)
    s.set_defaults(func=cmd_load)

    s = sub.add_parser("backfill", help="process a range of hours again (the logs come from "
                                        "ICON_LOG_DIR)")
    _range_arguments(s, required=True)
    s.set_defaults(func=cmd_backfill)

    s = sub.add_parser("explain", help="a call's log events beside the IDB rows they produced")
    s.add_argument("call_uuid", metavar="CALLUUID")
    s.add_argument("--idb", help="IDB SQLAlchemy URL (default: ICON_IDB_URL or the demo's SQLite)")
    s.add_argument("--data", help="data folder with the parse cache (default: ICON_DATA_DIR)")
    s.set_defaults(func=cmd_explain)
    return p


def _range_arguments(s: argparse.ArgumentParser, required: bool) -> None:
    s.add_argument("--start", required=required, help="first hour, ISO 8601 UTC (inclusive)")
    s.add_argument("--end", required=required, help="end, ISO 8601 UTC (exclusive)")
    s.add_argument("--hours-per-run", type=int, default=720,
                   help="hours per Dagster run (default 720: a month is one run)")
    s.add_argument("--quiet", action="store_true", help="no per-partition progress lines")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        _err(f"icon-etl {args.command}: {exc}")
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
