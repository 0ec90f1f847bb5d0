"""Pure Polars transforms, one package per stage, in the order data flows (no Dagster here):

* `parsing`  — log lines to events: reading files, headers, line shapes, dates, TLib blocks,
  attributes and KV lists, typed event columns, the line ledger, Parquet output;
* `segments` — the segment registry of a replica folder, the parse cache, hour slices;
* `ha`       — data source sessions, clock offsets, coverage, reconciliation of replicas;
* `roles`    — the IDB rows of each ICON role (`gcc`, `gls`, `gud`) from a window of events,
  one hour of a role and what it carries to the next;
* `idb`      — the IDB's schema, dictionary, row columns, time codes, the SQL store, explain;
* `config`   — the options file (every option checked), the configuration snapshot, the
  attached-data spec.

Beside them: `datafolder` (every path under the data folder, its atomic writes and reads) and
`hours` (the hour keys every stage after parsing works in). Each package's `__init__` lists its
public names; another package uses no other.
"""
