"""High availability: data source sessions of every replica, the hourly coverage ledger, and the
reconciliation that merges the replicas' events into one stream per switch: the first replica's
events, and the next replica's where the first has a gap (docs/architecture.md "High
availability"). The role assets read that reconciled stream; the IDB is written from them."""


import dagster as dg
import polars as pl

from assets.failures import each_hour, failure_metadata
from assets.ingest import parsed_key, segments_key
from assets.metadata import preview
from assets.progress import report
from assets.resources import IconConfig, LogStorage
from transforms.datafolder import LEDGERS
from transforms.ha import ReplicaClock, dss, merge_hour, renumber
from transforms.hours import hour_start
from transforms.roles import Window, gcc_index, gls_index, with_sources

HA_GROUP = "ha_reconciliation"
DSS_KEY = dg.AssetKey(["ha", "data_source_sessions"])
COVERAGE_KEY = dg.AssetKey(["ha", "coverage"])
RECONCILED_KEY = dg.AssetKey(["ha", "reconciled_events"])


class HaNotReady(RuntimeError):
    """The data source sessions have not been derived yet."""


def load_clock(logs: LogStorage, switches: pl.DataFrame) -> ReplicaClock:
    clock = logs.data().clock()
    if clock is None:
        raise HaNotReady(f"materialize {DSS_KEY.to_user_string()} first (data source sessions "
                         f"of every replica are derived from the registered segments)")
    return ReplicaClock(*clock, switches)


def build_ha_assets(replicas: list[str], hourly: dg.PartitionsDefinition) -> list:
    @dg.asset(
        key=DSS_KEY,
        deps=[segments_key(r) for r in replicas],
        group_name=HA_GROUP,
        kinds={"polars", "parquet"},
        description="Data source sessions: each replica's unbroken stretches of each T-Server's "
                    "events (breaks at restarts, switchovers, link disconnects, sequence-number "
                    "gaps, missing segments, silences), and each replica's clock offset against "
                    "the first replica, estimated from events both logged.",
    )
    def data_source_sessions(context: dg.AssetExecutionContext, logs: LogStorage,
                             icon: IconConfig) -> dg.MaterializeResult:
        switches = icon.snapshot_data().switches()
        skeletons = {r: logs.segments(r).skeleton() for r in replicas}
        offsets = dss.clock_offsets(skeletons, switches)
        sessions = pl.concat([dss.sessions(skeletons[r], switches, r) for r in replicas],
                             how="vertical_relaxed")
        logs.data().write_clock(sessions, offsets)
        breaks = sessions.filter(pl.col("end_reason").is_not_null())["end_reason"].value_counts()
        report(context, f"{sessions.height} data source sessions over {len(replicas)} replica(s)")
        return dg.MaterializeResult(metadata={
            "sessions": sessions.height,
            **{f"sessions_{r}": sessions.filter(pl.col("replica") == r).height for r in replicas},
            **{f"breaks_{reason}": n for reason, n in breaks.iter_rows()},
            "clock_offsets": dg.MetadataValue.md(preview(offsets.with_columns(
                offset_ms=pl.col("offset_us") / 1000).drop("offset_us"), 20)),
            "preview": dg.MetadataValue.md(preview(sessions.select(
                "replica", "switch", "dss_id", "start_ts", "end_ts", "conn_type", "end_reason"), 20)),
        })

    @dg.asset(
        key=COVERAGE_KEY,
        deps=[DSS_KEY],
        partitions_def=hourly,
        group_name=HA_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description="Coverage ledger: for each hour, replica and switch, complete / partial (with "
                    "the exact missing intervals) / missing, in the reference clock.",
    )
    def coverage(context: dg.AssetExecutionContext, logs: LogStorage,
                 icon: IconConfig) -> dg.MaterializeResult:
        clock = load_clock(logs, icon.snapshot_data().switches())
        aligned = dss.align_sessions(clock.sessions, clock.offsets)
        skew = clock.offsets.select(REPLICA="replica", SWITCH="switch",
                                    SKEW_MS=(pl.col("offset_us") // 1000).cast(pl.Int32))
        counts: dict[str, int] = {}
        rows = pl.DataFrame()
        for part in context.partition_keys:
            hour = hour_start(part).replace(tzinfo=None)
            rows = dss.coverage(aligned, hour, replicas).join(skew, on=["REPLICA", "SWITCH"],
                                                              how="left")
            logs.data().write_ledger("ETL_COVERAGE", part, rows)
            for status in rows["STATUS"].to_list():
                counts[status] = counts.get(status, 0) + 1
        return dg.MaterializeResult(metadata={
            **{f"replica_hours_{k}": v for k, v in counts.items()},
            "partitions": len(context.partition_keys),
            "last_hour": dg.MetadataValue.md(preview(rows, 20)) if rows.height else "",
        })

    @dg.asset(
        key=RECONCILED_KEY,
        deps=[parsed_key(r) for r in replicas] + [DSS_KEY],
        partitions_def=hourly,
        group_name=HA_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        # not blocking: the events of the first replica are taken either way, and one call logged
        # differently must not keep every hour of the run out of the IDB
        check_specs=[dg.AssetCheckSpec("replicas_agree", asset=RECONCILED_KEY,
                                       description="Calls that every replica covers completely "
                                                   "were logged the same by each (messages and "
                                                   "DNs of their events)")],
        description="HA reconciliation: each switch's events of the hour from the first replica, "
                    "the stretches it does not cover filled from the next replica (times in the "
                    "reference clock), nothing doubled; the windows no replica covers are "
                    "reported. Writes the reconciliation ledger (ETL_RECONCILE).",
    )
    def reconciled_events(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig):
        switches = icon.snapshot_data().switches()
        clock = load_clock(logs, switches)
        aligned = dss.align_sessions(clock.sessions, clock.offsets)
        registries = {r: logs.segments(r).registry() for r in replicas}
        data = logs.data()
        totals: dict[str, int] = {}
        bad: list[pl.DataFrame] = []
        holes_by_hour: dict[str, int] = {}

        def one_hour(part: str) -> None:
            windows = {}
            for n, r in enumerate(replicas):
                parsed = data.parsed_hour(r, part)
                if parsed is None:
                    raise FileNotFoundError(f"parsed events of replica {r} for {part} are missing: "
                                            f"materialize {parsed_key(r).to_user_string()} first")
                events = with_sources(parsed["events"], registries[r], r, clock)
                windows[r] = renumber(Window(events, parsed["kvpairs"]), n)
            merged = merge_hour(windows, aligned, switches, replicas, part, hour_start(part))
            data.write_reconciled_hour(part, merged.window.events, merged.window.kvpairs)
            # each role's index of the hour: what later hours look back through
            data.write_role_index("gcc", part, gcc_index(merged.window.events,
                                                         merged.window.kvpairs))
            data.write_role_index("gls", part, gls_index(merged.window.events))
            data.write_ledger("ETL_RECONCILE", part, merged.ledger)
            if merged.inconsistent.height:
                bad.append(merged.inconsistent.with_columns(hour=pl.lit(part)))
            for r, n_events, filled in merged.ledger.select("REPLICA", "EVENTS",
                                                            "FILLED_WINDOWS").iter_rows():
                totals[f"events_from_{r}"] = totals.get(f"events_from_{r}", 0) + n_events
                totals[f"windows_filled_by_{r}"] = totals.get(f"windows_filled_by_{r}", 0) + filled
            holes = merged.ledger.filter(pl.col("UNCOVERED") != "").unique("SWITCH").height
            holes_by_hour[part] = holes
            report(context, f"reconciled {part}: " + ", ".join(
                f"{r['SWITCH']} {r['EVENTS']:,} events from {r['REPLICA']}"
                + (f" (filled {r['FILLED']})" if r["FILLED"] else "")
                for r in merged.ledger.iter_rows(named=True))
                + (f"; UNCOVERED on {holes} switch(es)" if holes else ""))

        _, failed = each_hour(
            context, data, RECONCILED_KEY.to_user_string(), context.partition_keys, one_hour,
            inputs=lambda part: [(parsed_key(r).to_user_string(), part) for r in replicas],
            discard=data.discard_reconciled_hour)
        uncovered = sum(holes_by_hour.values())
        inconsistent = pl.concat(bad) if bad else pl.DataFrame()
        check = dg.AssetCheckResult(
            check_name="replicas_agree", passed=inconsistent.height == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"inconsistent_calls": inconsistent.height,
                      **({"sample": dg.MetadataValue.md(preview(inconsistent, 10))}
                         if inconsistent.height else {})})
        return dg.MaterializeResult(
            metadata={**totals, "degraded_windows": uncovered,
                      "partitions": len(context.partition_keys), **failure_metadata(failed)},
            check_results=[check])

    return [data_source_sessions, coverage, reconciled_events]


def read_ledgers(logs: LogStorage, part: str) -> dict[str, pl.DataFrame]:
    """The hour's ETL_COVERAGE and ETL_RECONCILE rows (those written)."""
    found = {name: logs.data().ledger(name, part) for name in LEDGERS}
    return {name: frame for name, frame in found.items() if frame is not None}

