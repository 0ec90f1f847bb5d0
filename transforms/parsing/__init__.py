"""Log lines to events (docs/architecture.md "Parsing"): reading files (`logread`), headers,
line shapes, dates, TLib blocks, attributes and KV lists, typed event columns, the line ledger,
Parquet output (`parquet_sink`) and worker processes over folders (`parse_files`)."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "copies": ["Copy", "find_copies"],
    "event_columns": ["EVENT_SCHEMA"],
    "header": ["OCS_APP_TYPE"],
    "logread": ["DEFAULT_CHUNK_BYTES", "LogReadError", "iter_line_chunks"],
    "parquet_sink": ["parquet_sink"],
    "parse": ["KVPAIR_SCHEMA", "LINE_KINDS", "QUARANTINE_SCHEMA", "STD_SCHEMA", "FileReport",
              "ParseOptions", "Parser", "SegmentJob", "plan_jobs", "read_header"],
    "parse_files": ["default_workers", "discover", "discover_all", "merge_reports",
                    "parse_to_parquet", "run_jobs", "worker_pool"],
})
