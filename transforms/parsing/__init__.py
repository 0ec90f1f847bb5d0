"""Log lines to events (docs/architecture.md "Parsing").

Public: `parse.Parser`, `parse.ParseOptions` and the output schemas (`parse.KVPAIR_SCHEMA`,
`STD_SCHEMA`, `QUARANTINE_SCHEMA`, `LINE_KINDS`, `event_columns.EVENT_SCHEMA`);
`parse_files.parse_to_parquet` / `discover` (folders of segments, worker processes);
`logread.iter_line_chunks` (a file as chunks of lines) and `parquet_sink` (the output folder).
"""
