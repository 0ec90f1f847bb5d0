"""IDB tables by ICON role, built from the reconciled event stream (every replica's events,
holes filled: assets/ha.py). A run's hours are cut into chunks of consecutive hours, each built at
once with the earlier events of what is still open when it starts (transforms/roles/chunk.py),
in up to `workers` processes: no chunk waits for another, and any cut gives the same IDB. Each
role is one asset over its package's `build_<role>`; what the chunks keep is written to the data
folder per hour, which the IDB assets write from."""

import dagster as dg
import polars as pl

from assets.failures import failure_metadata, record_failure
from assets.ha import RECONCILED_KEY, load_clock
from assets.metadata import preview
from assets.progress import report
from assets.resources import IconConfig, LogStorage
from transforms.ha import session_ends
from transforms.roles import PartitionOrderError, RoleJob, plan_chunks, run_jobs
from transforms.config import RuleVersions
from transforms.roles import DataFilters

ROLE_GROUP = "idb_by_role"
# the most hours one chunk builds at once (what bounds a worker's memory on a long backfill)
CHUNK_HOURS = 6
# chunks per worker, to even out the workers' load (`plan_chunks`). gls is cut by CHUNK_HOURS
# alone: a login session lasts a shift, and every chunk reads again the events of the sessions
# open when it starts (measured on a bep300 day with 2 workers: 9.5 s in 4 chunks, 13.5 s in 7)
CHUNKS_PER_WORKER = {"gcc": 2, "gud": 2, "gls": 0, "gos": 0}


def role_key(role: str) -> dg.AssetKey:
    return dg.AssetKey(["roles", role])


def role_asset(role: str, hourly: dg.PartitionsDefinition, upstream: list[dg.AssetKey],
               description: str, versions: RuleVersions):
    """The asset decorator of a role: hourly, one run per backfill (the run's hours go to the
    chunks, in parallel); its code version is the version of its rules."""
    return dg.asset(key=role_key(role), deps=list(upstream), partitions_def=hourly,
                    group_name=ROLE_GROUP, kinds={"polars", "parquet"},
                    backfill_policy=dg.BackfillPolicy.single_run(), description=description,
                    code_version=versions.role(role))


def role_chunks(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig,
                role: str, noun: str, needs: tuple[str, ...] = (),
                extra: dict | None = None) -> dg.MaterializeResult:
    """Build the run's hours of `role` chunk by chunk (in up to `logs.workers` processes), and
    report each chunk; a chunk that fails is recorded for each of its hours (assets/failures.py)
    and the others go on. `needs`: the roles whose output it reads."""
    data = logs.data()
    config = icon.snapshot_data()
    clock = load_clock(logs, config.switches())
    reconciled = clock.reconciled()
    dss_ends = (session_ends(reconciled, {r: logs.segments(r).paths()
                                          for r in clock.sessions["replica"].unique().to_list()})
                if role in ("gls", "gos") else pl.DataFrame())
    stage = role_key(role).to_user_string()

    def inputs(key: str) -> list[tuple[str, str]]:
        return ([(RECONCILED_KEY.to_user_string(), key)]
                + [(role_key(r).to_user_string(), key) for r in needs])

    def discard(key: str) -> None:
        data.discard_role_hour(role, key)

    # an hour whose input is missing is recorded as such; the others are cut into chunks
    ready = [key for key in context.partition_keys
             if data.reconciled_hour_exists(key) and all(
                 data.role_status(r, key) is not None for r in needs)]
    failed: dict[str, str] = {}
    for key in sorted(set(context.partition_keys) - set(ready)):
        failed.update(record_failure(context, data, stage, [key], PartitionOrderError(
            f"the input of {key} is missing: materialize ha/reconciled_events"
            f"{''.join(f' and roles/{r}' for r in needs)} for {key} first"), inputs, discard))
    events = {key: data.reconciled_event_count(key) for key in ready}
    chunks = plan_chunks(ready, logs.workers, CHUNK_HOURS, events, CHUNKS_PER_WORKER[role])
    # a chunk is built with the configuration of its last hour: cut it where a folder of
    # snapshots changes it, so that every hour gets its own (docs/config-snapshot.md)
    chunks = [part for keys in chunks for part in config.split_hours(keys)]
    # the busiest chunks first: the pool's last chunk to finish is then a small one
    chunks.sort(key=lambda keys: -sum(events[k] for k in keys))
    jobs = [RoleJob(role, tuple(keys), str(data.root), icon.snapshot or None,
                    icon.options_file or None, clock.sessions, reconciled, dss_ends)
            for keys in chunks]
    totals = {"events": 0, "earlier_events": 0, "rows": 0, f"open_{noun}": 0}
    per_table: dict[str, int] = {}
    last_preview = None
    for job, outcome in run_jobs(jobs, logs.workers):
        keys = list(job.keys)
        if isinstance(outcome, BaseException):
            failed.update(record_failure(context, data, stage, keys, outcome, inputs, discard))
            continue
        for key in keys:
            data.clear_failure(stage, key)
        rows = sum(outcome.rows.values())
        totals["events"] += outcome.events
        totals["earlier_events"] += outcome.earlier_events
        totals["rows"] += rows
        totals[f"open_{noun}"] += outcome.open_entities
        for name, n in outcome.rows.items():
            per_table[name] = per_table.get(name, 0) + n
        if outcome.preview is not None and outcome.preview.height:
            last_preview = outcome.preview
        report(context, f"{role} {keys[0]}{f' .. {keys[-1]}' if len(keys) > 1 else ''}: "
                        f"{outcome.events:,} events ({outcome.earlier_events:,} from before), "
                        f"{rows:,} rows, {outcome.open_entities} {noun} open")
    metadata = {**totals, **{f"rows_{n}": k for n, k in per_table.items()},
                "partitions": len(context.partition_keys), "chunks": len(chunks),
                **failure_metadata(failed), **(extra or {})}
    if last_preview is not None:
        metadata[f"{noun}_preview"] = dg.MetadataValue.md(preview(last_preview))
    return dg.MaterializeResult(metadata=metadata)


def build_role_assets(hourly: dg.PartitionsDefinition,
                      versions: RuleVersions) -> list[dg.AssetsDefinition]:
    @role_asset("gcc", hourly, [RECONCILED_KEY], versions=versions, description=(
        "Interactions, calls and parties (ICON role gcc): G_IR, G_CALL, G_PARTY with their "
        "histories, statistics, routing results, virtual-queue stays and inter-site links, "
        "staged as Parquet. A call group still open when a chunk of hours starts is built with "
        "its earlier events."))
    def gcc(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig):
        return role_chunks(context, logs, icon, "gcc", "calls", extra={
            "configuration": icon.snapshot or "(none: every party External)"})

    @role_asset("gud", hourly, [RECONCILED_KEY, role_key("gcc")], versions=versions, description=(
        "Attached data (ICON role gud): G_USERDATA_HISTORY, G_SECURE_USERDATA_HISTORY and the "
        "G_CALL_USERDATA* tables, per the attached-data specification. Reads the same window "
        "as gcc and takes each change's PartyID and CSeq from gcc's parties."))
    def gud(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig):
        # key names and counts only: attached-data values can be personal or secure
        spec = icon.adata_spec()
        return role_chunks(context, logs, icon, "gud", "calls", needs=("gcc",), extra={
            "attached_data_spec": spec.source, "secure_keys": len(spec.secure_keys)})

    @role_asset("gls", hourly, [RECONCILED_KEY, role_key("gcc")], versions=versions, description=(
        "Agent login sessions and states (ICON role gls): G_LOGIN_SESSION, "
        "GX_SESSION_ENDPOINT, G_AGENT_STATE_HISTORY, G_AGENT_STATE_RC(_A), G_DND_HISTORY, and "
        "the custom states and user-event data of [custom-states] (G_CUSTOM_STATES, "
        "G_CUSTOM_DATA_P/S). A session still open when a chunk of hours starts is built with "
        "its earlier events; the PARTYIDs come from gcc's parties."))
    def gls(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig):
        return role_chunks(context, logs, icon, "gls", "sessions", needs=("gcc",))

    @role_asset("gos", hourly, [RECONCILED_KEY], versions=versions, description=(
        "Outbound campaigns (ICON role gos), from the reporting events of Outbound Contact "
        "Server logs: GO_CAMPAIGN, GO_CAMPAIGNHISTORY and GO_CAMPPROP_HIST. A campaign "
        "processing attempt still open when a chunk of hours starts is built with its earlier "
        "events."))
    def gos(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig):
        return role_chunks(context, logs, icon, "gos", "campaigns")

    return [gcc, gud, gls, gos]


def read_role_frames(logs: LogStorage, role: str, part: str,
                     filters: DataFilters) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """A role's (tables, status) of an hour as the IDB gets them (`[filter-data]` applied), for
    the writers and checks downstream of it."""
    staged = logs.data().role_hour(role, part)
    if staged is None:
        raise FileNotFoundError(f"no {role} output for {part} in {logs.data_dir}: materialize "
                                f"{role_key(role).to_user_string()} first")
    tables, status = staged
    return filters.before_writing(role, tables), status
