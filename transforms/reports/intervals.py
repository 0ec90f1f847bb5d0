"""Time arithmetic the reports share: an hour's window, seconds between two times, an interval
clipped to a window, and the seconds a set of possibly overlapping intervals covers."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from transforms.hours import hour_span


def hour_window(key: str) -> tuple[datetime, datetime]:
    """[start, end) of an hour key, naive UTC (the IDB's datetime columns are naive UTC)."""
    start, end = hour_span(key)
    return start.replace(tzinfo=None), end.replace(tzinfo=None)


def seconds(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """end - start in seconds (millisecond precision)."""
    return (end - start).dt.total_milliseconds().cast(pl.Float64) / 1000.0


def clipped_seconds(start: pl.Expr, end: pl.Expr, lo: datetime, hi: datetime) -> pl.Expr:
    """Seconds of [start, end) inside [lo, hi); an open end (null) runs to `hi`."""
    a = pl.max_horizontal(start, pl.lit(lo))
    b = pl.min_horizontal(end.fill_null(pl.lit(hi)), pl.lit(hi))
    return pl.max_horizontal(seconds(a, b), pl.lit(0.0))


def union_seconds(frame: pl.DataFrame, by: list[str], start: str, end: str) -> pl.DataFrame:
    """Per group `by`, the seconds the union of the intervals [start, end) covers: overlapping
    intervals (the same code stated on two DNs of one login) count once."""
    if frame.height == 0:
        return frame.select(*by).with_columns(SECONDS=pl.lit(0.0))
    ordered = frame.sort([*by, start]).with_columns(
        reach=pl.col(end).cum_max().over(by))
    # an interval starts a new run when it begins after every earlier one of its group ended
    runs = ordered.with_columns(
        run=(pl.col(start) > pl.col("reach").shift(1).over(by)).fill_null(True).cum_sum().over(by))
    return (runs.group_by([*by, "run"]).agg(a=pl.col(start).min(), b=pl.col(end).max())
            .group_by(by).agg(SECONDS=seconds(pl.col("a"), pl.col("b")).sum()))
