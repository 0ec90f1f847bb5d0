"""Interval reports: per hour, queue / virtual-queue and agent KPIs computed from the IDB
(transforms/reports, docs/semantics.md §12) into ETL_KPI_QUEUE, ETL_KPI_AGENT and
ETL_KPI_AGENT_REASON; each hour replaces its own rows, so a re-run never duplicates. Every hour
also records an observation of its own partition with the hour's figures as numbers, which the
UI lists with the asset's events and plots."""

import dagster as dg
import polars as pl

from assets.failures import each_hour, failure_metadata
from assets.idb import idb_key
from assets.metadata import preview
from assets.progress import report
from assets.resources import IconConfig, Idb, LogStorage
from transforms.config import RuleVersions
from transforms.reports import HourFrames, agent_kpis, queue_kpis, read_span

REPORTS_KEY = dg.AssetKey(["reports", "kpi"])
REPORTS_GROUP = "reports"
STAGE = "reports_kpi"
READS = ("G_PARTY", "G_PARTY_HISTORY", "G_VIRTUAL_QUEUE", "G_LOGIN_SESSION",
         "G_AGENT_STATE_HISTORY", "G_AGENT_STATE_RC", "G_AGENT_STATE_RC_A")
READ_HOURS = 24  # hours of IDB rows read at once (what bounds the step's memory)
BAR = 30        # characters of the longest bar of the metadata's text chart


def hour_figures(queue: pl.DataFrame, agent: pl.DataFrame) -> dict[str, float | int]:
    """An hour over all queues and agents, as the numbers the UI plots (ratios from sums)."""
    sums = queue.select(pl.col("OFFERED", "ANSWERED", "ABANDONED", "ANSWERED_IN_THRESHOLD",
                               "HANDLED", "WAIT_SECONDS", "HANDLE_SECONDS").sum()
                        ).row(0, named=True)
    work = agent.select(pl.col("BUSY_SECONDS", "ACW_SECONDS", "READY_SECONDS").sum()
                        ).row(0, named=True)
    decided = (sums["ANSWERED"] or 0) + (sums["ABANDONED"] or 0)
    busy = (work["BUSY_SECONDS"] or 0.0) + (work["ACW_SECONDS"] or 0.0)
    figures = {"offered": int(sums["OFFERED"] or 0), "answered": int(sums["ANSWERED"] or 0),
               "abandoned": int(sums["ABANDONED"] or 0), "agents": agent.height}
    if decided:
        figures["service_level"] = round(sums["ANSWERED_IN_THRESHOLD"] / decided, 4)
    if sums["ANSWERED"]:
        figures["asa_seconds"] = round(sums["WAIT_SECONDS"] / sums["ANSWERED"], 1)
    if sums["HANDLED"]:
        figures["aht_seconds"] = round(sums["HANDLE_SECONDS"] / sums["HANDLED"], 1)
    if busy + (work["READY_SECONDS"] or 0.0):
        figures["occupancy"] = round(busy / (busy + work["READY_SECONDS"]), 4)
    return figures


def text_chart(queue: pl.DataFrame) -> str:
    """Offered / answered / abandoned per queue as bars of characters (Markdown code block)."""
    rows = queue.group_by("QUEUE_NAME", "QUEUE").agg(pl.col("OFFERED", "ANSWERED", "ABANDONED")
                                                     .sum()).sort("QUEUE")
    top = max([*rows["OFFERED"].to_list(), *rows["ANSWERED"].to_list(), 1])
    lines = []
    for name, dn, *counts in rows.iter_rows():
        for label, n in zip(("offered", "answered", "abandoned"), counts):
            lines.append(f"{(name or dn)[:14]:14} {label:9} {'█' * round(BAR * n / top):{BAR}} {n}")
    return "```\n" + "\n".join(lines) + "\n```"


def build_report_assets(hourly: dg.PartitionsDefinition,
                        versions: RuleVersions) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=REPORTS_KEY,
        code_version=versions.reports,
        deps=[idb_key("reference"), *(idb_key(name) for name in READS)],
        partitions_def=hourly,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=REPORTS_GROUP,
        kinds={"polars", "sqlite", "postgres"},
        description="Interval KPIs per hour: per queue / virtual queue (offered, answered, "
                    "abandoned, ASA, AHT, service level) and per agent (login, ready, not ready "
                    "by reason, busy, ACW, occupancy) in ETL_KPI_QUEUE, ETL_KPI_AGENT, "
                    "ETL_KPI_AGENT_REASON (docs/semantics.md §12). `icon-etl report` draws them.",
    )
    def kpi(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig, idb: Idb):
        store = idb.store_for(logs)
        threshold = int(icon.options().get("icon-etl", "service-level-threshold"))

        keys = sorted(context.partition_keys)
        # the run's hours are read READ_HOURS at a time (a login session's states once, not
        # once per hour it spans), the KPIs computed hour by hour from them
        batch_of = {k: tuple(keys[i:i + READ_HOURS]) for i in range(0, len(keys), READ_HOURS)
                    for k in keys[i:i + READ_HOURS]}
        read: dict[tuple[str, ...], HourFrames] = {}

        def one_hour(key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
            batch = batch_of[key]
            if batch not in read:
                read.clear()
                read[batch] = read_span(store, batch[0], batch[-1])
            frames = read[batch]
            queue = queue_kpis(frames, key, threshold)
            agent, reasons = agent_kpis(frames, key)
            store.replace_where({"ETL_KPI_QUEUE": queue, "ETL_KPI_AGENT": agent,
                                 "ETL_KPI_AGENT_REASON": reasons}, "HOUR", key)
            figures = hour_figures(queue, agent)
            # the hour's figures as an observation of its partition: the run's materialization
            # is recorded on every hour of a ranged run, so it cannot carry one hour's numbers
            context.log_event(dg.AssetObservation(REPORTS_KEY, partition=key, metadata=figures))
            report(context, f"reports {key}: {figures['offered']} offered, "
                            f"{figures['answered']} answered, {figures['abandoned']} abandoned, "
                            f"{agent.height} agents")
            return queue, agent

        done, failed = each_hour(
            context, logs.data(), STAGE, keys, one_hour,
            inputs=lambda key: [("idb_gcc", key), ("idb_gls", key)])
        meta: dict = {"partitions": len(context.partition_keys), **failure_metadata(failed)}
        if done:
            last = max(done)
            queue, agent = done[last]
            # the hours' figures are on their own observations (above); a run of one hour
            # gives them to its materialization too (the UI plots those per partition)
            meta.update({"hour": last, **(hour_figures(queue, agent) if len(keys) == 1 else {}),
                         "queues": dg.MetadataValue.md(preview(queue.select(
                             "QUEUE_NAME", "QUEUE_TYPE", "OFFERED", "ANSWERED", "ABANDONED",
                             "ASA_SECONDS", "AHT_SECONDS", "SERVICE_LEVEL"), 50)),
                         "agents": dg.MetadataValue.md(preview(agent.select(
                             "AGENT", "LOGIN_SECONDS", "READY_SECONDS", "NOT_READY_SECONDS",
                             "BUSY_SECONDS", "ACW_SECONDS", "OCCUPANCY"), 50)),
                         "chart": dg.MetadataValue.md(text_chart(queue))})
        return dg.MaterializeResult(metadata=meta)

    return [kpi]
