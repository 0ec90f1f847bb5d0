"""IDB tables by ICON role, built hour by hour from the reconciled event stream (every
replica's events, holes filled: assets/ha.py), with the open entities' events carried from each
hour to the next (docs/architecture.md). Outputs are staged as Parquet; the IDB assets write
them."""

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from assets.ha import RECONCILED_KEY, events_dir, load_clock, write_staged
from assets.ingest import _preview
from assets.partitions import HOURLY
from assets.progress import report
from assets.resources import IconConfig, LogStorage
from transforms.roles.carry import Window, carry_out
from transforms.roles.gcc.build import build_gcc
from transforms.roles.gls.build import PARTY_LOOKUP, build_gls, gls_kvpairs
from transforms.roles.gud.build import build_gud

ROLE_GROUP = "idb_by_role"


class PartitionOrderError(RuntimeError):
    """An hour was asked for before the hour it continues from."""


def role_key(role: str) -> dg.AssetKey:
    return dg.AssetKey(["roles", role])


def previous_key(key: str) -> str:
    start = HOURLY.time_window_for_partition_key(key).start
    return (start - timedelta(hours=1)).strftime("%Y-%m-%d-%H:%M")


def read_staged(folder: Path) -> tuple[dict[str, pl.DataFrame], pl.DataFrame] | None:
    """A role's staged output of one hour: (tables, status), or None when not materialized."""
    if not (folder / "status.parquet").exists():
        return None
    tables = {p.stem: pl.read_parquet(p) for p in sorted((folder / "tables").glob("*.parquet"))}
    return tables, pl.read_parquet(folder / "status.parquet")


def gcc_of_hour(logs: LogStorage, role: str, part: str) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """gcc's staged output of the hour, which `role` (gud, gls) builds on."""
    staged = read_staged(logs.reconciled_dir("gcc", part))
    if staged is None:
        raise PartitionOrderError(f"{role} {part} needs gcc of the same hour: materialize "
                                  f"{role_key('gcc').to_user_string()}")
    return staged


def read_window(folder: Path) -> Window | None:
    if not (folder / "events.parquet").exists():
        return None
    return Window(pl.read_parquet(folder / "events.parquet"), pl.read_parquet(folder / "kvpairs.parquet"))


def hour_window(logs: LogStorage, key: str) -> Window:
    """The hour's reconciled events (with `src`, `dss_id`, times in the reference clock)."""
    window = read_window(events_dir(logs, key))
    if window is None:
        raise PartitionOrderError(f"the reconciled events of {key} are missing: materialize "
                                  f"{RECONCILED_KEY.to_user_string()} for {key} first")
    return window


def carried_in(logs: LogStorage, role: str, key: str, first_data: datetime | None) -> Window:
    """The open entities carried from the previous hour; nothing when no data precedes `key`."""
    prev = previous_key(key)
    carry = read_window(logs.reconciled_dir(role, prev) / "carry")
    if carry is not None:
        return carry
    start = HOURLY.time_window_for_partition_key(key).start
    if first_data is not None and first_data < start:
        raise PartitionOrderError(
            f"{role}: the hour before {key} ({prev}) has not been processed, and log data exists "
            f"before {key}; process hours in order (a backfill from the first hour with data, or "
            f"`icon-etl load`)")
    return Window.empty()


def run_role_hour(logs: LogStorage, role: str, key: str, first_data: datetime | None,
                  build: Callable[[Window, str], tuple[dict[str, pl.DataFrame], pl.DataFrame,
                                                        pl.DataFrame, pl.DataFrame]],
                  carry_more: Callable[[Window], dict[str, pl.DataFrame]] | None = None,
                  narrow: Callable[[Window], Window] | None = None) -> dict:
    """Carry in, build, carry out, stage. `build(window, key)` returns (tables, status,
    open keys, event keys) where event keys map (file_id, line) -> key. `carry_more(carried)`
    adds frames of the role's own to the carry (e.g. context the carried entities still need);
    `narrow(window)` drops what the role never reads (so it is not carried either)."""
    window = carried_in(logs, role, key, first_data) + hour_window(logs, key)
    if narrow is not None:
        window = narrow(window)
    tables, status, open_keys, event_keys = build(window, key)
    carry = carry_out(window, open_keys, event_keys)
    extra = carry_more(carry) if carry_more else {}
    write_staged(logs.reconciled_dir(role, key), {
        **{f"tables/{name}": frame for name, frame in tables.items()},
        "status": status, "carry/events": carry.events, "carry/kvpairs": carry.kvpairs,
        **{f"carry/{name}": frame for name, frame in extra.items()}})
    return {"events": window.events.height, "carried_out": carry.events.height,
            "rows": sum(f.height for f in tables.values()),
            "open": int(status["open"].sum()) if status.height else 0, "tables": tables}


def first_data(sessions: pl.DataFrame) -> datetime | None:
    return sessions["start_ts"].min() if sessions.height else None


def monitored_switches(sessions: pl.DataFrame) -> set[str]:
    """Switches whose T-Server logs are loaded (in any replica)."""
    return set(sessions["switch"].unique().to_list())


def hourly_role(key: dg.AssetKey, upstream: list[dg.AssetKey]) -> dict:
    """Asset arguments of a role that carries open entities: hourly, one run per backfill, and a
    dependency on its own previous hour (the carry), which the lineage graph shows."""
    return dict(
        key=key,
        deps=[*upstream, dg.AssetDep(key, partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True))],
        partitions_def=HOURLY, group_name=ROLE_GROUP, kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run())


def role_hours(context: dg.AssetExecutionContext, role: str, noun: str,
               one_hour: Callable[[str], dict]) -> tuple[dict, dict | None]:
    """Run `one_hour` (a `run_role_hour`) over the run's hours in order, reporting each; the
    run's metadata (totals, what is still open at the end) and the last hour's result."""
    totals = {"events": 0, "rows": 0, "carried_out": 0}
    last = None
    for part in context.partition_keys:
        last = one_hour(part)
        for name in totals:
            totals[name] += last[name]
        report(context, f"{role} {part}: {last['events']:,} events, {last['rows']:,} rows, "
                        f"{last['open']} {noun} open")
    return {**totals, f"open_{noun}_at_end": last["open"] if last else 0,
            "partitions": len(context.partition_keys)}, last


def build_role_assets() -> list[dg.AssetsDefinition]:
    key = role_key("gcc")

    @dg.asset(
        **hourly_role(key, [RECONCILED_KEY]),
        description=("Interactions, calls and parties (ICON role gcc): G_IR, G_CALL, G_PARTY with "
                     "their histories, statistics, routing results, virtual-queue stays and "
                     "inter-site links, staged as Parquet. Calls still open at the end of the "
                     "hour carry their events into the next hour."),
    )
    def gcc(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        options = icon.gcc_options()
        sessions = load_clock(logs, config.switches()).sessions
        monitored = monitored_switches(sessions)

        def build(window: Window, part: str):
            result = build_gcc(window.events, window.kvpairs, config, part, options, monitored)
            open_keys = pl.DataFrame({"key": sorted(result.open_groups)}, schema={"key": pl.String})
            status = result.calls.rename({"call": "entity"})
            return result.tables, status, open_keys, result.event_groups

        start = first_data(sessions)
        metadata, last = role_hours(context, "gcc", "calls",
                                    lambda part: run_role_hour(logs, "gcc", part, start, build))
        metadata["configuration"] = icon.snapshot or "(none: every party External)"
        if last:
            metadata["calls_preview"] = dg.MetadataValue.md(_preview(last["tables"]["G_CALL"].select(
                "CALLID", "CALLTYPE", "STATE", "CREATED", "TERMINATED", "PARENTCALLID", "MERGECALLID")))
        return dg.MaterializeResult(metadata=metadata)

    return [gcc, build_gud_asset(), build_gls_asset()]


def build_gud_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=role_key("gud"),
        deps=[RECONCILED_KEY, role_key("gcc")],
        partitions_def=HOURLY,
        group_name=ROLE_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=("Attached data (ICON role gud): G_USERDATA_HISTORY, "
                     "G_SECURE_USERDATA_HISTORY and the G_CALL_USERDATA* tables, per the "
                     "attached-data specification. Reads the same window as gcc and takes each "
                     "change's PartyID and CSeq from gcc's parties."),
    )
    def gud(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        spec = icon.adata_spec()
        history = icon.options().get("callconcentrator", "adata-userdata-history")
        start = first_data(load_clock(logs, config.switches()).sessions)
        rows: dict[str, int] = {}
        for part in context.partition_keys:
            gcc_tables, status = gcc_of_hour(logs, "gud", part)
            window = carried_in(logs, "gcc", part, start) + hour_window(logs, part)
            tables = build_gud(window.events, window.kvpairs, config, gcc_tables, spec, history, part)
            write_staged(logs.reconciled_dir("gud", part),
                         {**{f"tables/{n}": f for n, f in tables.items()}, "status": status})
            for n, f in tables.items():
                rows[n] = rows.get(n, 0) + f.height
            report(context, f"gud {part}: {sum(f.height for f in tables.values()):,} rows")
        # key names and counts only: attached-data values can be personal or secure
        return dg.MaterializeResult(metadata={
            **{f"rows_{n}": k for n, k in rows.items()}, "partitions": len(context.partition_keys),
            "attached_data_spec": spec.source, "secure_keys": len(spec.secure_keys),
            "adata_userdata_history": history})

    return gud




def build_gls_asset() -> dg.AssetsDefinition:
    key = role_key("gls")

    @dg.asset(
        **hourly_role(key, [RECONCILED_KEY, role_key("gcc")]),
        description=("Agent login sessions and states (ICON role gls): "
                     "G_LOGIN_SESSION, GX_SESSION_ENDPOINT, G_AGENT_STATE_HISTORY, "
                     "G_AGENT_STATE_RC(_A), G_DND_HISTORY, and the custom states and user-event "
                     "data of [custom-states] (G_CUSTOM_STATES, G_CUSTOM_DATA_P/S). Sessions "
                     "still open at the end of the "
                     "hour carry their events (and the parties of their calls) to the next hour."),
    )
    def gls(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        options = icon.options()
        clock = load_clock(logs, config.switches())
        dss_ends = session_ends(logs, clock.reconciled())
        start = first_data(clock.sessions)

        def one_hour(part: str) -> dict:
            parties = _party_lookup(logs, part)

            def build(window: Window, p: str):
                r = build_gls(window.events, window.kvpairs, config, p, options, parties, dss_ends)
                return r.tables, r.status, r.open_keys, r.event_keys

            def carry_more(carried: Window) -> dict[str, pl.DataFrame]:
                # the parties carried sessions may still need: those created since their first event
                since = carried.events["ts"].min()
                keep = parties.clear() if since is None else parties.filter(
                    pl.col("CREATED") >= since.replace(tzinfo=None))
                return {"parties": keep}

            return run_role_hour(logs, "gls", part, start, build, carry_more,
                                 narrow=lambda w: Window(w.events, gls_kvpairs(w.events, w.kvpairs)))

        metadata, last = role_hours(context, "gls", "sessions", one_hour)
        if last:
            metadata["sessions_preview"] = dg.MetadataValue.md(_preview(
                last["tables"]["G_LOGIN_SESSION"].select(
                    "LOGINSESSIONID", "AGENTID", "STATE", "CREATED", "TERMINATED", "ETL_CLOSED_BY")))
        return dg.MaterializeResult(metadata=metadata)

    return gls


def session_ends(logs: LogStorage, sessions: pl.DataFrame) -> pl.DataFrame:
    """Sessions of the reconciled stream that ended (dss_id, end_ts, end_src): login sessions
    still open then are closed at its last event (docs/semantics.md §8)."""
    ends = sessions.filter(~pl.col("open"))
    frames = []
    for replica in ends["last_replica"].unique().to_list():
        paths = logs.segments(replica).paths()
        frames.append(ends.filter(pl.col("last_replica") == replica)
                      .join(paths, left_on="last_file_id", right_on="file_id", how="left")
                      .select("dss_id", "end_ts", end_src=pl.concat_str(
                          [pl.lit(f"{replica}/"), pl.col("path"), pl.lit(":"),
                           pl.col("last_line").cast(pl.String)])))
    return pl.concat(frames) if frames else pl.DataFrame(
        schema={"dss_id": pl.Int64, "end_ts": pl.Datetime("us", "UTC"), "end_src": pl.String})


def _party_lookup(logs: LogStorage, part: str) -> pl.DataFrame:
    """G_PARTY rows for PARTYID lookups: carried from the previous gls hour plus this hour's gcc
    output (the latest row of each party)."""
    frames = [gcc_of_hour(logs, "gls", part)[0]["G_PARTY"].select(PARTY_LOOKUP)]
    carried = logs.reconciled_dir("gls", previous_key(part)) / "carry" / "parties.parquet"
    if carried.exists():
        frames.insert(0, pl.read_parquet(carried))
    return pl.concat(frames, how="vertical_relaxed").unique("PARTYID", keep="last",
                                                             maintain_order=True)