"""Ingest: raw log segments -> hourly parsed events, one line of assets per HA replica."""

import shutil
from datetime import datetime

import dagster as dg
import polars as pl

from assets.partitions import HOURLY
from assets.progress import report
from assets.resources import IconConfig, LogStorage

RAW_GROUP = "raw_logs"
PARSED_GROUP = "parsed_events"


def segments_key(replica: str) -> dg.AssetKey:
    return dg.AssetKey([f"replica_{replica}", "log_segments"])


def parsed_key(replica: str) -> dg.AssetKey:
    return dg.AssetKey([f"replica_{replica}", "parsed_events"])


def _preview(frame: pl.DataFrame, rows: int = 10) -> str:
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_rows=rows, tbl_cols=12,
                   fmt_str_lengths=40):
        return str(frame.head(rows))


def build_ingest_assets(replica: str) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=segments_key(replica),
        group_name=RAW_GROUP,
        kinds={"polars", "parquet"},
        description=(f"Registry of replica {replica!r}'s raw T-Server log segments: path, size, "
                     "SHA-256, application, host, time zone, first/last event time, line ledger. "
                     "New or changed segments are parsed into a per-segment cache; copies of a "
                     "segment are flagged as duplicates and parsed once."),
    )
    def log_segments(context: dg.AssetExecutionContext, logs: LogStorage,
                     icon: IconConfig) -> dg.MaterializeResult:
        store = logs.segments(replica)
        options = logs.parse_options(redact_keys=icon.masked_keys())
        result = store.refresh(options, logs.workers, progress=lambda m: report(context, m))
        reg = result.registry
        live = reg.filter(pl.col("duplicate_of").is_null())
        first, last = live["first_ts"].min(), live["last_ts"].max()
        return dg.MaterializeResult(metadata={
            "segments": len(reg), "new": result.new, "changed": result.changed,
            "unchanged": result.unchanged, "removed": result.removed,
            "duplicates": result.duplicates, "parsed_now": len(result.parsed),
            "bytes": int(live["size_bytes"].sum() or 0), "lines": int(live["lines"].sum() or 0),
            "events": int(live["events"].sum() or 0),
            "quarantined_lines": int(live["quarantined"].sum() or 0),
            "unplaced_events": int(live["unplaced_events"].sum() or 0),
            "first_event": str(first) if first else "", "last_event": str(last) if last else "",
            "seconds": round(result.seconds, 2),
            "preview": dg.MetadataValue.md(_preview(reg.select(
                "segment_id", "path", "status", "app", "first_ts", "last_ts", "events", "lines",
                "quarantined"))),
        })

    @dg.asset(
        key=parsed_key(replica),
        deps=[segments_key(replica)],
        partitions_def=HOURLY,
        group_name=PARSED_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(f"Replica {replica!r}'s TLib events of one UTC hour (an event belongs to the "
                     "hour of its timestamp), with their KV pairs and the hour's standard log "
                     "events, as Parquet under the data folder."),
    )
    def parsed_events(context: dg.AssetExecutionContext, logs: LogStorage) -> dg.MaterializeResult:
        store = logs.segments(replica)
        totals = {"events": 0, "kvpairs": 0, "std_events": 0}
        for key in context.partition_keys:
            window = HOURLY.time_window_for_partition_key(key)
            frames = store.slice_hour(window.start, window.end)
            counts = write_partition(logs, replica, key, frames)
            for name, n in counts.items():
                totals[name] += n
            report(context, f"{replica} {key}: {counts['events']:,} events")
        events = frames.get("events") if len(context.partition_keys) == 1 else None
        metadata = {**totals, "partitions": len(context.partition_keys)}
        if events is not None and events.height:
            metadata["first_event"] = str(events["ts"].min())
            metadata["last_event"] = str(events["ts"].max())
            metadata["messages"] = dg.MetadataValue.md(_preview(
                events.group_by("message").len().sort("len", descending=True), 15))
        return dg.MaterializeResult(metadata=metadata)

    return [log_segments, parsed_events]


def write_partition(logs: LogStorage, replica: str, key: str,
                    frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Replace the partition's folder atomically (written aside, then renamed)."""
    final = logs.parsed_dir(replica, key)
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    counts = {}
    for name in ("events", "kvpairs", "std_events"):
        frame = frames.get(name)
        if frame is None:
            frame = empty_partition_frame(name)
        frame.write_parquet(staging / f"{name}.parquet")
        counts[name] = frame.height
    (staging / "_written").write_text(datetime.now().isoformat())
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    return counts


def empty_partition_frame(name: str) -> pl.DataFrame:
    from transforms.parsing.event_columns import EVENT_SCHEMA
    from transforms.parsing.parse import KVPAIR_SCHEMA, STD_SCHEMA

    schema = {"events": {**EVENT_SCHEMA, "app": pl.String}, "kvpairs": KVPAIR_SCHEMA,
              "std_events": STD_SCHEMA}[name]
    return pl.DataFrame(schema=schema)
