"""Column helpers shared by every IDB table builder: surrogate ids, GSYS_* system columns and the
ETL_* lineage columns.

Everything here is a pure function of the row's own data, so a table comes out the same whether
its rows were built from one hour or from a whole day (docs/architecture.md).
"""

from __future__ import annotations

import polars as pl

from transforms.idb.timecodes import time_triple

# polars' hash is stable for a given polars release (pinned in pyproject.toml)
ID_SEED = 0x1C0E71


def row_id(*parts: str | pl.Expr) -> pl.Expr:
    """A 63-bit surrogate key (the IDB's `ID` columns) hashed from the row's natural key."""
    exprs = [pl.lit(p) if isinstance(p, str) else p.cast(pl.String) for p in parts]
    return (pl.concat_str(exprs, separator="\x1f", ignore_nulls=False)
            .hash(seed=ID_SEED) // 2).cast(pl.Int64)


def micros(ts: pl.Expr) -> pl.Expr:
    return ts.dt.epoch("us")


def gsys(domain: pl.Expr, created: pl.Expr, changed: pl.Expr) -> list[pl.Expr]:
    """GSYS_DOMAIN (data source session), GSYS_PARTITION (`partition-type=0`: YYYYMMDD of the
    creation time), GSYS_SEQ / GSYS_USEQ (insert / update sequence: the creating and the last
    changing event's time in microseconds — increasing with event order, not unique)."""
    return [
        domain.cast(pl.Int32).alias("GSYS_DOMAIN"),
        created.dt.strftime("%Y%m%d").cast(pl.Int32).alias("GSYS_PARTITION"),
        micros(created).alias("GSYS_SEQ"),
        micros(changed).alias("GSYS_USEQ"),
    ]


def lineage(entity: pl.Expr, partition: str, source: pl.Expr, source_last: pl.Expr) -> list[pl.Expr]:
    return [entity.alias("ETL_ENTITY"), pl.lit(partition).alias("ETL_PARTITION"),
            source.alias("ETL_SOURCE"), source_last.alias("ETL_SOURCE_LAST")]


def times(**columns: pl.Expr) -> list[pl.Expr]:
    """`times(CREATED=expr, ...)` -> the IDB time triples."""
    out: list[pl.Expr] = []
    for name, expr in columns.items():
        out.extend(time_triple(name, expr))
    return out
