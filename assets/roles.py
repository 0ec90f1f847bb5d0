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
from transforms.gls.build import build_gls
from transforms.gud.build import build_gud

ROLE_GROUP = "idb_by_role"


class PartitionOrderError(RuntimeError):
    """An hour was asked for before the hour it continues from."""


def role_key(replica: str, role: str) -> dg.AssetKey:
    return dg.AssetKey([f"replica_{replica}", role])


def previous_key(key: str) -> str:
    start = HOURLY.time_window_for_partition_key(key).start
    return (start - timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")


def read_staged(folder: Path) -> tuple[dict[str, pl.DataFrame], pl.DataFrame] | None:
    """A role's staged output of one hour: (tables, status), or None when not materialized."""
    if not (folder / "status.parquet").exists():
        return None
    tables = {p.stem: pl.read_parquet(p) for p in sorted((folder / "tables").glob("*.parquet"))}
    return tables, pl.read_parquet(folder / "status.parquet")


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
                                                        pl.DataFrame, pl.DataFrame]],
                  carry_more: Callable[[Window], dict[str, pl.DataFrame]] | None = None) -> dict:
    """Carry in, build, carry out, stage. `build(window, key)` returns (tables, status,
    open keys, event keys) where event keys map (file_id, line) -> key. `carry_more(carried)`
    adds frames of the role's own to the carry (e.g. context the carried entities still need)."""
    window = carried_in(logs, replica, role, key, registry) + hour_window(logs, replica, key, registry)
    tables, status, open_keys, event_keys = build(window, key)
    carry = carry_out(window, open_keys, event_keys)
    extra = carry_more(carry) if carry_more else {}
    write_staged(logs.role_dir(replica, role, key), {
        **{f"tables/{name}": frame for name, frame in tables.items()},
        "status": status, "carry/events": carry.events, "carry/kvpairs": carry.kvpairs,
        **{f"carry/{name}": frame for name, frame in extra.items()}})
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

    return [gcc, build_gud_asset(replica), build_gls_asset(replica)]


def build_gud_asset(replica: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=role_key(replica, "gud"),
        deps=[parsed_key(replica), role_key(replica, "gcc")],
        partitions_def=HOURLY,
        group_name=ROLE_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(f"Attached data (ICON role gud) of replica {replica!r}: G_USERDATA_HISTORY, "
                     "G_SECURE_USERDATA_HISTORY and the G_CALL_USERDATA* tables, per the "
                     "attached-data specification. Reads the same window as gcc and takes each "
                     "change's PartyID and CSeq from gcc's parties."),
    )
    def gud(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        spec = icon.adata_spec()
        history = icon.options().get("callconcentrator", "adata-userdata-history")
        registry = logs.segments(replica).registry()
        rows: dict[str, int] = {}
        for part in context.partition_keys:
            staged = read_staged(logs.role_dir(replica, "gcc", part))
            if staged is None:
                raise PartitionOrderError(f"gud of replica {replica} {part} needs gcc of the same "
                                          f"hour: materialize {role_key(replica, 'gcc').to_user_string()}")
            gcc_tables, status = staged
            window = carried_in(logs, replica, "gcc", part, registry) + \
                hour_window(logs, replica, part, registry)
            tables = build_gud(window.events, window.kvpairs, config, gcc_tables, spec, history, part)
            write_staged(logs.role_dir(replica, "gud", part),
                         {**{f"tables/{n}": f for n, f in tables.items()}, "status": status})
            for n, f in tables.items():
                rows[n] = rows.get(n, 0) + f.height
            context.log.info(f"gud {replica} {part}: {sum(f.height for f in tables.values()):,} rows")
        # key names and counts only: attached-data values can be personal or secure
        return dg.MaterializeResult(metadata={
            **{f"rows_{n}": k for n, k in rows.items()}, "partitions": len(context.partition_keys),
            "attached_data_spec": spec.source, "secure_keys": len(spec.secure_keys),
            "adata_userdata_history": history})

    return gud


PARTY_LOOKUP = ["PARTYID", "CALLID", "ENDPOINTDN", "CREATED"]


def build_gls_asset(replica: str) -> dg.AssetsDefinition:
    key = role_key(replica, "gls")

    @dg.asset(
        key=key,
        deps=[parsed_key(replica), role_key(replica, "gcc"),
              dg.AssetDep(key, partition_mapping=dg.TimeWindowPartitionMapping(
                  start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True))],
        partitions_def=HOURLY,
        group_name=ROLE_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(f"Agent login sessions and states (ICON role gls) of replica {replica!r}: "
                     "G_LOGIN_SESSION, GX_SESSION_ENDPOINT, G_AGENT_STATE_HISTORY, "
                     "G_AGENT_STATE_RC(_A), G_DND_HISTORY. Sessions still open at the end of the "
                     "hour carry their events (and the parties of their calls) to the next hour."),
    )
    def gls(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        options = icon.options()
        registry = logs.segments(replica).registry()
        totals = {"events": 0, "rows": 0, "carried_out": 0}
        last = None
        for part in context.partition_keys:
            parties = _party_lookup(logs, replica, part)

            def build(window: Window, p: str, parties=parties):
                r = build_gls(window.events, window.kvpairs, config, p, options, parties)
                return r.tables, r.status, r.open_keys, r.event_keys

            def carry_more(carried: Window, parties=parties) -> dict[str, pl.DataFrame]:
                # the parties carried sessions may still need: those created since their first event
                since = carried.events["ts"].min()
                keep = parties.clear() if since is None else parties.filter(
                    pl.col("CREATED") >= since.replace(tzinfo=None))
                return {"parties": keep}

            last = run_role_hour(logs, replica, "gls", part, registry, build, carry_more)
            for name in totals:
                totals[name] += last[name]
            context.log.info(f"gls {replica} {part}: {last['events']:,} events, {last['rows']:,} rows, "
                             f"{last['open']} sessions open")
        metadata = {**totals, "open_sessions_at_end": last["open"] if last else 0,
                    "partitions": len(context.partition_keys)}
        if last:
            metadata["sessions_preview"] = dg.MetadataValue.md(_preview(
                last["tables"]["G_LOGIN_SESSION"].select(
                    "LOGINSESSIONID", "AGENTID", "STATE", "CREATED", "TERMINATED", "ETL_CLOSED_BY")))
        return dg.MaterializeResult(metadata=metadata)

    return gls


def _party_lookup(logs: LogStorage, replica: str, part: str) -> pl.DataFrame:
    """G_PARTY rows for PARTYID lookups: carried from the previous gls hour plus this hour's gcc
    output (the latest row of each party)."""
    staged = read_staged(logs.role_dir(replica, "gcc", part))
    if staged is None:
        raise PartitionOrderError(f"gls of replica {replica} {part} needs gcc of the same hour: "
                                  f"materialize {role_key(replica, 'gcc').to_user_string()}")
    frames = [staged[0]["G_PARTY"].select(PARTY_LOOKUP)]
    carried = logs.role_dir(replica, "gls", previous_key(part)) / "carry" / "parties.parquet"
    if carried.exists():
        frames.insert(0, pl.read_parquet(carried))
    return pl.concat(frames, how="vertical_relaxed").unique("PARTYID", keep="last",
                                                             maintain_order=True)