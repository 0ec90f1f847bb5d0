"""Polars side of the checks: the columns the rules derive (previous time in a history, whether a
reference resolves in the IDB), the frame a coverage rule is validated on and the event values it
compares with. All of it stays in Polars; `quality.suites` converts to pandas at the GX boundary."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from quality.rules import CoversEvents, HistoryOrder, Reference, TableRules
from transforms.config import IconOptions
from transforms.idb import TABLES

IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9_]*$")


class ReferenceLookup:
    """Which referenced keys exist in the IDB. Only the keys the hour refers to are looked up
    (bound parameters, in chunks, on the parent's first key column, which the IDB indexes), and
    answers are kept for the rest of the run: the IDB does not change while checks run."""

    def __init__(self, engine: sa.Engine, chunk: int = 500):
        self.engine = engine
        self.chunk = chunk
        self._asked: dict[tuple[str, tuple[str, ...]], set[tuple]] = {}
        self._present: dict[tuple[str, tuple[str, ...]], set[tuple]] = {}
        self.queries = 0

    def present(self, parent: str, parent_key: tuple[str, ...], keys: list[tuple]) -> set[tuple]:
        """The subset of `keys` (tuples in `parent_key` order) that `parent` holds."""
        if parent not in TABLES or not IDENTIFIER.match(parent) or any(
                c not in TABLES[parent].column_names for c in parent_key):
            raise ValueError(f"not an IDB table and key: {parent!r} {parent_key!r}")
        slot = (parent, tuple(parent_key))
        asked = self._asked.setdefault(slot, set())
        present = self._present.setdefault(slot, set())
        todo = sorted({k for k in keys if k not in asked}, key=repr)
        first = parent_key[0]
        columns = ", ".join(parent_key)
        for i in range(0, len(todo), self.chunk):
            part = todo[i:i + self.chunk]
            firsts = sorted({k[0] for k in part}, key=repr)
            marks = ", ".join(f":k{n}" for n in range(len(firsts)))
            query = sa.text(f"SELECT {columns} FROM {parent} WHERE {first} IN ({marks})")
            with self.engine.connect() as conn:
                rows = conn.execute(query, {f"k{n}": v for n, v in enumerate(firsts)}).fetchall()
            self.queries += 1
            wanted = set(part)
            present.update(t for t in (tuple(r) for r in rows) if t in wanted)
            asked.update(part)
        return {k for k in keys if k in present}


def with_references(frame: pl.DataFrame, rules: list[Reference],
                    lookup: ReferenceLookup) -> pl.DataFrame:
    """Add each reference rule's `found` column: True / False; null when the row has no
    reference."""
    for rule in rules:
        keys = frame.select(rule.key).drop_nulls().unique()
        values = [tuple(r) for r in keys.iter_rows()]
        hits = lookup.present(rule.parent, rule.parent_key, values) if values else set()
        hit_frame = pl.DataFrame([list(h) for h in hits], schema=keys.schema, orient="row") \
            if hits else keys.clear()
        found = (frame.select(rule.key).with_row_index("_ROW")
                 .join(hit_frame.with_columns(pl.lit(True).alias("_HIT")), on=list(rule.key),
                       how="left", maintain_order="left", nulls_equal=False)
                 .sort("_ROW"))
        any_null = pl.any_horizontal([pl.col(c).is_null() for c in rule.key])
        frame = frame.with_columns(
            found.select(pl.when(any_null).then(None).otherwise(pl.col("_HIT").fill_null(False))
                         .alias(rule.found)).to_series())
    return frame


def with_history(frame: pl.DataFrame, rules: list[HistoryOrder]) -> pl.DataFrame:
    """Add each history rule's `previous` column: the entity's time at the previous sequence."""
    return frame.with_columns(
        pl.col(r.time).shift(1).over(list(r.entity), order_by=r.sequence).alias(r.previous)
        for r in rules)


def prepare(rules: TableRules, frame: pl.DataFrame, lookup: ReferenceLookup | None,
            options: IconOptions | None = None) -> pl.DataFrame:
    """The table's rows with every derived column its suite reads. References are looked up
    when a lookup is given and the options make them apply; otherwise their column is null (the
    expectation has nothing to check)."""
    frame = rules.table.conform(frame)
    options = options or IconOptions()
    refs = [r for r in rules.frame_rules if isinstance(r, Reference)]
    active = [r for r in refs if lookup is not None and r.applies(options)]
    if active:
        frame = with_references(frame, active, lookup)
    frame = frame.with_columns(pl.lit(None, pl.Boolean).alias(r.found) for r in refs
                               if r not in active)
    return with_history(frame, [r for r in rules.frame_rules if isinstance(r, HistoryOrder)])


def coverage_frame(rule: CoversEvents, frame: pl.DataFrame, event_values: pl.Series,
                   written_later: pl.Series, known: pl.Series) -> pl.DataFrame:
    """One row per value written in the hour or found in its events: `_WRITTEN` (in the table,
    or kept by a later hour of the run: an entity is kept in the hour of its last event), and
    `_HAS_EVENTS_OR_CARRIED` (has events in the hour, or is `known`: an entity of the hour's
    status whose events, all before the hour's end, its rows were built from)."""
    dtype = frame.schema[rule.column]

    def values(series: pl.Series, flag: str) -> pl.DataFrame:
        return (series.cast(dtype).drop_nulls().unique().to_frame(rule.column)
                .with_columns(pl.lit(True).alias(flag)))

    here = values(frame[rule.column], "_here")
    later = values(written_later, "_later")
    events = values(event_values, "_events")
    out = (here.join(events, on=rule.column, how="full", coalesce=True)
           .join(later, on=rule.column, how="left")
           .join(values(known, "_known"), on=rule.column, how="left"))
    return out.select(
        rule.column,
        (pl.col("_here").fill_null(False) | pl.col("_later").fill_null(False)).alias(rule.WRITTEN),
        (pl.col("_events").fill_null(False) | pl.col("_known").fill_null(False))
        .alias(rule.EXPECTED)).sort(rule.column)


def distinct_event_values(paths: list[Path], column: str) -> pl.Series:
    """Distinct non-null values of an event column over the hour's parsed events of every
    replica (missing partitions are skipped)."""
    present = [p for p in paths if p.exists()]
    if not present:
        return pl.Series(column, [], pl.String)
    return (pl.scan_parquet(present).select(pl.col(column)).drop_nulls().unique()
            .collect()[column])
