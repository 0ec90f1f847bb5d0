"""IDB time columns: every time is a triple X (GMT date-time), X_TS (UTC seconds) and X_TCODE
(key of G_TIMECODE: the UTC seconds rounded down to five minutes)."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

TIMECODE_SECONDS = 300


def time_triple(name: str, expr: pl.Expr) -> list[pl.Expr]:
    """`expr` is a UTC datetime; returns the three IDB columns (GMT time kept at ms precision)."""
    ts = expr.dt.epoch("s")
    return [
        expr.dt.replace_time_zone(None).dt.cast_time_unit("ms").alias(name),
        ts.alias(f"{name}_TS"),
        (ts - ts % TIMECODE_SECONDS).cast(pl.Int32).alias(f"{name}_TCODE"),
    ]


def time_triple_values(name: str, moment: datetime | None) -> dict:
    if moment is None:
        return {name: None, f"{name}_TS": None, f"{name}_TCODE": None}
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    ts = int(moment.timestamp())
    return {name: moment.astimezone(timezone.utc).replace(tzinfo=None), f"{name}_TS": ts,
            f"{name}_TCODE": ts - ts % TIMECODE_SECONDS}


def timecode_frame(first: datetime, last: datetime) -> pl.DataFrame:
    """G_TIMECODE rows covering [first, last] (what gsysInitTimeCode would fill)."""
    start = int(first.timestamp()) // TIMECODE_SECONDS * TIMECODE_SECONDS
    end = int(last.timestamp()) // TIMECODE_SECONDS * TIMECODE_SECONDS
    ids = pl.int_range(start, end + TIMECODE_SECONDS, TIMECODE_SECONDS, dtype=pl.Int64, eager=True)
    return pl.DataFrame({"ID": ids}).with_columns(
        TIME=pl.from_epoch(pl.col("ID"), time_unit="s").dt.cast_time_unit("ms"))


