"""What a load tells its user at the end besides the summary line: the input problems (damaged
segments, copies read once, events logged more than once, paths not read)."""

from __future__ import annotations

import polars as pl

from assets.resources import LogStorage

COPIES = ("copy", "partial copy", "duplicate")


def input_problems(logs: LogStorage, hours: list[str]) -> list[str]:
    """One line per problem, in replica and path order; `hours`: those the load processed (for
    the events logged more than once)."""
    lines = []
    for replica in logs.replica_folders():
        store = logs.segments(replica)
        registry = store.registry()
        names = dict(registry.filter(pl.col("segment_id").is_not_null())
                     .select("segment_id", "path").iter_rows())
        damaged = registry.filter(pl.col("duplicate_of").is_null()
                                  & (pl.col("problems").is_not_null() | (pl.col("quarantined") > 0)))
        for row in damaged.sort("path").iter_rows(named=True):
            lines.append(f"{replica}/{row['path']}: {row['problems'] or 'bad lines'} "
                         f"({row['quarantined']} line(s) quarantined)")
        for row in registry.filter(pl.col("duplicate_of").is_not_null()).sort("path").iter_rows(
                named=True):
            what = "copy (same bytes)" if row["status"] == "duplicate" else row["status"]
            damage = f"; {row['problems']}" if row["problems"] else ""
            lines.append(f"{replica}/{row['path']}: {what} of {names.get(row['duplicate_of'])}, "
                         f"read once{damage}")
        for row in store.skipped().iter_rows(named=True):
            to = f" -> {row['target']}" if row["target"] else ""
            lines.append(f"{replica}/{row['path']}{to}: skipped, {row['reason']}")
    lines += repeated_events(logs, hours)
    return lines


def repeated_events(logs: LogStorage, hours: list[str]) -> list[str]:
    """Events a replica logged more than once, loaded once (ETL_RECONCILE.REPEATED)."""
    data = logs.data()
    found = [data.ledger("ETL_RECONCILE", hour) for hour in hours]
    found = [f for f in found if f is not None and f.height]
    if not found:
        return []
    repeated = (pl.concat(found, how="diagonal_relaxed").group_by("REPLICA", "SWITCH")
                .agg(pl.col("REPEATED").sum()).filter(pl.col("REPEATED") > 0).sort("REPLICA", "SWITCH"))
    return [f"{replica}/{switch}: {n:,} event(s) logged more than once (overlapping or copied "
            f"segments), loaded once (ETL_RECONCILE.REPEATED)"
            for replica, switch, n in repeated.iter_rows()]


def hour_failures(logs: LogStorage, hours: list[str]) -> list[str]:
    """What could not be done in `hours`: one line per stage and hour, with its cause
    (assets/failures.py keeps them in the data folder until the hour is done)."""
    return [f"{hour} {stage}: {cause}" for stage, hour, cause in logs.data().failures(hours)]
