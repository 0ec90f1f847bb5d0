"""IDB tables by ICON role, one line per replica: hourly, with the open entities' events carried
from each hour to the next (docs/architecture.md). Outputs are staged as Parquet; the HA
reconciliation asset then picks, per entity, the replica the IDB takes it from."""

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from assets.ingest import _preview, parsed_key
from dagster_project.partitions import HOURLY
from dagster_project.resources import IconConfig, LogStorage
from transforms.carry import Window, carry_out, with_sources
from transforms.gcc.build import build_gcc

ROLE_GROUP = "idb_by_role"


class PartitionOrderError(RuntimeError):
    """An hour was asked for before the hour it continues from."""


def role_key(replica: str, role: str) -> dg.AssetKey:
    return dg.AssetKey([f"replica_{replica}", role])


def previous_key(key: str) -> str:
    start = HOURLY.time_window_for_partition_key(key).start
    return (start - timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")


def read_window(folder: Path) -> Window | None:
    if not (folder / "events.parquet").exists():
        return None
    return Window(pl.read_parquet(folder / "events.parquet"), pl.read_parquet(folder / "kvpairs.parquet"))


def write_staged(final: Path, frames: dict[str, pl.DataFrame]) -> None:
    """Write a folder of Parquet files atomically (aside, then renamed into place)."""
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, frame in frames.items():
        path = staging / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)


def hour_window(logs: LogStorage, replica: str, key: str, registry: pl.DataFrame) -> Window:
    folder = logs.parsed_dir(replica, key)
    if not (folder / "events.parquet").exists():
        raise PartitionOrderError(
            f"parsed events of {replica} {key} are missing: materialize "
            f"{parsed_key(replica).to_user_string()} for {key} first")
    events = pl.read_parquet(folder / "events.parquet")
    kvpairs = pl.read_parquet(folder / "kvpairs.parquet")
    return Window(with_sources(events, registry, replica), kvpairs)


def carried_in(logs: LogStorage, replica: str, role: str, key: str, registry: pl.DataFrame) -> Window:
    """The open entities carried from the previous hour; nothing when no data precedes `key`."""
    prev = previous_key(key)
    carry = read_window(logs.role_dir(replica, role, prev) / "carry")
    if carry is not None:
        return carry
    start = HOURLY.time_window_for_partition_key(key).start
    live = registry.filter(pl.col("duplicate_of").is_null() & pl.col("first_ts").is_not_null())
    if live.height and live["first_ts"].min() < start:
        raise PartitionOrderError(
            f"{role} of replica {replica}: the hour before {key} ({prev}) has not been processed, "
            f"and log data exists before {key}; process hours in order (a backfill from the first "
            f"hour with data, or `icon-etl load`)")
    return Window.empty()


def run_role_hour(logs: LogStorage, replica: str, role: str, key: str, registry: pl.DataFrame,
                  build: Callable[[Window, str], tuple[dict[str, pl.DataFrame], pl.DataFrame,
                                                        pl.DataFrame, pl.DataFrame]]) -> dict:
    """Carry in, build, carry out, stage. `build(window, key)` returns (tables, status,
    open keys, event keys) where event keys map (file_id, line) -> key."""
    window = carried_in(logs, replica, role, key, registry) + hour_window(logs, replica, key, registry)
    tables, status, open_keys, event_keys = build(window, key)
    carry = carry_out(window, open_keys, event_keys)
    write_staged(logs.role_dir(replica, role, key), {
        **{f"tables/{name}": frame for name, frame in tables.items()},
        "status": status, "carry/events": carry.events, "carry/kvpairs": carry.kvpairs})
    return {"events": window.events.height, "carried_out": carry.events.height,
            "rows": sum(f.height for f in tables.values()),
            "open": int(status["open"].sum()) if status.height else 0, "tables": tables}


def monitored_switches(registry: pl.DataFrame, icon_switches: pl.DataFrame) -> set[str]:
    apps = set(registry.filter(pl.col("duplicate_of").is_null())["app"].drop_nulls().to_list())
    return set(icon_switches.filter(pl.col("app").is_in(list(apps)))["switch"].to_list())


def build_role_assets(replica: str) -> list[dg.AssetsDefinition]:
    key = role_key(replica, "gcc")

    @dg.asset(
        key=key,
        deps=[parsed_key(replica),
              dg.AssetDep(key, partition_mapping=dg.TimeWindowPartitionMapping(
                  start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True))],
        partitions_def=HOURLY,
        group_name=ROLE_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(f"Interactions, calls and parties (ICON role gcc) of replica {replica!r}: "
                     "G_IR, G_CALL, G_PARTY with their histories, statistics, routing results, "
                     "virtual-queue stays and inter-site links, staged as Parquet. Calls still "
                     "open at the end of the hour carry their events into the next hour."),
    )
    def gcc(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        options = icon.gcc_options()
        registry = logs.segments(replica).registry()
        monitored = monitored_switches(registry, config.switches())

        def build(window: Window, part: str):
            result = build_gcc(window.events, window.kvpairs, config, part, options, monitored)
            open_keys = pl.DataFrame({"key": sorted(result.open_groups)}, schema={"key": pl.String})
            status = result.calls.rename({"call": "entity"})
            return result.tables, status, open_keys, result.event_groups

        totals = {"events": 0, "rows": 0, "carried_out": 0}
        last = None
        for part in context.partition_keys:
            last = run_role_hour(logs, replica, "gcc", part, registry, build)
            for name in totals:
                totals[name] += last[name]
            context.log.info(f"gcc {replica} {part}: {last['events']:,} events, {last['rows']:,} rows, "
                             f"{last['open']} calls open")
        metadata = {**totals, "open_calls_at_end": last["open"] if last else 0,
                    "partitions": len(context.partition_keys),
                    "configuration": icon.snapshot or "(none: every party External)"}
        if last:
            metadata["calls_preview"] = dg.MetadataValue.md(_preview(last["tables"]["G_CALL"].select(
                "CALLID", "CALLTYPE", "STATE", "CREATED", "TERMINATED", "PARENTCALLID", "MERGECALLID")))
        return dg.MaterializeResult(metadata=metadata)

    return [gcc]
