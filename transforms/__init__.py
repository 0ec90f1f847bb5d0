"""Pure Polars transforms, one package per stage, in the order data flows (no Dagster here):

* `parsing`  — log lines to events: reading files, headers, line shapes, dates, TLib blocks,
  attributes and KV lists, typed event columns, the line ledger, Parquet output;
* `segments` — the segment registry of a replica folder, the parse cache, hour slices;
* `ha`       — data source sessions, clock offsets, coverage, reconciliation of replicas;
* `roles`    — the IDB rows of each ICON role (`gcc`, `gls`, `gud`) from a window of events,
  and what an hour carries to the next (`carry`);
* `idb`      — the IDB's schema, dictionary, row columns, time codes, the SQL store, explain;
* `config`   — the options file, the configuration snapshot, the attached-data spec.
"""
