"""The `icon-etl` command line.

Exit codes: 0 done; 1 a run failed, or some hours could not be loaded (the message names the
step or the hours and the cause; every other hour was loaded; the whole log is in the Dagster
UI); 2 bad input or configuration (a missing folder, an options file, attached-data spec or
configuration snapshot that does not validate, a data folder that belongs to another IDB: the
message names the file, the option and the allowed values, or what to do); 3 the environment
cannot be used (the IDB cannot be reached or written, the data folder is not writable or held by
another run with --no-wait, a disk is full). No traceback is printed for any of them.
"""

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


class EnvironmentProblem(RuntimeError):
    """The IDB, the data folder or the Dagster home cannot be used (exit code 3)."""


# errors of a run that are about the machine, not the input (the message gets a hint)
ENVIRONMENT_ERRORS = ("No space left on device", "File too large", "Disk quota exceeded",
                      "Read-only file system", "Permission denied", "Not a directory")


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulator import simulate

    summary = simulate(args.out, profile=args.profile, start=args.start, hours=args.hours,
                       seed=args.seed, replicas=args.replicas, progress=_err, faults=args.faults)
    print(json.dumps(summary, default=str))
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    from transforms.parsing import ParseOptions, parse_to_parquet

    options = ParseOptions(chunk_bytes=args.chunk_mb * 1024 * 1024,
                           redact_keys=frozenset(args.redact or []))
    summary = parse_to_parquet(args.paths, Path(args.out), options, workers=args.workers,
                               progress=_err if args.progress else None)
    print(json.dumps(summary))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Simulate a small contact center (unless ICON_LOG_DIR is set) and run the main job."""
    from dagster_project.settings import Settings

    home = {"home": Path(args.home).absolute()}
    settings = Settings.from_env(defaults=home, workers=args.parallel)
    if not settings.log_dir_given:
        demo = settings.home / "demo"
        if not (demo / "logs").exists():
            from simulator import simulate

            _err(f"simulating a small contact center into {demo} ...")
            simulate(demo, profile="small", hours=args.hours, seed=args.seed, progress=_err)
        settings = Settings.from_env(workers=args.parallel, defaults={
            **home, "log_dir": demo / "logs", "config_snapshot": demo / "config.json",
            "options_file": EXAMPLE_OPTIONS if EXAMPLE_OPTIONS.exists() else None})
    _check_setup(settings)
    return _run_everything(args, settings)


def cmd_load(args: argparse.Namespace) -> int:
    """Register the logs and process every hour they cover (or --start/--end) into the IDB."""
    from dagster_project.settings import Settings

    if not Path(args.logs).is_dir():
        raise FileNotFoundError(f"--logs {args.logs}: not a folder of T-Server log segments")
    settings = Settings.from_env(log_dir=args.logs, idb_url=args.idb, data_dir=args.data,
                                 config_snapshot=args.config, options_file=args.options,
                                 workers=args.parallel)
    _check_setup(settings)
    return _run_everything(args, settings)


def cmd_backfill(args: argparse.Namespace) -> int:
    """Process a range of hours again (the logs are registered first), in as few runs as the
    backfill policy allows."""
    from dagster_project.settings import Settings

    settings = Settings.from_env(workers=args.parallel)
    _check_setup(settings)
    return _run_everything(args, settings)


def _check_setup(settings) -> None:
    """What a run needs, checked before anything is parsed or written: the log folders, the
    options file, the attached-data spec and the configuration snapshot (a problem is exit 2,
    naming the file, the option and the allowed values: nothing falls back silently), then the
    IDB and the data folder (exit 3)."""
    from transforms.config import ConfigError, load_options, load_snapshot, spec_from_options
    from transforms.roles import DataFilters

    root = settings.log_dir
    if not root.is_dir():
        raise FileNotFoundError(f"log folder {root} does not exist (set ICON_LOG_DIR or pass "
                                f"--logs to a folder of T-Server log segments)")
    for name in settings.replica_names:
        if name in (".", "..") or "/" in name or os.sep in name:
            raise ValueError(f"ICON_REPLICAS: {name!r} is not a folder name inside the log "
                             f"folder {root}")
    for replica, folder in settings.replicas().items():
        if not folder.is_dir():
            raise FileNotFoundError(f"replica {replica}: log folder {folder} does not exist "
                                    f"(ICON_REPLICAS names the sub-folders of {root})")
        if not folder.resolve().is_relative_to(root.resolve()):
            raise ValueError(f"replica {replica}: {folder} is a symbolic link to "
                             f"{folder.resolve()}, outside the log folder {root} (never read: "
                             f"put the replica's files in the log folder)")
    options = load_options(settings.options_file)
    spec_from_options(options)
    for warning in DataFilters.from_options(options).warnings():
        _err(f"warning: {warning}")
    snapshot = settings.config_snapshot
    if snapshot.exists():
        load_snapshot(snapshot)
    elif settings.config_snapshot_given:
        raise ConfigError(f"{snapshot}: configuration snapshot not found (--config or "
                          f"ICON_CONFIG_SNAPSHOT)")
    else:
        _err(f"no configuration snapshot at {snapshot}: every party is External and every "
             f"DBID is null (docs/config-snapshot.md)")
    _check_idb(settings.idb_url)
    _check_writable(settings.data_dir, "data folder (--data, ICON_DATA_DIR)")


def _check_binding(settings) -> None:
    """The data folder belongs to this IDB and the IDB to this data folder (exit 2 otherwise,
    with what to do: transforms/idb/binding.py)."""
    from transforms.datafolder import DataFolder
    from transforms.idb import IdbStore, bind

    store = IdbStore(settings.idb_url)
    try:
        bind(store, DataFolder(settings.data_dir))
    finally:
        store.engine.dispose()


def _check_idb(url: str) -> None:
    """The IDB answers and its tables can be created (the password is never printed)."""
    import sqlalchemy as sa

    from transforms.idb import IdbStore, redact_url

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ValueError(f"IDB URL {redact_url(url)!r} is not a SQLAlchemy database URL (e.g. "
                         f"sqlite:///idb.sqlite or postgresql+psycopg://user@host/db)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        _check_writable(Path(parsed.database).absolute().parent, "IDB folder")
    try:
        store = IdbStore(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ValueError(f"IDB URL {redact_url(url)}: {exc}") from None
    try:
        store.create_schema()
    finally:
        store.engine.dispose()


def _check_writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".icon-etl-write-test-{os.getpid()}"
        probe.write_bytes(b"\0" * 4096)
        probe.unlink()
    except OSError as exc:
        raise EnvironmentProblem(f"{what} {folder} is not writable: "
                                 f"{exc.strerror or exc}") from None


def _time_range(args: argparse.Namespace):
    """(first, last) instants of --start (inclusive) .. --end (exclusive); None: every hour
    with data."""
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if not start and not end:
        return None
    from datetime import datetime, timedelta, timezone

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
    return first, last


def _run_everything(args: argparse.Namespace, settings) -> int:
    """Hold the data folder (waiting for a run that holds it, or exit 3 with --no-wait), check
    it belongs to the IDB, then run."""
    from transforms.datafolder import DataFolder, DataFolderBusy

    span = _time_range(args)
    holder = f"icon-etl {args.command}"
    try:
        with DataFolder(settings.data_dir).lock(holder, wait=not getattr(args, "no_wait", False),
                                                on_wait=_err):
            _check_binding(settings)
            return _run_locked(args, settings, span)
    except DataFolderBusy as exc:
        raise EnvironmentProblem(f"{exc} (without --no-wait, icon-etl waits for it)") from None


def _run_locked(args: argparse.Namespace, settings, span) -> int:
    started = time.perf_counter()
    from dagster_project import runner
    from dagster_project.definitions import build_definitions
    from dagster_project.report import hour_failures

    try:
        instance = runner.local_instance(settings.dagster_home)
    except OSError as exc:
        raise EnvironmentProblem(f"Dagster home {settings.dagster_home} cannot be "
                                 f"used: {exc.strerror or exc}") from None
    defs = build_definitions(settings, lock=False)      # this process holds the data folder
    _err(f"logs: {settings.log_dir}  data: {settings.data_dir}  "
         f"dagster home: {settings.dagster_home}")
    # a failed step is one line of the summary naming the step and the error: Dagster's console
    # log (with its stack traces) stays quiet; the whole log is in the instance (the UI)
    summary = runner.run_all(
        defs, instance, span=span, rebuild=lambda: build_definitions(settings, lock=False),
        progress=_err,
        hours_per_run=getattr(args, "hours_per_run", runner.HOURS_PER_RUN),
        verbose=not getattr(args, "quiet", False),
        checks=not getattr(args, "no_checks", False), console_level="CRITICAL",
        changed_only=getattr(args, "changed", False))
    failures = hour_failures(defs.resources["logs"], _hours_of(summary))
    summary["failed_hours"] = len({line.split(" ", 1)[0] for line in failures})
    summary.update(runner.idb_summary(defs))
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary))
    _report_input_problems(defs, _hours_of(summary))
    if failures and not summary["failed_runs"]:
        _err_list(f"{summary['failed_hours']} hour(s) not loaded or not complete; every other "
                  f"hour was loaded (fix the cause and run the same command again):", failures,
                  "the data folder's failures/ lists them all")
        return 1
    if summary["failed_runs"]:
        error = summary.get("error", "")
        _err(f"a run failed: {error}\n(the run's log is in the Dagster UI: make ui)")
        if any(marker in error for marker in ENVIRONMENT_ERRORS):
            _err(f"the data folder ({settings.data_dir}), the Dagster home or the IDB could not "
                 f"be written: free space or fix permissions, then run the same command again")
            return 3
        return 1
    _err("open the Dagster UI with:  make ui   (then http://127.0.0.1:3000)")
    return 0


MAX_PROBLEM_LINES = 20


def _hours_of(summary: dict) -> list[str]:
    """The hours a load processed (from its summary)."""
    if "first_hour" not in summary:
        return []
    from transforms.hours import hour_start, keys_between

    return keys_between(hour_start(summary["first_hour"]), hour_start(summary["last_hour"]))


def _report_input_problems(defs, hours: list[str]) -> None:
    """Damaged segments (with their quarantined lines), copies read once, events logged more than
    once, paths of the log folders that were not read: the run went on without them."""
    from dagster_project.report import input_problems

    lines = input_problems(defs.resources["logs"], hours)
    if lines:
        _err_list(f"input problems ({len(lines)}; the good data was loaded, the quarantined "
                  f"lines are in the parse cache with file, line and reason):", lines,
                  "the segment registry lists them all")


def _err_list(title: str, lines: list[str], where_all: str) -> None:
    """A title and at most MAX_PROBLEM_LINES lines under it (then where to find the rest)."""
    _err(title)
    for line in lines[:MAX_PROBLEM_LINES]:
        _err(f"  {line}")
    if len(lines) > MAX_PROBLEM_LINES:
        _err(f"  ... and {len(lines) - MAX_PROBLEM_LINES} more ({where_all})")


def cmd_explain(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from dagster_project.settings import Settings
    from transforms.datafolder import DataFolder
    from transforms.idb import (
        ExplainError,
        IdbError,
        describe_db_error,
        explain_call,
        explain_chain,
        redact_url,
    )

    settings = Settings.from_env(idb_url=args.idb, data_dir=args.data)
    data = DataFolder(settings.data_dir)
    try:
        try:
            explain_call(args.call_uuid, settings.idb_url, data)
        except ExplainError:   # not a call: an outbound chain processing attempt?
            explain_chain(args.call_uuid, settings.idb_url, data)
    except ExplainError:
        _err(f"icon-etl explain: {args.call_uuid} is neither a call (G_CALL.CALLID) nor an "
             f"outbound chain (GO_CHAIN.CHAINGUID) in the IDB {redact_url(settings.idb_url)}")
        return 1
    except sa.exc.DBAPIError as exc:
        raise IdbError(f"IDB {redact_url(settings.idb_url)}: {describe_db_error(exc)}") from None
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Draw the interval reports (ETL_KPI_*) of an IDB into one HTML page, DIR/index.html."""
    import sqlalchemy as sa

    from dagster_project.settings import Settings
    from transforms.idb import IdbError, describe_db_error, redact_url
    from transforms.reports import read_kpis, render_page

    url = Settings.from_env(idb_url=args.idb).idb_url
    store = _idb_store(url)
    first, last = _report_hour(args.from_hour, "--from"), _report_hour(args.to_hour, "--to")
    try:
        have = {n.upper() for n in sa.inspect(store.engine).get_table_names()}
        kpis = read_kpis(store, first, last) if "ETL_KPI_QUEUE" in have else None
    except sa.exc.DBAPIError as exc:
        raise IdbError(f"IDB {redact_url(url)}: {describe_db_error(exc)}") from None
    finally:
        store.engine.dispose()
    if kpis is None or all(frame.height == 0 for frame in kpis.values()):
        _err(f"icon-etl report: the IDB {redact_url(url)} has no interval KPI rows"
             f"{' in the hours asked for' if first or last else ''}: run `icon-etl load` first "
             f"(it materializes reports/kpi)")
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    page.write_text(render_page(kpis), encoding="utf-8")
    print(page)
    return 0


def _report_hour(text: str | None, flag: str) -> str | None:
    """An hour key (`2026-03-09-23:00`) from a key or an ISO 8601 UTC time."""
    if not text:
        return None
    from datetime import datetime, timezone

    from transforms.hours import KEY_FORMAT, key_of

    for parse in (lambda t: datetime.strptime(t, KEY_FORMAT),
                  lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))):
        try:
            ts = parse(text)
        except ValueError:
            continue
        return key_of(ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc))
    raise ValueError(f"{flag} {text!r}: not an hour (2026-03-09-23:00 or 2026-03-09T23:00Z)")


def cmd_purge(args: argparse.Namespace) -> int:
    """Remove from the IDB, in batches, what ended before --before (docs/purge.md): terminated
    interactions, closed login sessions, ended outbound attempts; --dry-run counts only. Every
    run is recorded in G_LOG_MESSAGES."""
    import sqlalchemy as sa

    from dagster_project.settings import Settings
    from transforms.config import load_options
    from transforms.idb import IdbError, describe_db_error, redact_url
    from transforms.idb.purge import (
        BATCH_OPTION,
        FAMILIES,
        iso_time,
        parse_cutoff,
        plan_purge,
        purge,
    )

    try:
        cutoff = parse_cutoff(args.before)
    except ValueError as exc:
        raise ValueError(f"--before {exc}") from None
    settings = Settings.from_env(idb_url=args.idb, options_file=args.options)
    batch = args.batch_size or int(load_options(settings.options_file).get("icon-etl",
                                                                           BATCH_OPTION))
    families = [f for f in FAMILIES if f in (args.family or FAMILIES)]
    url = settings.idb_url
    store = _existing_idb(url)
    try:
        plan = plan_purge(store, cutoff, families)
        _err(f"purge {'(dry run) ' if args.dry_run else ''}of {redact_url(url)}, cut-off "
             f"{iso_time(cutoff)}, {batch} entities a batch: "
             + ", ".join(f"{p.entities} {f} entities ({p.held} ended but held)"
                         for f, p in plan.families.items()))
        report = purge(store, plan, batch, dry_run=args.dry_run, progress=_err)
    except sa.exc.DBAPIError as exc:
        raise IdbError(f"IDB {redact_url(url)}: {describe_db_error(exc)}") from None
    finally:
        store.engine.dispose()
    removed = {name: n for name, n in report.rows.items() if n}
    width = max([len(name) for name in removed] + [len("total")])
    print(f"{'table':<{width}}  {'rows to remove' if args.dry_run else 'rows removed'}")
    for name, n in removed.items():
        print(f"{name:<{width}}  {n:>12}")
    print(f"{'total':<{width}}  {report.total_rows:>12}")
    print("entities: " + ", ".join(f"{f} {report.entities[f]}" for f in report.entities)
          + f"  ({report.batches} batch(es), {report.seconds:.1f} s, run {report.run_id}"
          + (", dry run: nothing removed)" if args.dry_run else ")"))
    return 0


def _idb_store(url: str):
    """The store of the IDB at `url`: a clear error for a URL SQLAlchemy cannot use or a
    SQLite file that does not exist (nothing is created)."""
    import sqlalchemy as sa

    from transforms.idb import IdbStore, redact_url

    try:
        parsed = sa.engine.make_url(url)
        store = IdbStore(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ValueError(f"IDB URL {redact_url(url)!r} is not a usable SQLAlchemy database URL "
                         f"(e.g. sqlite:///var/idb.sqlite): {exc}") from None
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise FileNotFoundError(f"IDB {redact_url(url)}: no such SQLite file (--idb)")
    return store


def _existing_idb(url: str):
    """The store of an IDB that exists and has the IDB's tables (missing newer tables are
    added, as a load would); a clear error otherwise."""
    import sqlalchemy as sa

    from transforms.idb import IdbError, describe_db_error, redact_url

    store = _idb_store(url)
    try:
        have = {n.upper() for n in sa.inspect(store.engine).get_table_names()}
        if not have & {"G_CALL", "G_LOGIN_SESSION", "GO_CAMPAIGN"}:
            store.engine.dispose()
            raise ValueError(f"IDB {redact_url(url)} has no IDB tables: nothing to purge "
                             f"(`icon-etl load` creates them)")
        store.create_schema()
    except sa.exc.DBAPIError as exc:
        store.engine.dispose()
        raise IdbError(f"IDB {redact_url(url)}: {describe_db_error(exc)}") from None
    return store


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
    s.add_argument("--no-wait", action="store_true",
                   help="when another run holds the data folder, exit at once (code 3)")
    _parallel_argument(s)
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("load", help="register a folder of logs and load every hour it covers "
                                    "into the IDB")
    s.add_argument("--logs", required=True, help="log folder (one sub-folder per HA replica, or "
                                                 "the segments directly)")
    s.add_argument("--idb", help="IDB SQLAlchemy URL (default: ICON_IDB_URL or "
                                 "sqlite:///$ICON_HOME/idb.sqlite)")
    s.add_argument("--data", help="data folder (default: ICON_DATA_DIR or $ICON_HOME/data)")
    s.add_argument("--config", help="configuration snapshot, or a folder of dated snapshots "
                                    "(a configuration history; docs/config-snapshot.md) "
                                    "(default: ICON_CONFIG_SNAPSHOT or config.json beside the "
                                    "log folder)")
    s.add_argument("--options", help="ICON options file (TOML, docs/options.md)")
    _range_arguments(s, required=False)
    s.set_defaults(func=cmd_load)

    s = sub.add_parser("backfill", help="process a range of hours again (the logs come from "
                                        "ICON_LOG_DIR)")
    _range_arguments(s, required=True)
    s.add_argument("--changed", action="store_true",
                   help="rebuild only what the rules (options, attached-data spec, "
                        "configuration) changed since these hours were written, and what "
                        "depends on it; the other tables are left untouched")
    s.set_defaults(func=cmd_backfill)

    s = sub.add_parser("explain", help="a call's (or an outbound chain's) log events beside the "
                                       "IDB rows they produced")
    s.add_argument("call_uuid", metavar="CALLUUID|CHAINGUID")
    s.add_argument("--idb", help="IDB SQLAlchemy URL (default: ICON_IDB_URL or the demo's SQLite)")
    s.add_argument("--data", help="data folder with the parse cache (default: ICON_DATA_DIR)")
    s.set_defaults(func=cmd_explain)

    s = sub.add_parser("report", help="the interval reports (queues, agents) of an IDB as one "
                                      "HTML page of charts, DIR/index.html")
    s.add_argument("--idb", help="IDB SQLAlchemy URL (default: ICON_IDB_URL or the demo's SQLite)")
    s.add_argument("--out", required=True, type=Path, metavar="DIR")
    s.add_argument("--from", dest="from_hour", metavar="HOUR",
                   help="first hour (2026-03-09-23:00 or ISO 8601 UTC; default: the first)")
    s.add_argument("--to", dest="to_hour", metavar="HOUR", help="last hour (default: the last)")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("purge", help="remove, in batches, the interactions, login sessions and "
                                     "outbound attempts that ended before a cut-off "
                                     "(docs/purge.md)")
    s.add_argument("--before", required=True, metavar="ISO",
                   help="cut-off, ISO 8601 (UTC unless a zone is given): what ended before it "
                        "is removed")
    s.add_argument("--idb", help="IDB SQLAlchemy URL (default: ICON_IDB_URL or the demo's SQLite)")
    s.add_argument("--dry-run", action="store_true",
                   help="count what would be removed, remove nothing (the run is recorded)")
    s.add_argument("--family", action="append", choices=["interactions", "sessions", "outbound"],
                   help="only this family (repeatable; default: all three)")
    s.add_argument("--batch-size", type=_positive, default=None, metavar="N",
                   help="entities removed per transaction (default: [icon-etl] "
                        "purge-batch-size, 1000)")
    s.add_argument("--options", help="ICON options file (TOML, docs/options.md; default: "
                                     "ICON_OPTIONS)")
    s.set_defaults(func=cmd_purge)
    return p


def _parallel_argument(s: argparse.ArgumentParser) -> None:
    s.add_argument("--parallel", type=_positive, default=None, metavar="N",
                   help="hours (and segments) processed at once (default: ICON_WORKERS or the "
                        "number of cores, at most 8)")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of at least 1")
    return int(text)


def _range_arguments(s: argparse.ArgumentParser, required: bool) -> None:
    _parallel_argument(s)
    s.add_argument("--start", required=required, help="first hour, ISO 8601 UTC (inclusive)")
    s.add_argument("--end", required=required, help="end, ISO 8601 UTC (exclusive)")
    s.add_argument("--hours-per-run", type=int, default=720,
                   help="hours per Dagster run (default 720: a month is one run)")
    s.add_argument("--quiet", action="store_true", help="no per-partition progress lines")
    s.add_argument("--no-checks", action="store_true",
                   help="skip the data-quality checks (faster bulk loads; run them later in the UI)")
    s.add_argument("--no-wait", action="store_true",
                   help="when another run holds the data folder, exit at once (code 3) instead "
                        "of waiting for it")


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
    except Exception as exc:  # noqa: BLE001  (an environment problem: one line, no traceback)
        from transforms.idb import IdbError

        if not isinstance(exc, (IdbError, EnvironmentProblem, OSError)):
            raise
        _err(f"icon-etl {args.command}: {exc}")
        return 3


if __name__ == "__main__":
    sys.exit(main())
