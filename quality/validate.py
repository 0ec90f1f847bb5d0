"""Validate what some hours wrote to one IDB table, without Dagster: the table's suite on its rows
(plus derived columns), and each coverage suite on its frame (one row per value and hour).
Returns per-expectation outcomes with a masked sample of the offending rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import polars as pl

from quality import frames
from quality.rules import SECRET_MASK, CoversEvents, TableRules
from quality.suites import Outcome, Validator, coverage_plans, table_plan
from transforms.config import IconOptions

SAMPLE_PER_EXPECTATION = 10
SOURCE_COLUMNS = ("ETL_PARTITION", "ETL_SOURCE")


@dataclass
class Failure:
    outcome: Outcome
    sample: pl.DataFrame                 # offending rows, masked, at most SAMPLE_PER_EXPECTATION
    where: str = ""                      # the hours of the offending rows GX pointed at


@dataclass
class TableResult:
    """One table, the hours of one suite run (`partition`: their label)."""

    table: str
    partition: str
    rows: int
    hours: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def outcomes_of(self, check: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.expect.rule.check == check]

    def failures_of(self, check: str) -> list[Failure]:
        return [f for f in self.failures if f.outcome.expect.rule.check == check]


@dataclass
class CoverageInput:
    """What a coverage rule compares the hour's rows with: the hour's distinct event values, the
    values later hours of the run wrote, and the entities of the hour's status whose last event
    is before its end."""

    event_values: pl.Series
    written_later: pl.Series
    known: pl.Series


def coverage_rows(rule: CoversEvents, hours: list[tuple[str, pl.DataFrame, CoverageInput]]
                  ) -> pl.DataFrame:
    """The frame a coverage rule is validated on for several hours at once: each hour's
    (`frames.coverage_frame`), with its HOUR, stacked."""
    parts = [frames.coverage_frame(rule, frame, given.event_values, given.written_later,
                                   given.known).with_columns(HOUR=pl.lit(part))
             for part, frame, given in hours]
    return pl.concat(parts) if parts else pl.DataFrame(
        schema={rule.column: pl.String, rule.WRITTEN: pl.Boolean, rule.EXPECTED: pl.Boolean,
                "HOUR": pl.String})


def where(frame: pl.DataFrame, outcome: Outcome) -> str:
    """The hours (ETL_PARTITION, or a coverage frame's HOUR) of the offending rows GX pointed
    at, comma-separated; "" when it pointed at none."""
    column = next((c for c in ("HOUR", "ETL_PARTITION") if c in frame.columns), None)
    rows = [i for i in outcome.rows if 0 <= i < frame.height]
    if column is None or not rows:
        return ""
    return ", ".join(sorted(set(frame[column].gather(rows).drop_nulls().to_list())))


def sample(rules: TableRules, frame: pl.DataFrame, outcome: Outcome) -> pl.DataFrame:
    """The offending rows GX pointed at, with the key, the rule's columns and the row's source
    (file:line); secret columns are masked whatever the rule."""
    rule = outcome.expect.rule
    if isinstance(rule, CoversEvents):
        cols = ["HOUR", rule.column, rule.WRITTEN, rule.EXPECTED]
    else:
        cols = [*rules.table.key, *rule.columns,
                *[c for c in SOURCE_COLUMNS if c in frame.columns]]
    cols = [c for c in dict.fromkeys(cols) if c in frame.columns]
    rows = [i for i in outcome.rows if 0 <= i < frame.height][:SAMPLE_PER_EXPECTATION]
    out = frame.select(cols)[rows] if rows else frame.select(cols).clear()
    secret = [c for c in rules.secret if c in out.columns]
    if secret:
        out = out.with_columns(pl.lit(SECRET_MASK).alias(c) for c in secret)
    return out


def validate_table(validator: Validator, rules: TableRules, frame: pl.DataFrame, partition: str,
                   lookup: frames.ReferenceLookup | None = None,
                   coverage: dict[str, pl.DataFrame] | None = None,
                   options: IconOptions | None = None,
                   hours: list[str] | None = None) -> TableResult:
    """Run the table's suite on the rows, and its coverage suites when their frame is given
    (`coverage`: rule column -> `coverage_rows`). Without a lookup, references are not
    checked. `hours`: those the rows are of (default: `partition` alone)."""
    started = time.perf_counter()
    prepared = frames.prepare(rules, frame, lookup, options)
    result = TableResult(rules.name, partition, prepared.height, hours or [partition])
    runs: list[tuple[pl.DataFrame, list[Outcome]]] = [
        (prepared, validator.run(table_plan(rules), prepared))]
    for rule, plan in coverage_plans(rules):
        cov = (coverage or {}).get(rule.column)
        if cov is not None:
            runs.append((cov, validator.run(plan, cov)))
    for data, outcomes in runs:
        result.outcomes += outcomes
        result.failures += [Failure(o, sample(rules, data, o), where(data, o) or partition)
                            for o in outcomes if not o.success]
    result.seconds = time.perf_counter() - started
    return result
