"""Run the asset graph in-process over a range of hours (used by `icon-etl demo`, `load` and
`backfill`).

Unpartitioned assets (the segment registries) run first; partitioned ones then run as ranged
single runs of `hours_per_run` hours each (default 720: a month is one run), in time order,
against a real Dagster instance so that the runs show up in the UI.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg

from assets.progress import PROGRESS_LOGGER
from transforms.hours import hour_start, keys_between


def quiet(console_level: str = "WARNING") -> dict:
    """Run config for in-process runs: they print our own progress lines, and Dagster's
    step-by-step log stays in the instance (visible in the UI) instead of flooding the terminal.
    A new dict each time: nothing shared between runs is changed."""
    return {"loggers": {"console": {"config": {"log_level": console_level}}}}


RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# one run per 30 days of hours: the assets loop over their hours in order inside the run, so a
# month-long backfill is one ranged run (the two tags above), not 720
HOURS_PER_RUN = 720


def local_instance(home: Path) -> dg.DagsterInstance:
    """The local Dagster instance in `home` (DAGSTER_HOME; created with telemetry off)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_config(str(home))


def hour_keys(defs: dg.Definitions, first: datetime, last: datetime) -> list[str]:
    """Keys of every hour from `first` to `last` (inclusive) that the graph's hourly
    partitioning has (none before its start)."""
    hourly = _hourly(defs)
    if hourly is None:
        return []
    keys = [k for k in keys_between(first, last) if hour_start(k) >= hourly.start]
    if not keys:
        return []
    known = set(hourly.get_partition_keys_in_range(dg.PartitionKeyRange(keys[0], keys[-1])))
    return [k for k in keys if k in known]


def _hourly(defs: dg.Definitions) -> dg.PartitionsDefinition | None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if graph.get(key).partitions_def is not None:
            return graph.get(key).partitions_def
    return None


@contextlib.contextmanager
def progress_lines(progress: Callable[[str], None] | None) -> Iterator[None]:
    """While the block runs, the assets' progress lines (assets/progress.py) go to `progress`."""
    if progress is None:
        yield
        return
    handler = _Forward(progress)
    logger = logging.getLogger(PROGRESS_LOGGER)
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class _Forward(logging.Handler):
    def __init__(self, progress: Callable[[str], None]):
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self.progress(record.getMessage())


def data_span(defs: dg.Definitions) -> tuple[datetime, datetime] | None:
    """First and last event time over every replica's registry."""
    return defs.resources["logs"].span()


def run_all(defs: dg.Definitions, instance: dg.DagsterInstance,
            partition_keys: list[str] | None = None,
            progress: Callable[[str], None] = print, hours_per_run: int = HOURS_PER_RUN,
            verbose: bool = False, checks: bool = True,
            console_level: str = "WARNING",
            span: tuple[datetime, datetime] | None = None,
            rebuild: Callable[[], dg.Definitions] | None = None,
            changed_only: bool = False) -> dict:
    """Materialize unpartitioned assets, then every partition (the hours of `span`, or all
    hours with data, unless `partition_keys` are given). `rebuild()`: the definitions again once
    the logs are registered (their partitions start at the first registered hour, which may be
    earlier than before). `verbose`: also print each asset's per-partition progress lines;
    `checks=False` leaves the data-quality asset checks out (they can be run later from the
    UI); `console_level`: what of Dagster's own log reaches the terminal. `changed_only`: of the
    hourly assets, only those whose rules changed since these hours were written
    (`changed_selection`) and what depends on them."""
    all_assets, unpartitioned, partitioned = _selection(defs, checks)
    if changed_only:
        # the logs are not registered again: only the hours already there are rebuilt
        unpartitioned = changed_selection(defs, instance, None)
        rebuild = None
    summary: dict = {"runs": 0, "partitions": 0, "failed_runs": 0}
    with progress_lines((lambda m: progress(f"    {m}")) if verbose else None):
        if unpartitioned:
            progress(f"registering log segments ({len(unpartitioned)} assets)")
            result = dg.materialize(all_assets, selection=unpartitioned, instance=instance,
                                    resources=defs.resources, raise_on_error=False,
                                    run_config=quiet(console_level))
            summary["runs"] += 1
            if not result.success:
                summary["failed_runs"] += 1
                summary["error"] = _first_error(result)
                return summary
        if rebuild is not None:
            defs = rebuild()
            all_assets, unpartitioned, partitioned = _selection(defs, checks)
        resources = defs.resources
        if partition_keys is None:
            span = span or data_span(defs)
            partition_keys = hour_keys(defs, *span) if span else []
            outside = len(keys_between(*span)) - len(partition_keys) if span else 0
            if outside:
                progress(f"{outside} hours of logs are before the partitions' first hour "
                         f"(ICON_PARTITIONS_START) and are not loaded")
                summary["hours_before_partitions"] = outside
        summary["partitions"] = len(partition_keys)
        if partition_keys:
            summary["first_hour"], summary["last_hour"] = partition_keys[0], partition_keys[-1]
        if changed_only and partition_keys:
            partitioned = changed_selection(defs, instance, partition_keys)
            summary["changed_assets"] = [k.to_user_string() for k in partitioned]
            progress(f"rules changed: {len(partitioned)} hourly assets to rebuild"
                     + (f" ({', '.join(summary['changed_assets'][:8])}"
                        f"{', …' if len(partitioned) > 8 else ''})" if partitioned else ""))
        if not partition_keys or not partitioned:
            return summary
        progress(f"processing {len(partition_keys)} hourly partitions "
                 f"{partition_keys[0]} .. {partition_keys[-1]}")
        for i in range(0, len(partition_keys), hours_per_run):
            chunk = partition_keys[i:i + hours_per_run]
            result = dg.materialize(all_assets, selection=partitioned, instance=instance,
                                    resources=resources, raise_on_error=False,
                                    run_config=quiet(console_level), tags={RANGE_START: chunk[0], RANGE_END: chunk[-1]})
            summary["runs"] += 1
            progress(f"  {chunk[0]} .. {chunk[-1]}: {'ok' if result.success else 'FAILED'}")
            if not result.success:
                summary["failed_runs"] += 1
                summary["error"] = _first_error(result)
                break
    return summary


def _selection(defs: dg.Definitions, checks: bool) -> tuple[list, list, list]:
    """Everything a run may select (the checks too, unless not `checks`), the unpartitioned
    asset keys and the partitioned ones."""
    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    return (list(defs.assets or []) + (list(defs.asset_checks or []) if checks else []),
            [k for k in keys if not graph.get(k).is_partitioned],
            [k for k in keys if graph.get(k).is_partitioned])


def changed_selection(defs: dg.Definitions, instance: dg.DagsterInstance,
                      partition_keys: list[str] | None) -> list[dg.AssetKey]:
    """The hourly assets (the unpartitioned ones when `partition_keys` is None) whose code
    version (the version of their rules: options, attached-data spec, configuration;
    transforms/config/versions.py) differs from the one any of `partition_keys` was last
    materialized with, or that have an hour never materialized, and every asset of the same kind
    downstream of them."""
    graph = defs.resolve_asset_graph()
    kind = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable
            and graph.get(k).is_partitioned == (partition_keys is not None)}
    roots = [key for key in sorted(kind, key=lambda k: k.to_user_string())
             if graph.get(key).code_version is not None
             and any(seen != graph.get(key).code_version
                     for seen in _written_versions(instance, key, partition_keys))]
    if not roots:
        return []
    below = dg.AssetSelection.assets(*roots).downstream().resolve(graph)
    return sorted(below & kind, key=lambda k: k.to_user_string())


def _written_versions(instance: dg.DagsterInstance, key: dg.AssetKey,
                      partition_keys: list[str] | None) -> list[str | None]:
    """The code version each of `partition_keys` (or the unpartitioned asset) was last
    materialized with; None for one never materialized."""
    from dagster._core.definitions.data_version import extract_data_provenance_from_entry

    if partition_keys is None:
        return [instance.get_latest_materialization_code_versions([key])[key]]
    seen: dict[str, str | None] = {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=partition_keys),
        limit=len(partition_keys) * 50).records
    for record in records:      # newest first
        provenance = extract_data_provenance_from_entry(record.event_log_entry)
        seen.setdefault(record.partition_key, provenance.code_version if provenance else None)
    return [seen.get(p) for p in partition_keys]


def _first_error(result) -> str:
    """The first failed step's error message (what the user needs to act on)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            return f"{event.step_key}: {step_cause(event)}"
    return "a step failed (see the run in the Dagster UI)"


def step_cause(event: dg.DagsterEvent) -> str:
    """What made a step fail: the error its code raised, not Dagster's wrapper around it."""
    error = event.step_failure_data.error if event.step_failure_data else None
    if error is None:
        return event.message or ""
    return (error.cause or error).message.strip()


def idb_summary(defs: dg.Definitions) -> dict:
    """Rows per IDB table and parsed events, for the final summary line."""
    from transforms.idb import BOOKKEEPING, TABLES, IdbStore

    store = IdbStore(defs.resources["idb"].url)
    logs = defs.resources["logs"]
    events = 0
    for replica in logs.replica_folders():
        events += int(logs.segments(replica).originals()["events"].sum() or 0)
    try:
        rows = {name: store.count(name) for name in TABLES
                if TABLES[name].role != "cfg" and name not in BOOKKEEPING}
    except Exception as exc:  # the IDB was never created (the run failed before)  # noqa: BLE001
        return {"events": events, "rows": {}, "idb_error": str(exc).splitlines()[0]}
    return {"events": events, "rows": {k: v for k, v in rows.items() if v}}
