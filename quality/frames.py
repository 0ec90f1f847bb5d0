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
from transforms.idb import TABLES, IdbStore

IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9_]*$")


class ReferenceLookup:
    """Which referenced keys exist in the IDB. Only the keys the rows refer to are looked up:
    loaded into a temporary table and joined with the parent in one query per rule (identifiers
    checked, values never in the SQL text); answers are kept for the rest of the run (the IDB
    does not change while checks run)."""

    TEMP = "etl_refkeys_tmp"

    def __init__(self, store: IdbStore):
        self.store = store
        self._asked: dict[tuple[str, tuple[str, ...]], pl.DataFrame] = {}
        self._present: dict[tuple[str, tuple[str, ...]], pl.DataFrame] = {}
        self.queries = 0

    def present(self, parent: str, parent_key: tuple[str, ...], keys: pl.DataFrame) -> pl.DataFrame:
        """The rows of `keys` (columns in `parent_key` order, any names) that `parent` holds."""
        if parent not in TABLES or not IDENTIFIER.match(parent) or any(
                c not in TABLES[parent].column_names for c in parent_key):
            raise ValueError(f"not an IDB table and key: {parent!r} {parent_key!r}")
        names = keys.columns
        canonical = [f"k{n}" for n in range(len(parent_key))]
        keys = keys.rename(dict(zip(names, canonical))).drop_nulls().unique()
        slot = (parent, tuple(parent_key))
        asked = self._asked.get(slot)
        todo = keys if asked is None else keys.join(asked, on=canonical, how="anti")
        if todo.height:
            found = self._query(parent, parent_key, todo)
            self._asked[slot] = todo if asked is None else pl.concat([asked, todo])
            have = self._present.get(slot)
            self._present[slot] = found if have is None else pl.concat([have, found])
        have = self._present.get(slot)
        hits = keys.clear() if have is None else keys.join(have, on=canonical, how="semi")
        return hits.rename(dict(zip(canonical, names)))

    def _query(self, parent: str, parent_key: tuple[str, ...], todo: pl.DataFrame) -> pl.DataFrame:
        cols = todo.columns
        types = ["BIGINT" if dtype.is_integer() else "TEXT" for dtype in todo.dtypes]
        temp = f"{self.TEMP}_{''.join(t[0] for t in types)}"      # one per key shape
        on = " AND ".join(f"p.{c} = t.{k}" for c, k in zip(parent_key, cols))
        with self.store.engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} "
                                 f"({', '.join(f'{k} {t}' for k, t in zip(cols, types))})"))
            conn.execute(sa.text(f"DELETE FROM {temp}"))
            self.store.bulk_insert(conn, temp, cols, todo)
            rows = conn.execute(sa.text(
                f"SELECT DISTINCT {', '.join(f't.{k}' for k in cols)} FROM {temp} t "
                f"JOIN {parent} p ON {on}")).fetchall()
        self.queries += 1
        return pl.DataFrame(rows, schema=todo.schema, orient="row")


def with_references(frame: pl.DataFrame, rules: list[Reference],
                    lookup: ReferenceLookup) -> pl.DataFrame:
    """Add each reference rule's `found` column: True / False; null when the row has no
    reference."""
    for rule in rules:
        hits = lookup.present(rule.parent, rule.parent_key, frame.select(rule.key))
        any_null = pl.any_horizontal([pl.col(c).is_null() for c in rule.key])
        frame = (frame.join(hits.with_columns(_HIT=pl.lit(True)), on=list(rule.key), how="left",
                            maintain_order="left", nulls_equal=False)
                 .with_columns(pl.when(any_null).then(None)
                               .otherwise(pl.col("_HIT").fill_null(False)).alias(rule.found))
                 .drop("_HIT"))
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
