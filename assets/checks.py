"""The quality suites as Dagster asset checks, partitioned like the assets they check.

* one multi-asset check per ICON role (gcc, gls, gud): for every IDB table the role writes, the
  checks `keys` and `foreign_keys` (blocking), `values` (warning) and, where a coverage rule
  exists, `completeness`. They validate what each hour wrote (the role's hour in the data
  folder) and resolve foreign keys against the IDB itself;
* one multi-asset check per replica on `replica_X/parsed_events`: `line_accounting` and
  `quarantine_share` (warning over `max-quarantine-share-warn`, error over
  `max-quarantine-share-fail`; the asset itself refuses such an hour). Neither blocks: in a run
  of many hours a blocking check would keep the good hours out with the bad one.

One step per role keeps Great Expectations' import (lazy, ~3 s) and context to one per step. A
ranged run (one run over many hours) evaluates every hour of the range: each hour gets its own
evaluation (passed or failed, on its partition, as the UI's partition view shows them), and the
run one result per check whose metadata names the hours that failed. Those per-hour records cost
the instance ~12 ms each (2,808 for a day's IDB checks); `[icon-etl] check-results-per-hour = 0`
keeps only the run's results (every hour is still validated).
"""


import time
import warnings
from collections.abc import Iterator

import dagster as dg
import polars as pl
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # the UI ties a check to a materialization
)

from assets.idb import ROLES, idb_key
from assets.ingest import parsed_key
from assets.resources import IconConfig, Idb, LogStorage
from assets.roles import read_role_frames, role_key
from quality import accounting, frames
from quality.report import Report, check_report, failed_hours
from quality.rules import CHECKS, CoversEvents, Reference, TableRules, rules_for
from quality.validate import CoverageInput, TableResult, coverage_rows, validate_table
from transforms.hours import hour_span
from transforms.idb import table as table_def
from transforms.roles import ROLE_TABLES
from transforms.roles import DataFilters

TABLE_ROLE = {name: role for role, names in ROLE_TABLES.items() for name in names}
# a ranged run validates up to this many hours of a table in one suite run (GX costs per run)
HOURS_PER_SUITE = 24


def _metadata(report: Report) -> dict:
    out = {}
    for key, value in report.metadata.items():
        if isinstance(value, tuple) and value and value[0] == "md":
            out[key] = dg.MetadataValue.md(value[1])
        else:
            out[key] = value
    return out


def check_result(key: dg.AssetKey, check: str, report: Report,
                 severity: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key, check_name=check, passed=report.passed, description=report.description,
        severity=dg.AssetCheckSeverity[severity], metadata=_metadata(report))


def _other_role_parents(rules: TableRules, role: str, check: str) -> list[dg.AssetKey]:
    """IDB tables of other roles the table's `check` refers to: it waits for their writers."""
    parents = {r.parent for r in rules.for_check(check) if isinstance(r, Reference)}
    return sorted((idb_key(p) for p in parents if TABLE_ROLE.get(p) not in (None, role)),
                  key=lambda k: k.to_user_string())


def check_spec(*args, **kwargs) -> dg.AssetCheckSpec:
    """An AssetCheckSpec; partitioned check specs are a Dagster preview we rely on on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(*args, **kwargs)


def idb_role_checks(role: str, hourly: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    names = ROLE_TABLES[role]
    rules = {n: rules_for(n) for n in names}
    specs = [check_spec(
        check, asset=idb_key(n), blocking=CHECKS[check].blocking, partitions_def=hourly,
        description=f"{CHECKS[check].description} (GX suite idb.{n})",
        additional_deps=_other_role_parents(rules[n], role, check) or None)
        for n in names for check in rules[n].checks]

    @dg.multi_asset_check(specs=specs, name=f"idb_{role}_quality", can_subset=True,
                          description=f"Great Expectations suites of the {role} IDB tables.")
    def role_quality(context: dg.AssetCheckExecutionContext, logs: LogStorage, idb: Idb,
                     icon: IconConfig) -> Iterator[dg.AssetCheckResult]:
        from quality.suites import Validator

        started = time.perf_counter()
        selected = context.selected_asset_check_keys
        wanted = {n for n in names if any(k.asset_key == idb_key(n) for k in selected)}
        validator = Validator()
        options = icon.options()
        filters = DataFilters.from_options(options)
        lookup = frames.ReferenceLookup(idb.store())
        results: dict[str, list[TableResult]] = {n: [] for n in wanted}
        data = logs.data()
        # an hour whose build failed has nothing to check (the failure is on record)
        failed = [p for p in context.partition_keys
                  if data.role_hour(role, p) is None
                  and data.failure(role_key(role).to_user_string(), p) is not None]
        keys = [p for p in context.partition_keys if p not in failed]
        written: dict[tuple[str, str], pl.DataFrame] = {}

        def last_written(name: str, rule: CoversEvents) -> pl.DataFrame:
            """value -> the last hour of the run that wrote it (read once per table)."""
            if (name, rule.column) not in written:
                frames_ = [read_role_frames(logs, role, p, filters)[0]
                           .get(name, table_def(name).empty())
                           .select(pl.col(rule.column).alias("value"), hour=pl.lit(p))
                           for p in keys]
                stacked = pl.concat(frames_) if frames_ else pl.DataFrame(
                    schema={"value": pl.String, "hour": pl.String})
                written[(name, rule.column)] = stacked.group_by("value").agg(pl.col("hour").max())
            return written[(name, rule.column)]

        for batch in [keys[i:i + HOURS_PER_SUITE] for i in range(0, len(keys), HOURS_PER_SUITE)]:
            hours = [read_role_frames(logs, role, part, filters)[0] for part in batch]
            label = batch[0] if len(batch) == 1 else f"{batch[0]}..{batch[-1]}"
            for n in sorted(wanted):
                written_by_hour = [t.get(n, table_def(n).empty()) for t in hours]
                # coverage compares each hour with that hour's events (when the role that
                # writes the table is not left out by `[callconcentrator] role`)
                coverage = {r.column: coverage_rows(r, [
                    (part, frame, _coverage_input(logs, r, part, last_written(n, r)))
                    for part, frame in zip(batch, written_by_hour)])
                    for r in rules[n].coverage if r.role in options.roles()}
                results[n].append(validate_table(
                    validator, rules[n], _as_written(written_by_hour, n), label, lookup,
                    coverage, options, hours=batch))
        context.log.info(f"{role} quality: {len(wanted)} tables x {len(context.partition_keys)} "
                         f"hours in {time.perf_counter() - started:.2f} s "
                         f"({lookup.queries} IDB lookups)")
        # a ranged run records each hour's result on its partition, unless told not to
        ranged = len(context.partition_keys) > 1 and \
            options.get("icon-etl", "check-results-per-hour") == 1
        for n in names:
            # the hours' latest materializations, which each hour's evaluation is about
            targets = latest_materializations(context.instance, idb_key(n), keys) \
                if ranged and n in wanted else {}
            for check in rules[n].checks:
                key = dg.AssetCheckKey(idb_key(n), check)
                if key not in selected:
                    continue
                report = check_report(check, n, results[n], f"idb.{n}")
                if failed:
                    report.metadata["hours_not_checked"] = ", ".join(failed)
                if ranged:
                    _each_hour(context, key, keys, failed_hours(check, results[n]), report,
                               CHECKS[check].severity, targets)
                yield check_result(idb_key(n), check, report, CHECKS[check].severity)

    return role_quality


def _each_hour(context: dg.AssetCheckExecutionContext, key: dg.AssetCheckKey, hours: list[str],
               failed: set[str], report: Report, severity: str, targets: dict) -> None:
    """A run of many hours records the check for each hour it evaluated, so that the UI's
    partitions of the check show each hour passed or failed (Dagster gives a ranged run's
    result no partition); the run's own result, with the details, follows. Each costs the
    instance a write (~10 ms in a local SQLite instance: ~25 s for the checks of a day)."""
    for hour in hours:
        passed = hour not in failed
        log_hour(context, key, hour, Report(
            passed, report.description if not passed else f"passed in {hour}",
            {"run_partitions": report.metadata.get("partitions", "")}), severity, targets)


def log_hour(context: dg.AssetCheckExecutionContext, key: dg.AssetCheckKey, hour: str,
              report: Report, severity: str, targets: dict) -> None:
    """The check's evaluation of one hour, recorded on that hour's partition and tied to the
    hour's latest materialization (else the UI takes it for the check of an older one)."""
    # (the check context has no log_event of its own)
    context.op_execution_context.log_event(dg.AssetCheckEvaluation(
        asset_key=key.asset_key, check_name=key.name, passed=report.passed, partition=hour,
        severity=dg.AssetCheckSeverity[severity], description=report.description,
        metadata=_metadata(report), target_materialization_data=targets.get(hour)))


def latest_materializations(instance: dg.DagsterInstance, asset_key: dg.AssetKey,
                            hours: list[str]) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """hour -> the latest materialization of the asset's partition (a few queries per run,
    newest first, not one per hour)."""
    found: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    wanted = set(hours)
    cursor = None
    while len(found) < len(wanted):
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key,
                                  asset_partitions=sorted(wanted - found.keys())),
            limit=1000, cursor=cursor)
        for record in page.records:
            if record.partition_key in wanted and record.partition_key not in found:
                found[record.partition_key] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id,
                    timestamp=record.timestamp)
        if not page.has_more:
            break
        cursor = page.cursor
    return found


def _as_written(frames_: list[pl.DataFrame], name: str) -> pl.DataFrame:
    """Several hours' rows of a table as the IDB holds them after those hours: an entity an hour
    rewrote (a call still open, then completed) counts once, in its latest version."""
    if len(frames_) == 1:
        return frames_[0]
    stacked = pl.concat([f.with_columns(_hour=pl.lit(i)) for i, f in enumerate(frames_)],
                        how="diagonal_relaxed")
    if "ETL_ENTITY" in stacked.columns:
        latest = stacked.group_by("ETL_ENTITY").agg(_last=pl.col("_hour").max())
        stacked = stacked.join(latest, on="ETL_ENTITY").filter(pl.col("_hour") == pl.col("_last"))
        stacked = stacked.drop("_last")
    else:
        stacked = stacked.unique(list(table_def(name).key), keep="last", maintain_order=True)
    return stacked.drop("_hour")


def _coverage_input(logs: LogStorage, rule: CoversEvents, part: str,
                    last_written: pl.DataFrame) -> CoverageInput:
    """The hour's events as the roles read them (every replica's parsed events, reconciled:
    holes filled, nothing doubled), the values a later hour of the run wrote, and the entities of
    the hour's status whose last event is before its end."""
    data = logs.data()
    events = frames.distinct_event_values([data.reconciled_events_file(part)], rule.event_column)
    status = data.role_status(rule.role, part)
    known = (status.filter(pl.col("last_ts") < hour_span(part)[1])["entity"]
             if status is not None and "last_ts" in status.columns
             else pl.Series("entity", [], pl.String))
    return CoverageInput(events, last_written.filter(pl.col("hour") > part)["value"], known)


def parsed_events_checks(replica: str, hourly: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    key = parsed_key(replica)
    specs = [
        check_spec(accounting.LINE_ACCOUNTING, asset=key, partitions_def=hourly,
                   description="Every line of the hour's segments is counted once in the "
                               "ledger (parsed or quarantined, each quarantined line with its "
                               "record), and every event of the hour is in the partition."),
        # not blocking: in a run of many hours a blocking check would keep every hour out; the
        # parsed-events asset itself refuses an hour over max-quarantine-share-fail
        check_spec(accounting.QUARANTINE_SHARE, asset=key, partitions_def=hourly,
                   description="Quarantined lines / lines of the hour's segments: warns over "
                               "[icon-etl] max-quarantine-share-warn, fails over "
                               "max-quarantine-share-fail (the hour is then not loaded)."),
    ]

    @dg.multi_asset_check(specs=specs, name=f"replica_{replica}_parsed_events_quality",
                          can_subset=True,
                          description=f"Line accounting of replica {replica!r}'s parsed hours.")
    def parsed_quality(context: dg.AssetCheckExecutionContext, logs: LogStorage,
                       icon: IconConfig) -> Iterator[dg.AssetCheckResult]:
        from quality.suites import Validator

        options = icon.options()
        warn = float(options.get("icon-etl", "max-quarantine-share-warn"))
        fail = float(options.get("icon-etl", "max-quarantine-share-fail"))
        store = logs.segments(replica)
        registry = store.registry()
        root = logs.replica_root(replica)
        validator = Validator()
        data = logs.data()
        # an hour refused (or failed) was not written: its events are not compared
        hours = accounting.account_hours(validator, [
            (part, data.parsed_events_file(replica, part)
             if data.failure(key.to_user_string(), part) is None else None, *hour_span(part))
            for part in context.partition_keys], registry, root, data.replica(replica), warn, fail)
        selected = context.selected_asset_check_keys
        ranged = len(hours) > 1
        targets = latest_materializations(context.instance, key, context.partition_keys) \
            if ranged else {}
        accounted = dg.AssetCheckKey(key, accounting.LINE_ACCOUNTING)
        if accounted in selected:
            for hour in hours if ranged else []:
                log_hour(context, accounted, hour.partition,
                          accounting.accounting_report([hour]), "ERROR", targets)
            yield check_result(key, accounting.LINE_ACCOUNTING, accounting.accounting_report(hours),
                          "ERROR")
        shared = dg.AssetCheckKey(key, accounting.QUARANTINE_SHARE)
        if shared in selected:
            for hour in hours if ranged else []:
                log_hour(context, shared, hour.partition,
                          *accounting.share_report([hour], warn, fail), targets)
            report, severity = accounting.share_report(hours, warn, fail)
            yield check_result(key, accounting.QUARANTINE_SHARE, report, severity)

    return parsed_quality


def build_quality_checks(replicas: list[str], hourly: dg.PartitionsDefinition
                         ) -> list[dg.AssetChecksDefinition]:
    """Every quality check of the code location (`dg.Definitions(asset_checks=...)`)."""
    return [*[idb_role_checks(role, hourly) for role in ROLES],
            *[parsed_events_checks(r, hourly) for r in replicas]]
