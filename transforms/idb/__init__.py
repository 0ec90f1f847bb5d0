"""The Interaction Database: its tables and columns (`schema`), every enumeration
(`dictionary`), the columns every row carries (`columns`), `timecodes`, the SQL store with its
idempotent writes (`store.IdbStore`) of hours taken in batches (`batch`), `explain` (a
call's events beside its rows), `log_messages` (G_LOG_MESSAGES rows), `references` (which
columns refer to which rows) and `purge` (removing what ended before a cut-off)."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "batch": ["latest_versions"],
    "columns": ["gsys", "lineage", "row_id", "times"],
    "dictionary": ["dictionary"],
    "binding": ["BindingError", "bind"],
    "explain": ["ExplainError", "explain_call", "explain_chain"],
    "log_messages": ["LogMessage", "closure_messages", "message_frames"],
    # purge / retention (docs/purge.md): the module, its plan and its run
    "purge": ["PurgePlan", "PurgeReport", "iso_time", "parse_cutoff", "plan_purge", "purge",
              "retention_cutoffs"],
    "references": ["NOT_REFERENCES", "REFERENCES", "REFERENCES_BY_COLUMN", "SOFT_REFERENCES"],
    "schema": ["BOOKKEEPING", "DSS_TABLES", "TABLES", "TSERVER_DSS_TABLES", "Table", "table"],
    "store": ["IdbError", "IdbStore", "WriteReport", "describe_db_error", "redact_url"],
    "timecodes": ["time_triple_values", "timecode_frame"],
})
