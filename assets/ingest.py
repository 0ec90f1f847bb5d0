"""Ingest: raw log segments -> hourly parsed events, one line of assets per HA replica."""

import dagster as dg
import polars as pl

from assets.failures import each_hour, failure_metadata
from assets.metadata import preview
from assets.progress import report
from assets.resources import IconConfig, LogStorage
from quality.accounting import quarantined_share
from transforms.hours import hour_span
from transforms.parsing import EVENT_SCHEMA, KVPAIR_SCHEMA, STD_SCHEMA, ParseOptions

RAW_GROUP = "raw_logs"
PARSED_GROUP = "parsed_events"


def segments_key(replica: str) -> dg.AssetKey:
    return dg.AssetKey([f"replica_{replica}", "log_segments"])


def parsed_key(replica: str) -> dg.AssetKey:
    return dg.AssetKey([f"replica_{replica}", "parsed_events"])


class HourRefused(ValueError):
    """An hour the options say must not be loaded (too much of it quarantined)."""


# what an hour of a replica holds, also when it has no event
PARSED_SCHEMAS = {"events": {**EVENT_SCHEMA, "app": pl.String}, "kvpairs": KVPAIR_SCHEMA,
                  "std_events": STD_SCHEMA}


def build_ingest_assets(replica: str, hourly: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
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
        options = ParseOptions(redact_keys=icon.masked_keys())
        with logs.data().registering(replica, on_wait=context.log.info):
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
            "preview": dg.MetadataValue.md(preview(reg.select(
                "segment_id", "path", "status", "app", "first_ts", "last_ts", "events", "lines",
                "quarantined"))),
        })

    @dg.asset(
        key=parsed_key(replica),
        deps=[segments_key(replica)],
        partitions_def=hourly,
        group_name=PARSED_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(f"Replica {replica!r}'s TLib events of one UTC hour (an event belongs to the "
                     "hour of its timestamp), with their KV pairs and the hour's standard log "
                     "events, as Parquet under the data folder."),
    )
    def parsed_events(context: dg.AssetExecutionContext, logs: LogStorage,
                      icon: IconConfig) -> dg.MaterializeResult:
        store = logs.segments(replica)
        registry = store.registry()
        data = logs.data()
        fail = float(icon.options().get("icon-etl", "max-quarantine-share-fail"))
        totals = {name: 0 for name in PARSED_SCHEMAS}

        def one_hour(key: str) -> dict[str, pl.DataFrame]:
            share = quarantined_share(registry, *hour_span(key))
            if share > fail:
                raise HourRefused(f"{share:.2%} of the lines of its segments are quarantined, over "
                                  f"[icon-etl] max-quarantine-share-fail = {fail}")
            frames = store.slice_hour(*hour_span(key))
            frames = {name: frames.get(name, pl.DataFrame(schema=schema))
                      for name, schema in PARSED_SCHEMAS.items()}
            data.write_parsed_hour(replica, key, frames)
            counts = {name: frame.height for name, frame in frames.items()}
            for name, n in counts.items():
                totals[name] += n
            report(context, f"{replica} {key}: {counts['events']:,} events")
            return frames

        done, failed = each_hour(context, data, parsed_key(replica).to_user_string(),
                                 context.partition_keys, one_hour,
                                 discard=lambda key: data.discard_parsed_hour(replica, key))
        events = next(iter(done.values()))["events"] \
            if len(context.partition_keys) == 1 and done else None
        metadata = {**totals, "partitions": len(context.partition_keys),
                    **failure_metadata(failed)}
        if events is not None and events.height:
            metadata["first_event"] = str(events["ts"].min())
            metadata["last_event"] = str(events["ts"].max())
            metadata["messages"] = dg.MetadataValue.md(preview(
                events.group_by("message").len().sort("len", descending=True), 15))
        return dg.MaterializeResult(metadata=metadata)

    return [log_segments, parsed_events]

