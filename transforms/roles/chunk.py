"""A chunk of a role: consecutive hours built at once, from their reconciled events and the
earlier events of what is still open when they start (transforms/roles/lookback.py). No chunk
waits for another: the IDB rows come out the same however the hours are cut into chunks, in
whatever order the chunks run (docs/architecture.md "Hours that give one answer").

Each entity the build gives is kept in the hour of its last change (`owners`: its last event, or
the first event after the moment a closure without an event applies, like a call closed by
silence), with that hour as its ETL_PARTITION: where the same entity is written by two chunks,
the later hour wins in the IDB, and it holds every event the earlier one held. An entity whose
rows the chunk does not change (open and silent, or changed last before the chunk) is not kept
again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def chunk_window(data: DataFolder, keys: list[str], lookback: Lookback,
                 columns: Sequence[str] | None = None,
                 narrow: Callable[[Window], Window] | None = None
                 ) -> tuple[Window, int, pl.Series]:
    """The reconciled events of `keys` and the earlier events `lookback` selects (counted), and
    the times of the chunk's own events, in order; `columns`: the event columns to read (all);
    `narrow`: applied to each hour as it is read (the window never holds what it drops)."""
    def read(key: str) -> Window | None:
        hour = data.reconciled_hour(key, columns)
        if hour is None:
            return None
        window = Window(hour["events"], hour["kvpairs"])
        return narrow(window) if narrow is not None else window

    hours = []
    for key in keys:
        hour = read(key)
        if hour is None:
            raise PartitionOrderError(f"the reconciled events of {key} are missing: materialize "
                                      f"ha/reconciled_events for {key} first")
        hours.append(hour)
    # each earlier hour is cut to what the look-back selects as soon as it is read
    selected: list[Window] = []
    for key in lookback.hours:
        hour = read(key)
        if hour is not None:
            events = lookback.select(hour.events)
            selected.append(Window(events, hour.kvpairs.join(
                events.select("file_id", "line"), on=["file_id", "line"], how="semi")))
    earlier = Window.empty()
    if selected:
        earlier = Window(pl.concat([w.events for w in selected], how="diagonal_relaxed"),
                         pl.concat([w.kvpairs for w in selected], how="diagonal_relaxed"))
    own = Window(pl.concat([h.events for h in hours], how="diagonal_relaxed"),
                 pl.concat([h.kvpairs for h in hours], how="diagonal_relaxed"))
    return earlier + own, earlier.events.height, own.events["ts"].drop_nulls().sort()


def reached_before(data: DataFolder, keys: list[str], lookback: Lookback) -> datetime | None:
    """The last event of the reconciled stream before the chunk (over the hours the look-back
    reaches): what the data had reached when the chunk starts."""
    for key in reversed(lookback.hours):
        path = data.reconciled_events_file(key)
        if path.exists() and hour_start(key) < hour_start(keys[0]):
            last = pl.scan_parquet(path).select(pl.col("ts").max()).collect().item()
            if last is not None:
                return last
    return None


def owners(status: pl.DataFrame, keys: list[str], chunk_times: pl.Series | None = None,
           before: datetime | None = None) -> pl.DataFrame:
    """entity -> the hour of `keys` that keeps it: the hour of its last change, when that is in
    the chunk. Its last change is its last event or, for an entity closed without an event of
    its own (`settles_at`), the first event of the data at or after that moment, if later: the
    hour every cut of the hours gives it. An entity still open is kept at its last event in the
    chunk; one whose last change came before the chunk (the look-back took more than needed)
    is not kept: an earlier hour has it as it is."""
    first = hour_start(keys[0])
    settles = (status["settles_at"] if "settles_at" in status.columns
               else pl.Series("settles_at", [None] * status.height, pl.Datetime("us", "UTC")))
    times = (chunk_times if chunk_times is not None
             else pl.Series("ts", [], pl.Datetime("us", "UTC"))).cast(settles.dtype)
    settled = (status.with_columns(settles_at=settles).with_row_index("_row")
               .sort("settles_at", nulls_last=True)
               .join_asof(times.to_frame("_at").sort("_at"), left_on="settles_at",
                          right_on="_at", strategy="forward")
               .sort("_row"))
    reached = (pl.col("settles_at") <= pl.lit(before, settles.dtype)) if before is not None \
        else pl.lit(False)
    # settled before the chunk (the data had reached the moment): its last event is its change
    change = (pl.when(pl.col("settles_at").is_null() | reached).then(pl.col("last_ts"))
              .otherwise(pl.max_horizontal("last_ts", pl.coalesce("_at", "settles_at"))))
    kept = settled.with_columns(_change=pl.when(pl.col("open")).then(pl.col("last_ts"))
                                .otherwise(change)).filter(pl.col("_change") >= first)
    return kept.select("entity", hour=pl.col("_change").dt.truncate("1h")
                       .dt.strftime("%Y-%m-%d-%H:%M")).unique("entity", keep="last")


def split_by_hour(result: RoleResult, keys: list[str], kept: pl.DataFrame) -> dict[str, RoleResult]:
    """The chunk's result as the hours that keep its entities (`kept`: `owners`): rows with
    ETL_PARTITION = that hour (a table without entity columns goes with the chunk's last
    hour)."""
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
              narrow: Callable[[Window], Window] | None = None,
              columns: Sequence[str] | None = None) -> RoleChunk:
    """Build the chunk's window at once, and keep each entity in its hour (`split_by_hour`).
    `narrow(window)`: drops what the role never reads; `columns`: the only event columns it
    reads (a window of busy hours holds a fraction of the memory)."""
    window, earlier, chunk_times = chunk_window(data, keys, lookback, columns, narrow)
    result = build(window, keys[-1])
    hours = owners(result.status, keys, chunk_times, reached_before(data, keys, lookback))
    for key, part in split_by_hour(result, keys, hours).items():
        data.write_role_hour(role, key, part.tables, part.status)
    kept = hours["entity"]
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


def plan_chunks(keys: list[str], workers: int, max_hours: int,
                weights: dict[str, int] | None = None, per_worker: int = 2) -> list[list[str]]:
    """Consecutive hours cut into chunks of at most `max_hours`. With several workers, a chunk
    also stops at about a `per_worker` x `workers`-th of the run's `weights` (events per hour),
    so that a day's busy hours are spread over the workers rather than left to one of them;
    `per_worker` 0: `max_hours` alone cuts (a role whose look-back is long reads it again for
    every chunk)."""
    runs: list[list[str]] = []
    for key in sorted(set(keys)):
        if runs and hour_start(key) == hour_start(runs[-1][-1]) + HOUR:
            runs[-1].append(key)
        else:
            runs.append([key])
    weight = (weights or {}).get
    total = sum(weight(k, 1) for k in keys)
    target = total / (per_worker * workers) if workers > 1 and per_worker else float("inf")
    chunks: list[list[str]] = []
    for run in runs:
        chunk: list[str] = []
        held = 0
        for key in run:
            if chunk and (len(chunk) == max_hours or held + weight(key, 1) > target):
                chunks.append(chunk)
                chunk, held = [], 0
            chunk.append(key)
            held += weight(key, 1)
        chunks.append(chunk)
    return chunks


def first_data(sessions: pl.DataFrame) -> datetime | None:
    """When the loaded logs start (the first data source session)."""
    return sessions["start_ts"].min() if sessions.height else None


def monitored_switches(sessions: pl.DataFrame) -> set[str]:
    """Switches whose T-Server logs are loaded (in any replica)."""
    return set(sessions["switch"].unique().to_list())
