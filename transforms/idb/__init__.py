"""The Interaction Database: its tables and columns (`schema`), every enumeration (`dictionary`),
the columns every row carries (`columns`), `timecodes`, the SQL store with its idempotent writes
(`store.IdbStore`) and `explain` (a call's events beside its rows)."""
