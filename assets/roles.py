"""IDB tables by ICON role, built hour by hour from the reconciled event stream (every
replica's events, holes filled: assets/ha.py), with the open entities' events carried from each
hour to the next (transforms/roles/hour.py). Each role is one asset over its package's
`build_<role>`; its hours are written to the data folder, which the IDB assets write from."""

from collections.abc import Callable

import dagster as dg
import polars as pl

from assets.failures import each_hour, failure_metadata
from assets.ha import RECONCILED_KEY, load_clock
from assets.metadata import preview
from assets.progress import report
from assets.resources import IconConfig, LogStorage
from transforms.datafolder import DataFolder
from transforms.ha import session_ends
from transforms.hours import previous_key
from transforms.roles import (
    RoleHour,
    Window,
    build_gcc,
    build_gls,
    build_gud,
    first_data,
    gls_kvpairs,
    monitored_switches,
    parties_to_carry,
    party_lookup,
    run_hour,
    same_hour,
)

ROLE_GROUP = "idb_by_role"


def role_key(role: str) -> dg.AssetKey:
    return dg.AssetKey(["roles", role])


def role_asset(role: str, hourly: dg.PartitionsDefinition, upstream: list[dg.AssetKey],
               description: str, carries: bool = True) -> Callable:
    """The asset decorator of a role: hourly, one run per backfill, and, when it carries open
    entities, a dependency on its own previous hour (the carry), which the lineage graph shows."""
    key = role_key(role)
    deps = list(upstream)
    if carries:
        deps.append(dg.AssetDep(key, partition_mapping=dg.TimeWindowPartitionMapping(
            start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True)))
    return dg.asset(key=key, deps=deps, partitions_def=hourly, group_name=ROLE_GROUP,
                    kinds={"polars", "parquet"}, backfill_policy=dg.BackfillPolicy.single_run(),
                    description=description)


def role_hours(context: dg.AssetExecutionContext, data: DataFolder, role: str, noun: str,
               one_hour: Callable[[str], RoleHour], needs: tuple[str, ...] = (),
               carries: bool = True) -> tuple[dict, RoleHour | None]:
    """Run `one_hour` over the run's hours in order, reporting each (an hour that fails is
    recorded and the next goes on: assets/failures.py); the run's metadata (totals, rows per
    table, what is still open at the end, the hours that failed) and the last hour done.
    `needs`: the roles of the same hour it builds on; `carries`: it starts from its own carry."""
    totals = {"events": 0, "rows": 0, "carried_out": 0}
    per_table: dict[str, int] = {}

    def hour(part: str) -> RoleHour:
        done = one_hour(part)
        totals["events"] += done.events
        totals["rows"] += done.result.rows
        totals["carried_out"] += done.carried_out
        for name, n in done.result.rows_per_table().items():
            per_table[name] = per_table.get(name, 0) + n
        report(context, f"{role} {part}: {done.events:,} events, {done.result.rows:,} rows"
                        + (f", {done.result.open_entities} {noun} open" if noun else ""))
        return done

    def inputs(part: str) -> list[tuple[str, str]]:
        found = [(RECONCILED_KEY.to_user_string(), part)]
        found += [(role_key(r).to_user_string(), part) for r in needs]
        if carries:
            found.append((role_key(role).to_user_string(), previous_key(part)))
        return found

    done, failed = each_hour(context, data, role_key(role).to_user_string(),
                             context.partition_keys, hour, inputs=inputs,
                             discard=lambda part: data.discard_role_hour(role, part))
    last = done[max(done)] if done else None
    metadata = {**totals, **{f"rows_{n}": k for n, k in per_table.items()},
                "partitions": len(context.partition_keys), **failure_metadata(failed)}
    if noun:
        metadata[f"open_{noun}_at_end"] = last.result.open_entities if last else 0
    return metadata, last


def build_role_assets(hourly: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [build_gcc_asset(hourly), build_gud_asset(hourly), build_gls_asset(hourly)]


def build_gcc_asset(hourly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @role_asset("gcc", hourly, [RECONCILED_KEY], description=(
        "Interactions, calls and parties (ICON role gcc): G_IR, G_CALL, G_PARTY with their "
        "histories, statistics, routing results, virtual-queue stays and inter-site links, "
        "staged as Parquet. Calls still open at the end of the hour carry their events into "
        "the next hour."))
    def gcc(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        options = icon.options().gcc()
        sessions = load_clock(logs, config.switches()).sessions
        monitored = monitored_switches(sessions)
        start = first_data(sessions)

        def build(window: Window, part: str):
            return build_gcc(window.events, window.kvpairs, config, part, options, monitored)

        metadata, last = role_hours(context, logs.data(), "gcc", "calls",
                                    lambda part: run_hour(logs.data(), "gcc", part, start, build))
        metadata["configuration"] = icon.snapshot or "(none: every party External)"
        if last:
            metadata["calls_preview"] = dg.MetadataValue.md(preview(
                last.result.tables["G_CALL"].select(
                    "CALLID", "CALLTYPE", "STATE", "CREATED", "TERMINATED", "PARENTCALLID",
                    "MERGECALLID")))
        return dg.MaterializeResult(metadata=metadata)

    return gcc


def build_gud_asset(hourly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @role_asset("gud", hourly, [RECONCILED_KEY, role_key("gcc")], carries=False, description=(
        "Attached data (ICON role gud): G_USERDATA_HISTORY, G_SECURE_USERDATA_HISTORY and the "
        "G_CALL_USERDATA* tables, per the attached-data specification. Reads the same window "
        "as gcc and takes each change's PartyID and CSeq from gcc's parties."))
    def gud(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        spec = icon.adata_spec()
        history = icon.options().get("callconcentrator", "adata-userdata-history")
        start = first_data(load_clock(logs, config.switches()).sessions)
        data = logs.data()

        def one_hour(part: str) -> RoleHour:
            gcc = same_hour(data, "gcc", "gud", part)
            return run_hour(data, "gud", part, start, lambda window, p: build_gud(
                window.events, window.kvpairs, config, gcc, spec, history, p),
                window_of_role="gcc", carries=False)

        metadata, _ = role_hours(context, data, "gud", "", one_hour, needs=("gcc",), carries=False)
        # key names and counts only: attached-data values can be personal or secure
        return dg.MaterializeResult(metadata={
            **metadata, "attached_data_spec": spec.source, "secure_keys": len(spec.secure_keys),
            "adata_userdata_history": history})

    return gud


def build_gls_asset(hourly: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @role_asset("gls", hourly, [RECONCILED_KEY, role_key("gcc")], description=(
        "Agent login sessions and states (ICON role gls): G_LOGIN_SESSION, "
        "GX_SESSION_ENDPOINT, G_AGENT_STATE_HISTORY, G_AGENT_STATE_RC(_A), G_DND_HISTORY, and "
        "the custom states and user-event data of [custom-states] (G_CUSTOM_STATES, "
        "G_CUSTOM_DATA_P/S). Sessions still open at the end of the hour carry their events "
        "(and the parties of their calls) to the next hour."))
    def gls(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig) -> dg.MaterializeResult:
        config = icon.snapshot_data()
        options = icon.options()
        clock = load_clock(logs, config.switches())
        replicas = clock.sessions["replica"].unique().to_list()
        dss_ends = session_ends(clock.reconciled(),
                                {r: logs.segments(r).paths() for r in replicas})
        start = first_data(clock.sessions)
        data = logs.data()

        def one_hour(part: str) -> RoleHour:
            parties = party_lookup(data, same_hour(data, "gcc", "gls", part), part)

            def build(window: Window, p: str):
                return build_gls(window.events, window.kvpairs, config, p, options, parties,
                                 dss_ends)

            return run_hour(data, "gls", part, start, build,
                            carry_more=lambda carried: parties_to_carry(parties, carried),
                            narrow=lambda w: Window(w.events, gls_kvpairs(w.events, w.kvpairs)))

        metadata, last = role_hours(context, data, "gls", "sessions", one_hour, needs=("gcc",))
        if last:
            metadata["sessions_preview"] = dg.MetadataValue.md(preview(
                last.result.tables["G_LOGIN_SESSION"].select(
                    "LOGINSESSIONID", "AGENTID", "STATE", "CREATED", "TERMINATED", "ETL_CLOSED_BY")))
        return dg.MaterializeResult(metadata=metadata)

    return gls


def read_role_frames(logs: LogStorage, role: str, part: str) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """A role's (tables, status) of an hour, for the writers and checks downstream of it."""
    staged = logs.data().role_hour(role, part)
    if staged is None:
        raise FileNotFoundError(f"no {role} output for {part} in {logs.data_dir}: materialize "
                                f"{role_key(role).to_user_string()} first")
    return staged
