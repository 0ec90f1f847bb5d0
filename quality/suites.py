"""Great Expectations suites generated from `quality.rules`, and a small runner around one
ephemeral GX context.

Great Expectations is imported lazily (measured: ~3 s to import): only inside the functions here, so
loading the code location stays fast. Frames are prepared in Polars and converted to pandas only
at the GX boundary (`Validator.run`), with just the columns the expectations read — values of
other columns (attached data, secure values) never reach GX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from quality.rules import (
    CoversEvents,
    HistoryOrder,
    InDictionary,
    NotNull,
    Reference,
    Rule,
    TableRules,
    TimeOrder,
    Unique,
)

# How many offending row positions GX returns per failed expectation (samples come from these).
SAMPLE_ROWS = 20
# Expectations about each row (or pair of columns of a row): vacuously true without rows.
ROW_LEVEL = {"ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeUnique",
             "ExpectCompoundColumnsToBeUnique", "ExpectColumnValuesToBeInSet",
             "ExpectColumnPairValuesAToBeGreaterThanB", "ExpectColumnPairValuesToBeEqual"}


def _gx():
    import great_expectations as gx  # noqa: PLC0415 (lazy on purpose, see module docstring)
    import great_expectations.expectations as gxe  # noqa: PLC0415

    return gx, gxe


@dataclass(frozen=True)
class Expect:
    """One expectation of a suite: which rule it checks, what it says, which columns it reads."""

    rule: Rule
    label: str
    reads: tuple[str, ...]
    kind: str
    args: dict = field(default_factory=dict, hash=False, compare=False)

    def build(self, index: int):
        _, gxe = _gx()
        cls = getattr(gxe, self.kind)
        return cls(**self.args, description=f"{self.rule.table}: {self.label}",
                   meta={"index": index, "check": self.rule.check, "table": self.rule.table})


def expectations(rule: Rule) -> list[Expect]:
    """The GX expectation(s) that check one rule."""
    if isinstance(rule, NotNull):
        return [Expect(rule, rule.label, (rule.column,), "ExpectColumnValuesToNotBeNull",
                       {"column": rule.column})]
    if isinstance(rule, Unique):
        if len(rule.key) == 1:
            return [Expect(rule, rule.label, rule.key, "ExpectColumnValuesToBeUnique",
                           {"column": rule.key[0]})]
        return [Expect(rule, rule.label, rule.key, "ExpectCompoundColumnsToBeUnique",
                       {"column_list": list(rule.key)})]
    if isinstance(rule, InDictionary):
        return [Expect(rule, rule.label, (rule.column,), "ExpectColumnValuesToBeInSet",
                       {"column": rule.column, "value_set": list(rule.allowed)})]
    if isinstance(rule, TimeOrder):
        return [Expect(rule, rule.label, (rule.earlier, rule.later),
                       "ExpectColumnPairValuesAToBeGreaterThanB",
                       {"column_A": rule.later, "column_B": rule.earlier, "or_equal": True,
                        "ignore_row_if": "either_value_is_missing"})]
    if isinstance(rule, HistoryOrder):
        return [Expect(rule, rule.label, (rule.time, rule.previous),
                       "ExpectColumnPairValuesAToBeGreaterThanB",
                       {"column_A": rule.time, "column_B": rule.previous, "or_equal": True,
                        "ignore_row_if": "either_value_is_missing"})]
    if isinstance(rule, Reference):
        return [Expect(rule, rule.label, (rule.found,), "ExpectColumnValuesToBeInSet",
                       {"column": rule.found, "value_set": [True]})]
    if isinstance(rule, CoversEvents):
        return [
            Expect(rule, f"every {rule.event_column} of the hour's events is a {rule.column} "
                         f"written by the hour or a later one (nothing lost)", (rule.WRITTEN,),
                   "ExpectColumnValuesToBeInSet", {"column": rule.WRITTEN, "value_set": [True]}),
            Expect(rule, f"every written {rule.column} has events in the hour or before it "
                         f"(nothing invented)", (rule.EXPECTED,),
                   "ExpectColumnValuesToBeInSet", {"column": rule.EXPECTED, "value_set": [True]}),
        ]
    raise TypeError(f"no expectation for {type(rule).__name__}")


@dataclass(frozen=True)
class SuitePlan:
    """A suite and what it needs: its expectations (in suite order) and the columns they read."""

    name: str
    expects: tuple[Expect, ...]

    @property
    def reads(self) -> list[str]:
        return list(dict.fromkeys(c for e in self.expects for c in e.reads))

    def suite(self, only: list[int] | None = None):
        """The GX suite (of the expectations at `only`, when given); each expectation's meta
        holds its position in the plan."""
        gx, _ = _gx()
        picked = range(len(self.expects)) if only is None else only
        return gx.ExpectationSuite(name=self.name if only is None else
                                   f"{self.name}[{','.join(map(str, picked))}]",
                                   expectations=[self.expects[i].build(i) for i in picked])


def table_plan(rules: TableRules) -> SuitePlan:
    """The table's suite: every rule checked on the table's own rows."""
    return SuitePlan(f"idb.{rules.name}",
                     tuple(e for r in rules.frame_rules for e in expectations(r)))


def coverage_plans(rules: TableRules) -> list[tuple[CoversEvents, SuitePlan]]:
    """Suites checked on a frame of the table's entities beside the hour's events."""
    return [(r, SuitePlan(f"idb.{rules.name}.events.{r.column}", tuple(expectations(r))))
            for r in rules.coverage]


def expectation_suite(rules: TableRules):
    """The table's GX ExpectationSuite (for tests and Data Docs)."""
    return table_plan(rules).suite()


@dataclass
class Outcome:
    """One expectation's result on one frame."""

    expect: Expect
    success: bool
    unexpected: int | None = None
    elements: int | None = None
    observed: Any = None
    rows: list[int] = field(default_factory=list)      # positions of offending rows (a sample)
    error: str | None = None

    @property
    def observed_text(self) -> str:
        if self.error:
            return f"error: {self.error}"
        if self.unexpected is not None:
            share = f" ({100 * self.unexpected / self.elements:.2f}%)" if self.elements else ""
            return f"{self.unexpected:,} of {self.elements:,} rows{share}"
        return str(self.observed)


class Validator:
    """One ephemeral GX context (no files, no analytics, no progress bars); each suite is added
    once and then validated against any number of frames.

    A suite first runs with `BOOLEAN_ONLY` results (about half the cost of `SUMMARY`: GX's cost
    here is per expectation, not per row); only when some expectations fail are those run again
    with `SUMMARY` results, for the observed values and the positions of offending rows."""

    def __init__(self):
        gx, _ = _gx()
        from great_expectations.data_context.types.base import (  # noqa: PLC0415
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                                   analytics_enabled=False,
                                   progress_bars=ProgressBarsConfig(globally=False,
                                                                    metric_calculations=False))
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.batch = (self.context.data_sources.add_pandas("icon_etl")
                      .add_dataframe_asset("partition")
                      .add_batch_definition_whole_dataframe("whole_partition"))
        self._definitions: dict[str, Any] = {}

    def _definition(self, plan: SuitePlan, only: list[int] | None = None):
        suite = plan.suite(only)
        vd = self._definitions.get(suite.name)
        if vd is None:
            gx, _ = _gx()
            suite = self.context.suites.add(suite)
            vd = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=self.batch, suite=suite))
            self._definitions[suite.name] = vd
        return vd

    def run(self, plan: SuitePlan, frame: pl.DataFrame) -> list[Outcome]:
        """Validate `frame` (Polars; converted here, only the columns read) with the plan's suite.
        A frame without rows satisfies every row-level expectation: GX is not asked."""
        if not plan.expects:
            return []
        if frame.height == 0 and all(e.kind in ROW_LEVEL for e in plan.expects):
            return [Outcome(e, True, unexpected=0, elements=0) for e in plan.expects]
        pdf = frame.select(plan.reads).to_pandas()
        quick = self._definition(plan).run(batch_parameters={"dataframe": pdf},
                                           result_format="BOOLEAN_ONLY")
        outcomes: dict[int, Outcome] = {}
        failed: list[int] = []
        for res in quick.results:
            index = int(res.expectation_config.meta["index"])
            if res.success and _exception(res.exception_info) is None:
                outcomes[index] = Outcome(plan.expects[index], True, unexpected=0)
            else:
                failed.append(index)
        if failed:
            detail = self._definition(plan, sorted(failed)).run(
                batch_parameters={"dataframe": pdf},
                result_format={"result_format": "SUMMARY",
                               "partial_unexpected_count": SAMPLE_ROWS})
            for res in detail.results:
                index = int(res.expectation_config.meta["index"])
                outcomes[index] = _outcome(plan.expects[index], res)
        return [outcomes[i] for i in sorted(outcomes)]


def _outcome(expect: Expect, res) -> Outcome:
    error = _exception(res.exception_info)
    if error is not None:
        return Outcome(expect, False, error=error)
    r = res.result or {}
    return Outcome(expect, bool(res.success), unexpected=r.get("unexpected_count"),
                   elements=r.get("element_count"), observed=r.get("observed_value"),
                   rows=[int(i) for i in (r.get("partial_unexpected_index_list") or [])
                         if not isinstance(i, dict)])


def _exception(info) -> str | None:
    """GX reports an expectation that could not be computed in `exception_info`, either flat or
    per metric."""
    if not info:
        return None
    items = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for item in items:
        if item.get("raised_exception"):
            return str(item.get("exception_message") or "exception while validating")
    return None
