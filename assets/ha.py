"""High availability: data source sessions of every replica, the hourly coverage ledger, and the
reconciliation that merges the replicas' events into one stream per switch: the first replica's
events, and the next replica's where the first has a gap (docs/architecture.md "High
availability"). The role assets read that reconciled stream; the IDB is written from them."""


from pathlib import Path

import shutil

import dagster as dg
import polars as pl

from assets.ingest import _preview, parsed_key, segments_key
from assets.partitions import HOURLY
from assets.progress import report
from assets.resources import IconConfig, LogStorage
from transforms.ha import dss
from transforms.roles.carry import Window, with_sources
from transforms.ha.dss import ReplicaClock
from transforms.ha.reconcile import merge_hour, renumber

HA_GROUP = "ha_reconciliation"
DSS_KEY = dg.AssetKey(["ha", "data_source_sessions"])
COVERAGE_KEY = dg.AssetKey(["ha", "coverage"])
RECONCILED_KEY = dg.AssetKey(["ha", "reconciled_events"])


class HaNotReady(RuntimeError):
    """The data source sessions have not been derived yet."""


def ha_dir(logs: LogStorage) -> Path:
    return Path(logs.data_dir) / "ha"


def _file(part: str) -> str:
    return part.replace(":", "")


def events_dir(logs: LogStorage, part: str) -> Path:
    """The reconciled events of one hour (what the role assets read)."""
    return ha_dir(logs) / "events" / _file(part)


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


def write_atomic(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    frame.write_parquet(tmp)
    tmp.replace(path)


def load_clock(logs: LogStorage, switches: pl.DataFrame) -> ReplicaClock:
    folder = ha_dir(logs)
    if not (folder / "sessions.parquet").exists():
        raise HaNotReady(f"materialize {DSS_KEY.to_user_string()} first (data source sessions "
                         f"of every replica are derived from the registered segments)")
    return ReplicaClock(pl.read_parquet(folder / "sessions.parquet"),
                        pl.read_parquet(folder / "clock_offsets.parquet"), switches)


def build_ha_assets(replicas: list[str]) -> list:
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
        write_atomic(ha_dir(logs) / "sessions.parquet", sessions)
        write_atomic(ha_dir(logs) / "clock_offsets.parquet", offsets)
        breaks = sessions.filter(pl.col("end_reason").is_not_null())["end_reason"].value_counts()
        report(context, f"{sessions.height} data source sessions over {len(replicas)} replica(s)")
        return dg.MaterializeResult(metadata={
            "sessions": sessions.height,
            **{f"sessions_{r}": sessions.filter(pl.col("replica") == r).height for r in replicas},
            **{f"breaks_{reason}": n for reason, n in breaks.iter_rows()},
            "clock_offsets": dg.MetadataValue.md(_preview(offsets.with_columns(
                offset_ms=pl.col("offset_us") / 1000).drop("offset_us"), 20)),
            "preview": dg.MetadataValue.md(_preview(sessions.select(
                "replica", "switch", "dss_id", "start_ts", "end_ts", "conn_type", "end_reason"), 20)),
        })

    @dg.asset(
        key=COVERAGE_KEY,
        deps=[DSS_KEY],
        partitions_def=HOURLY,
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
            hour = HOURLY.time_window_for_partition_key(part).start.replace(tzinfo=None)
            rows = dss.coverage(aligned, hour, replicas).join(skew, on=["REPLICA", "SWITCH"],
                                                              how="left")
            write_atomic(ha_dir(logs) / "coverage" / f"{_file(part)}.parquet", rows)
            for status in rows["STATUS"].to_list():
                counts[status] = counts.get(status, 0) + 1
        return dg.MaterializeResult(metadata={
            **{f"replica_hours_{k}": v for k, v in counts.items()},
            "partitions": len(context.partition_keys),
            "last_hour": dg.MetadataValue.md(_preview(rows, 20)) if rows.height else "",
        })

    @dg.asset(
        key=RECONCILED_KEY,
        deps=[parsed_key(r) for r in replicas] + [DSS_KEY],
        partitions_def=HOURLY,
        group_name=HA_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[dg.AssetCheckSpec("replicas_agree", asset=RECONCILED_KEY, blocking=True,
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
        totals: dict[str, int] = {}
        bad: list[pl.DataFrame] = []
        uncovered = 0
        for part in context.partition_keys:
            windows = {}
            for n, r in enumerate(replicas):
                folder = logs.parsed_dir(r, part)
                if not (folder / "events.parquet").exists():
                    raise FileNotFoundError(f"parsed events of replica {r} for {part} are missing: "
                                            f"materialize {parsed_key(r).to_user_string()} first")
                events = with_sources(pl.read_parquet(folder / "events.parquet"), registries[r],
                                      r, clock)
                windows[r] = renumber(Window(events, pl.read_parquet(folder / "kvpairs.parquet")), n)
            merged = merge_hour(windows, aligned, switches, replicas, part,
                                HOURLY.time_window_for_partition_key(part).start)
            write_staged(events_dir(logs, part), {"events": merged.window.events,
                                                  "kvpairs": merged.window.kvpairs})
            write_atomic(ha_dir(logs) / "reconcile" / f"{_file(part)}.parquet", merged.ledger)
            if merged.inconsistent.height:
                bad.append(merged.inconsistent.with_columns(hour=pl.lit(part)))
            for r, n_events, filled in merged.ledger.select("REPLICA", "EVENTS",
                                                            "FILLED_WINDOWS").iter_rows():
                totals[f"events_from_{r}"] = totals.get(f"events_from_{r}", 0) + n_events
                totals[f"windows_filled_by_{r}"] = totals.get(f"windows_filled_by_{r}", 0) + filled
            holes = merged.ledger.filter(pl.col("UNCOVERED") != "").unique("SWITCH").height
            uncovered += holes
            report(context, f"reconciled {part}: " + ", ".join(
                f"{r['SWITCH']} {r['EVENTS']:,} events from {r['REPLICA']}"
                + (f" (filled {r['FILLED']})" if r["FILLED"] else "")
                for r in merged.ledger.iter_rows(named=True))
                + (f"; UNCOVERED on {holes} switch(es)" if holes else ""))
        inconsistent = pl.concat(bad) if bad else pl.DataFrame()
        check = dg.AssetCheckResult(
            check_name="replicas_agree", passed=inconsistent.height == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"inconsistent_calls": inconsistent.height,
                      **({"sample": dg.MetadataValue.md(_preview(inconsistent, 10))}
                         if inconsistent.height else {})})
        return dg.MaterializeResult(
            metadata={**totals, "degraded_windows": uncovered,
                      "partitions": len(context.partition_keys)},
            check_results=[check])

    return [data_source_sessions, coverage, reconciled_events]


def read_ledgers(logs: LogStorage, part: str) -> dict[str, pl.DataFrame]:
    folder = ha_dir(logs)
    name = _file(part) + ".parquet"
    out = {}
    for table_name, sub in (("ETL_COVERAGE", "coverage"), ("ETL_RECONCILE", "reconcile")):
        path = folder / sub / name
        if path.exists():
            out[table_name] = pl.read_parquet(path)
    return out

