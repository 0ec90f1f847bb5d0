"""Purge / retention in Dagster (docs/purge.md): job `icon_purge` (one op over the `idb` and `icon`
resources) and schedule `icon_purge_daily`, whose run config takes each family's cut-off from the
options' `[icon-etl] retention-days-*`."""

# no `from __future__ import annotations`: Dagster reads the op's config annotation
from datetime import datetime, timezone

import dagster as dg

from assets.resources import IconConfig, Idb
from transforms.idb.purge import (
    BATCH_OPTION,
    FAMILIES,
    iso_time,
    parse_cutoff,
    plan_purge,
    purge,
    retention_cutoffs,
)

JOB = "icon_purge"
SCHEDULE = "icon_purge_daily"
OP = "purge"


class PurgeConfig(dg.Config):
    """What to purge (docs/purge.md). Cut-offs: `cutoffs` (family -> ISO 8601 time) when given,
    else `before` (one ISO 8601 time) for every family of `families` ([]: all three), else each
    family's `[icon-etl] retention-days-*` counted back from now (families at 0 are kept).
    `dry_run`: count what would be removed, remove nothing (the run is still recorded).
    `batch_size`: entities per transaction (0: `[icon-etl] purge-batch-size`)."""

    cutoffs: dict[str, str] = {}
    before: str = ""
    families: list[str] = []
    dry_run: bool = False
    batch_size: int = 0


def resolve_cutoffs(config: PurgeConfig, options, now: datetime) -> dict[str, datetime]:
    """Family -> cut-off, from the config or the options' retention (a bad family or time is a
    ValueError)."""
    wanted = list(config.families) or list(FAMILIES)
    unknown = sorted((set(wanted) | set(config.cutoffs)) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown famil{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)}: one of {', '.join(FAMILIES)}")
    if config.batch_size < 0:
        raise ValueError(f"batch_size {config.batch_size}: 0 (the options') or more")
    if config.cutoffs:
        found = {f: parse_cutoff(t) for f, t in config.cutoffs.items()}
    elif config.before:
        found = {f: parse_cutoff(config.before) for f in wanted}
    else:
        found = retention_cutoffs(options, now)
    return {f: found[f] for f in FAMILIES if f in found and f in wanted}


@dg.op(name=OP, out=dg.Out(dict, description="the counts: rows per table, entities per family"),
       description="Remove from the IDB, in batches, the terminated interactions, closed login "
                   "sessions and ended outbound attempts older than each family's cut-off "
                   "(never an open entity; referential integrity kept); record the run in "
                   "G_LOG_MESSAGES.")
def purge_op(context: dg.OpExecutionContext, config: PurgeConfig, idb: Idb, icon: IconConfig):
    options = icon.options()
    try:
        cutoffs = resolve_cutoffs(config, options, datetime.now(timezone.utc))
    except ValueError as exc:
        raise dg.Failure(description=f"purge config: {exc}") from None
    if not cutoffs:
        raise dg.Failure(description="nothing to purge: no cut-off given (config `before` or "
                                     "`cutoffs`) and every [icon-etl] retention-days-* is 0")
    batch = config.batch_size or int(options.get("icon-etl", BATCH_OPTION))
    store = idb.store()
    try:
        plan = plan_purge(store, cutoffs)
        context.log.info("plan: " + ", ".join(
            f"{p.entities} {f} entities before {iso_time(p.cutoff)} ({p.held} ended "
            f"but held)" for f, p in plan.families.items()))
        report = purge(store, plan, batch, dry_run=config.dry_run, progress=context.log.info,
                       app=f"icon-etl {context.job_name}", run_id=context.run_id)
    finally:
        store.engine.dispose()
    counts = {"rows": report.rows, "entities": report.entities, "held": report.held,
              "skipped": report.skipped}
    metadata = {
        "dry_run": dg.MetadataValue.bool(report.dry_run),
        "cutoffs": dg.MetadataValue.json({f: iso_time(t) for f, t in report.cutoffs.items()}),
        "total_rows": dg.MetadataValue.int(report.total_rows),
        "batches": dg.MetadataValue.int(report.batches),
        "entities": dg.MetadataValue.json(report.entities),
        "held": dg.MetadataValue.json(report.held),
        "rows": dg.MetadataValue.json(report.rows),
        "counts": dg.MetadataValue.md(_table(report.rows, report.dry_run)),
        **{f"rows {name}": dg.MetadataValue.int(n) for name, n in report.rows.items()},
    }
    return dg.Output(counts, metadata=metadata)


def _table(rows: dict[str, int], dry_run: bool) -> str:
    head = "rows to remove" if dry_run else "rows removed"
    return "\n".join([f"| table | {head} |", "| --- | ---: |",
                      *[f"| {name} | {n} |" for name, n in rows.items() if n],
                      f"| **total** | **{sum(rows.values())}** |"])


def purge_job() -> dg.JobDefinition:
    @dg.job(name=JOB, description="Purge / retention: remove what ended before each family's "
                                  "cut-off (docs/purge.md); counts in the output metadata and "
                                  "in G_LOG_MESSAGES.")
    def icon_purge():
        purge_op()

    return icon_purge


def purge_schedule(job) -> dg.ScheduleDefinition:
    """Daily at 03:30 UTC, stopped until switched on: the cut-off of each family is the start of
    the hour less its `[icon-etl] retention-days-*` (families with 0 are skipped; all 0 skips
    the tick, saying why)."""

    @dg.schedule(job=job, name=SCHEDULE, cron_schedule="30 3 * * *", execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description="Purge what is older than each family's retention "
                             "([icon-etl] retention-days-*), daily at 03:30 UTC.")
    def icon_purge_daily(context: dg.ScheduleEvaluationContext, icon: IconConfig):
        now = context.scheduled_execution_time or datetime.now(timezone.utc)
        cutoffs = retention_cutoffs(icon.options(), now)
        if not cutoffs:
            return dg.SkipReason("every [icon-etl] retention-days-* option is 0 (data kept for "
                                 "ever): nothing to purge")
        stamp = {f: iso_time(t) for f, t in cutoffs.items()}
        return dg.RunRequest(
            run_key=f"purge-{min(stamp.values())}-{'-'.join(sorted(stamp))}",
            run_config={"ops": {OP: {"config": {"cutoffs": stamp}}}})

    return icon_purge_daily
