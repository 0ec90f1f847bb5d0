"""A chunk of a role: consecutive hours built at once, from their reconciled events and the
earlier events of what is still open when they start (transforms/roles/lookback.py). No chunk
waits for another: the IDB rows come out the same however the hours are cut into chunks, in
whatever order the chunks run (docs/architecture.md "Hours that give one answer").

Each entity the build gives is kept in the hour of its last event (or the chunk's first hour, for
an entity that changed without an event of the chunk: a call closed by silence), with that hour
as its ETL_PARTITION: where the same entity is written by two chunks, the later hour wins in the
IDB, and it holds every event the earlier one held. An entity still open whose rows the chunk
does not change (no event in it) is not kept again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from transforms.datafolder import DataFolder
from transforms.hours import HOUR, hour_start
from transforms.idb.schema import table
from transforms.roles.carry import Window
from transforms.roles.lookback import Lookback
from transforms.roles.result import STATUS_SCHEMA, RoleResult


class PartitionOrderError(RuntimeError):
    """An hour was asked for before what it builds on (its reconciled events, another role)."""


@dataclass
class RoleChunk:
    """What one chunk of a role did."""

    keys: list[str]
    result: RoleResult              # the entities kept, over all of the chunk's hours
    events: int                     # events in the window (the earlier ones included)
    earlier_events: int             # of which from before the chunk


def chunk_window(data: DataFolder, keys: list[str], lookback: Lookback) -> tuple[Window, int]:
    """The reconciled events of `keys`, and the earlier events `lookback` selects (counted)."""
    hours = []
    for key in keys:
        hour = data.reconciled_hour(key)
        if hour is None:
            raise PartitionOrderError(f"the reconciled events of {key} are missing: materialize "
                                      f"ha/reconciled_events for {key} first")
        hours.append(hour)
    before = [data.reconciled_hour(key) for key in lookback.hours]
    earlier_events = [lookback.select(h["events"]) for h in before if h is not None]
    earlier = Window.empty()
    if earlier_events:
        events = pl.concat(earlier_events, how="diagonal_relaxed")
        kvpairs = pl.concat([h["kvpairs"] for h in before if h is not None], how="diagonal_relaxed")
        earlier = Window(events, kvpairs.join(events.select("file_id", "line"),
                                              on=["file_id", "line"], how="semi"))
    window = earlier + Window(pl.concat([h["events"] for h in hours], how="diagonal_relaxed"),
                              pl.concat([h["kvpairs"] for h in hours], how="diagonal_relaxed"))
    return window, earlier.events.height


def owners(status: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """entity -> the hour of `keys` that keeps it (None: not kept: open, without an event in the
    chunk)."""
    first = hour_start(keys[0])
    kept = status.filter((pl.col("last_ts") >= first) | ~pl.col("open"))
    return kept.select("entity", hour=pl.when(pl.col("last_ts") >= first)
                       .then(pl.col("last_ts").dt.truncate("1h").dt.strftime("%Y-%m-%d-%H:%M"))
                       .otherwise(pl.lit(keys[0]))).unique("entity", keep="last")


def split_by_hour(result: RoleResult, keys: list[str]) -> dict[str, RoleResult]:
    """The chunk's result as the hours that keep its entities: rows with ETL_PARTITION = that
    hour (a table without entity columns goes with the chunk's last hour)."""
    kept = owners(result.status, keys)
    out = {}
    for key in keys:
        mine = kept.filter(pl.col("hour") == key)["entity"]
        tables = {}
        for name, frame in result.tables.items():
            if "ETL_ENTITY" in frame.columns:
                frame = frame.filter(pl.col("ETL_ENTITY").is_in(mine.implode()))
                if "ETL_PARTITION" in frame.columns:
                    frame = frame.with_columns(ETL_PARTITION=pl.lit(key))
            elif key != keys[-1]:
                frame = frame.clear()
            tables[name] = frame
        out[key] = RoleResult(tables, result.status.filter(pl.col("entity").is_in(mine.implode())))
    return out


def run_chunk(data: DataFolder, role: str, keys: list[str], lookback: Lookback,
              build: Callable[[Window, str], RoleResult],
              narrow: Callable[[Window], Window] | None = None) -> RoleChunk:
    """Build the chunk's window at once, and keep each entity in its hour (`split_by_hour`).
    `narrow(window)`: drops what the role never reads."""
    window, earlier = chunk_window(data, keys, lookback)
    if narrow is not None:
        window = narrow(window)
    result = build(window, keys[-1])
    for key, part in split_by_hour(result, keys).items():
        data.write_role_hour(role, key, part.tables, part.status)
    kept = owners(result.status, keys)["entity"]
    status = result.status.filter(pl.col("entity").is_in(kept.implode()))
    return RoleChunk(keys, RoleResult({n: f.filter(pl.col("ETL_ENTITY").is_in(kept.implode()))
                                       if "ETL_ENTITY" in f.columns else f
                                       for n, f in result.tables.items()}, status),
                     window.events.height, earlier)


def staged_tables(data: DataFolder, role: str, keys: list[str], names: list[str],
                  needed: str) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """`names` tables and the status of what `role` kept in the hours `keys`, the latest version
    of each entity (a later hour's rows replace an earlier hour's); `needed` names the role that
    reads them."""
    found: dict[str, list[pl.DataFrame]] = {name: [] for name in names}
    statuses = []
    for key in keys:
        staged = data.role_hour(role, key)
        if staged is None:
            raise PartitionOrderError(f"{needed} needs {role} of {key}: materialize roles/{role} "
                                      f"for {key} first")
        for name in names:
            found[name].append(staged[0].get(name, table(name).empty())
                               .with_columns(_p=pl.lit(key)))
        statuses.append(staged[1].with_columns(_p=pl.lit(key)))
    out = {name: _latest(frames, "ETL_ENTITY", table(name).empty()) for name, frames in found.items()}
    return out, _latest(statuses, "entity", pl.DataFrame(schema=STATUS_SCHEMA))


def _latest(frames: list[pl.DataFrame], entity: str, empty: pl.DataFrame) -> pl.DataFrame:
    """The rows of each entity from the latest hour that has it."""
    if not frames:
        return empty
    stacked = pl.concat(frames, how="diagonal_relaxed")
    latest = stacked.group_by(entity).agg(_last=pl.col("_p").max())
    return (stacked.join(latest, on=entity).filter(pl.col("_p") == pl.col("_last"))
            .drop("_p", "_last"))


def plan_chunks(keys: list[str], workers: int, max_hours: int) -> list[list[str]]:
    """Consecutive hours cut into chunks of at most `max_hours`, at least `workers` of them when
    there are enough hours (so that every worker has one)."""
    runs: list[list[str]] = []
    for key in sorted(set(keys)):
        if runs and hour_start(key) == hour_start(runs[-1][-1]) + HOUR:
            runs[-1].append(key)
        else:
            runs.append([key])
    size = max(1, min(max_hours, -(-len(keys) // max(workers, 1))))
    return [run[i:i + size] for run in runs for i in range(0, len(run), size)]


def first_data(sessions: pl.DataFrame) -> datetime | None:
    """When the loaded logs start (the first data source session)."""
    return sessions["start_ts"].min() if sessions.height else None


def monitored_switches(sessions: pl.DataFrame) -> set[str]:
    """Switches whose T-Server logs are loaded (in any replica)."""
    return set(sessions["switch"].unique().to_list())
