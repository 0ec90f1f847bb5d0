"""Rebuild full timestamps for time-only log lines (tserver-log-format.md §1.5, hazards H1-H3).

TLib headers (`@HH:MM:SS.ffff`) and SIP Server traces print only the time of day. The date comes
from the last line that prints one (ISO 8601 standard events, hourly check points) or, before any
such line, from the segment header's `Local time`. Between two dated lines the day advances when
the clock jumps back by more than 12 hours (midnight) and goes back one day when it jumps forward
by more than 12 hours (a block carried over from the previous segment). Smaller backward steps are
the logging library's startup buffer, not a new day.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

US_PER_DAY = 86_400_000_000
HALF_DAY_US = US_PER_DAY // 2


@dataclass
class TimelineState:
    """Where the clock stood after the last timestamped line: carried between chunks/segments."""

    day: int | None = None       # days since 1970-01-01 (local calendar)
    tod_us: int | None = None    # time of day, µs


def rebuild_dates(top: pl.DataFrame, state: TimelineState) -> tuple[pl.DataFrame, TimelineState]:
    """Add `local_us` (µs since 1970 in the log's local clock) to lines that carry a time.

    `top` must have `tod_us` (time of day, µs, null when the line has no time) and `day` (days
    since 1970 when the line prints a date, else null), in file order.
    """
    timed = pl.col("tod_us").is_not_null()
    prev_tod = pl.col("tod_us").shift(1)
    if state.tod_us is not None:
        prev_tod = prev_tod.fill_null(state.tod_us)
    step = pl.col("tod_us") - prev_tod
    roll = (pl.when(step < -HALF_DAY_US).then(1).when(step > HALF_DAY_US).then(-1).otherwise(0))
    seed_day = state.day
    out = (
        top.lazy()
        .with_row_index("_r")
        .with_columns(_timed=timed)
        .filter(pl.col("_timed"))
        .with_columns(_roll=pl.when(pl.col("day").is_not_null()).then(0).otherwise(roll))
        .with_columns(_seg=pl.col("day").is_not_null().cum_sum())
        .with_columns(
            _anchor=pl.col("day").first().over("_seg"),
            _cum=pl.col("_roll").cum_sum().over("_seg"),
        )
        .with_columns(
            _day=pl.when(pl.col("day").is_not_null()).then(pl.col("day"))
            .otherwise(pl.col("_anchor").fill_null(pl.lit(seed_day, dtype=pl.Int32)) + pl.col("_cum")),
        )
        .with_columns(local_us=pl.col("_day").cast(pl.Int64) * US_PER_DAY + pl.col("tod_us"))
        .select("_r", "local_us", "_day")
        .collect()
    )
    last = out.tail(1)
    new_state = state
    if last.height:
        day = last["_day"][0]
        tod = int(last["local_us"][0] - day * US_PER_DAY) if day is not None else None
        new_state = TimelineState(day=day, tod_us=tod)
        if day is None:  # no date known yet: keep the time of day for rollover detection
            new_state = TimelineState(day=None, tod_us=top.filter(timed)["tod_us"][-1])
    dated = (top.with_row_index("_r").join(out.select("_r", "local_us"), on="_r", how="left")
             .drop("_r"))
    return dated, new_state
