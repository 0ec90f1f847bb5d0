"""Rebuild full timestamps for time-only log lines (docs/log-format.md "Dates", hazards H1-H3).

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

    Lines without a time are skipped by the clock: every "previous" or "last" below is taken
    with forward fills over the timed lines, so the whole frame is dated in one query (no
    filter, window or join).
    """
    tod = pl.col("tod_us")
    timed = tod.is_not_null()
    dated = timed & pl.col("day").is_not_null()  # a printed date restarts the day count
    prev_tod = tod.forward_fill().shift(1)
    if state.tod_us is not None:
        prev_tod = prev_tod.fill_null(state.tod_us)
    step = tod - prev_tod
    roll = (pl.when(dated | ~timed).then(0)
            .when(step < -HALF_DAY_US).then(1).when(step > HALF_DAY_US).then(-1).otherwise(0))
    rolls = pl.col("_roll").cum_sum()
    # days rolled since the last dated line, and that line's date (before any: the seed)
    since_dated = rolls - pl.when(dated).then(rolls).forward_fill().fill_null(0)
    anchor = pl.when(dated).then(pl.col("day")).forward_fill()
    day = (pl.when(dated).then(pl.col("day"))
           .otherwise(anchor.fill_null(pl.lit(state.day, dtype=pl.Int32)) + since_dated))
    out = (
        top.lazy()
        .with_columns(_roll=roll)
        .with_columns(_day=pl.when(timed).then(day))
        .with_columns(local_us=pl.col("_day").cast(pl.Int64) * US_PER_DAY + tod)
        .collect()
    )
    last = out.filter(timed).select("_day", "local_us", "tod_us").tail(1)
    new_state = state
    if last.height:
        day_, local, tod_ = last.row(0)
        new_state = (TimelineState(day=day_, tod_us=int(local - day_ * US_PER_DAY))
                     if day_ is not None else TimelineState(day=None, tod_us=tod_))
    return out.drop("_roll", "_day"), new_state
