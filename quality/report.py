"""Check results as the Dagster UI shows them: which expectation failed, the observed value, and
a sample of the offending rows, in markdown. Plain values only (no Dagster types here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from quality.validate import TableResult

MAX_CELL = 60
MAX_SAMPLES = 5          # failing expectations whose rows are shown
MAX_FAILURE_LINES = 40


def cell(value: Any, limit: int = MAX_CELL) -> str:
    """A markdown table cell: escaped, on one line, values cut at `limit` characters."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def md_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *body])


def partition_span(partitions: list[str]) -> str:
    if not partitions:
        return ""
    return partitions[0] if len(partitions) == 1 else \
        f"{partitions[0]} .. {partitions[-1]} ({len(partitions)} hours)"


@dataclass
class Report:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)   # str | int | float | ("md", text)


def check_report(check: str, table: str, results: list[TableResult], suite: str) -> Report:
    """Aggregate one table's results of one check over the run's partitions."""
    evaluated = sum(len(r.outcomes_of(check)) for r in results)
    failures = [(f.where or r.partition, f) for r in results for f in r.failures_of(check)]
    partitions = [hour for r in results for hour in (r.hours or [r.partition])]
    meta: dict[str, Any] = {
        "partitions": partition_span(partitions),
        "rows_checked": sum(r.rows for r in results),
        "expectations_evaluated": evaluated,
        "expectations_failed": len(failures),
        "suite": suite,
        "table_validation_seconds": round(sum(r.seconds for r in results), 3),
    }
    if not failures:
        return Report(True, f"{evaluated} expectations passed on {meta['rows_checked']:,} rows "
                            f"({meta['partitions'] or 'no partition'}).", meta)
    lines = ["| partition | expectation | GX expectation | observed |", "| --- | --- | --- | --- |"]
    for part, f in failures[:MAX_FAILURE_LINES]:
        e = f.outcome.expect
        lines.append(f"| {cell(part)} | {cell(e.label, 200)} | {cell(_gx_name(e.kind), 200)} | "
                     f"{cell(f.outcome.observed_text, 200)} |")
    if len(failures) > MAX_FAILURE_LINES:
        lines.append(f"| … | {len(failures) - MAX_FAILURE_LINES} more | | |")
    meta["failing_expectations"] = ("md", "\n".join(lines))
    samples = []
    for part, f in failures[:MAX_SAMPLES]:
        if f.sample.height:
            samples.append(f"**{f.outcome.expect.label}** ({part}: {f.outcome.observed_text}; "
                           f"{f.sample.height} shown)\n\n{md_table(f.sample)}")
    if samples:
        meta["offending_rows"] = ("md", "\n\n".join(samples))
    first = failures[0][1].outcome
    more = f"; and {len(failures) - 1} more" if len(failures) > 1 else ""
    return Report(False, f"{table}: {first.expect.label} failed in {failures[0][0]}: "
                         f"{first.observed_text}{more}.", meta)


def failed_hours(check: str, results: list[TableResult]) -> set[str]:
    """The hours a check failed in: those of the offending rows GX pointed at, or every hour of
    a suite run whose failure points at no row (a count, a missing value in a set)."""
    out: set[str] = set()
    for r in results:
        hours = set(r.hours or [r.partition])
        for f in r.failures_of(check):
            named = {h.strip() for h in (f.where or "").split(",")} & hours
            out |= named or hours
    return out


def _gx_name(kind: str) -> str:
    """ExpectColumnValuesToBeUnique -> expect_column_values_to_be_unique."""
    out = ""
    for ch in kind:
        out += ("_" + ch.lower()) if ch.isupper() and out else ch.lower()
    return out
