"""Data quality: Great Expectations suites generated from the table definitions, run as Dagster
asset checks on a real pipeline run (a simulated contact center, two hours into SQLite).

A clean run passes every check; a corrupted hour fails exactly the expectations it breaks, with
the offending rows in the check's metadata; a failed blocking check stops what is downstream; the
quarantined share warns and fails at the configured thresholds; secure values never show."""

from __future__ import annotations

import re

import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.checks import build_quality_checks
from assets.idb import idb_key
from assets.ingest import build_ingest_assets, parsed_key, segments_key
from assets.resources import LogStorage
from dagster_project import runner
from quality import accounting, frames, rules
from quality.report import check_report, failed_hours
from quality.rules import (
    CHECKS,
    FOREIGN_KEYS,
    KEYS,
    VALUES,
    InDictionary,
    NotNull,
    Reference,
    TimeOrder,
    Unique,
    dictionary_columns,
    rules_for,
)
from quality.suites import Expect, Outcome, Validator, expectation_suite
from quality.validate import sample, validate_table
from tests.graph import HOURLY, graph_assets, graph_resources, simulate_with_examples
from transforms.hours import hour_span
from transforms.idb import dictionary
from transforms.idb.schema import TABLES, C, _table, _time
from transforms.roles import ROLE_TABLES

WRITTEN = [name for names in ROLE_TABLES.values() for name in names]
HOUR, NEXT_HOUR = "2026-03-09-23:00", "2026-03-10-00:00"
SECURE_KEY = "CustomerPIN"


def pipeline_assets() -> list:
    return graph_assets(["a"])


def resources(sim: Path, work: Path, options: Path | None = None) -> dict:
    return graph_resources(sim / "logs", sim / "config.json", work,
                           options or sim / "icon-options.toml")


def ranged(first: str, last: str | None = None) -> dict:
    return {runner.RANGE_START: first, runner.RANGE_END: last or first}


def evaluations(instance: dg.DagsterInstance) -> list[dg.AssetCheckEvaluation]:
    return [rec.dagster_event.event_specific_data for run in instance.get_runs()
            for rec in instance.all_logs(run.run_id)
            if rec.dagster_event and rec.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"]


def by_key(evals) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in evals}


def md(evaluation: dg.AssetCheckEvaluation, key: str) -> str:
    value = evaluation.metadata.get(key)
    return value.value if value is not None else ""


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    """Two simulated hours across midnight UTC, with the example options and spec."""
    return simulate_with_examples(tmp_path_factory.mktemp("sim"), profile="small", start="2026-03-09T23:00:00Z", hours=2, seed=11)


@pytest.fixture(scope="module")
def clean_run(sim, tmp_path_factory):
    """Every asset and every check (as dagster_project/definitions.py lists them), hour by hour
    (`runner.run_all`), into SQLite."""
    work = tmp_path_factory.mktemp("clean")
    checks = build_quality_checks(["a"], HOURLY)
    defs = dg.Definitions(assets=pipeline_assets(), asset_checks=checks,
                          resources=resources(sim, work))
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, progress=lambda _: None, hours_per_run=1)
        evals = evaluations(instance)
        printed = [str(record) for run in instance.get_runs()
                   for record in instance.all_logs(run.run_id)]
    assert summary["failed_runs"] == 0 and summary["partitions"] == 2, summary
    specs = [key for c in checks for key in c.check_keys]
    return work, evals, specs, printed


def copy_work(work: Path, to: Path) -> Path:
    """A copy of a run's data dir and IDB. The IDB is copied with SQLite's backup API: in WAL
    mode the latest commits may still be in `idb.sqlite-wal`, which a file copy would lose."""
    shutil.copytree(work / "data", to / "data")
    source, target = sqlite3.connect(work / "idb.sqlite"), sqlite3.connect(to / "idb.sqlite")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return to


def rewrite(path: Path, change) -> pl.DataFrame:
    frame = change(pl.read_parquet(path))
    frame.write_parquet(path)
    return frame


# ---- suites from definitions -------------------------------------------------------------------

def test_every_table_gets_its_rules_from_its_definition():
    mapping, unresolved = dictionary_columns()
    assert unresolved == []          # every column the dictionary names exists
    for name, t in TABLES.items():
        r = rules_for(name)
        keys = {x.column for x in r.for_check(KEYS) if isinstance(x, NotNull)}
        assert set(t.key) <= keys, name
        assert Unique(name, KEYS, tuple(t.key)) in r.rules, name
        for (tname, column), (dict_name, allowed) in mapping.items():
            if tname == name:
                assert InDictionary(name, VALUES, column, dict_name, allowed) in r.rules
    refs = {(x.table, x.key, x.parent) for n in TABLES for x in rules_for(n).rules
            if isinstance(x, Reference)}
    for child, column, parent in [("G_PARTY", "CALLID", "G_CALL"), ("G_CALL", "IRID", "G_IR"),
                                  ("G_PARTY_HISTORY", "PARTYID", "G_PARTY"),
                                  ("G_PARTY_HISTORY", "CALLID", "G_CALL"),
                                  ("G_CALL_HISTORY", "CALLID", "G_CALL"),
                                  ("G_AGENT_STATE_HISTORY", "LOGINSESSIONID", "G_LOGIN_SESSION"),
                                  ("G_USERDATA_HISTORY", "CALLID", "G_CALL"),
                                  ("G_CALL", "CREATED_TCODE", "G_TIMECODE"),
                                  ("G_CALL", "GSYS_DOMAIN", "G_DSS_GCC_PROVIDER")]:
        assert (child, (column,), parent) in refs
    assert TimeOrder("G_CALL", VALUES, "CREATED", "TERMINATED") in rules_for("G_CALL").rules
    assert CHECKS[KEYS].blocking and CHECKS[FOREIGN_KEYS].blocking and not CHECKS[VALUES].blocking


def test_a_new_table_needs_only_its_definition(monkeypatch):
    extra = _table("G_NEW_THING", (C("ID", "bigint", False), C("THINGID", "str50", False),
                                   C("CALLID", "str50"), C("STATE"), *_time("CREATED", False),
                                   *_time("TERMINATED")), ["THINGID"], "gcc")
    monkeypatch.setitem(TABLES, extra.name, extra)
    monkeypatch.setattr(dictionary, "TYPES", [*dictionary.TYPES, (
        9999, "thing_state", "G_NEW_THING.STATE", "INF", dictionary.SessionState)])
    labels = {x.label for x in rules_for("G_NEW_THING").rules}
    assert {"THINGID not null", "natural key (THINGID) unique", "surrogate id (ID) unique",
            "(CALLID) in G_CALL(CALLID)", "(CREATED_TCODE) in G_TIMECODE(ID)",
            "STATE in dictionary thing_state", "CREATED <= TERMINATED"} <= labels
    suite = expectation_suite(rules_for("G_NEW_THING"))
    assert {e.expectation_type for e in suite.expectations} >= {
        "expect_column_values_to_not_be_null", "expect_column_values_to_be_unique",
        "expect_column_values_to_be_in_set", "expect_column_pair_values_a_to_be_greater_than_b"}


# ---- a clean run -------------------------------------------------------------------------------

def test_a_clean_pipeline_run_passes_every_check(clean_run):
    _, evals, specs, _ = clean_run
    assert {(k.asset_key, k.name) for k in specs} >= {(idb_key(n), KEYS) for n in WRITTEN}
    seen: dict = {}
    for e in evals:
        seen.setdefault((e.asset_key, e.check_name), []).append(e)
    for key in specs:
        runs = seen.get((key.asset_key, key.name), [])
        assert len(runs) == 2, key                      # once per hour
        failed = [(e.description, md(e, "failing_expectations")) for e in runs if not e.passed]
        assert failed == [], key
    calls = [e for e in evals if e.asset_key == idb_key("G_CALL") and e.check_name == KEYS]
    assert all(e.metadata["expectations_evaluated"].value >= 5 for e in calls)
    assert sum(e.metadata["rows_checked"].value for e in calls) > 0
    ledger = [e for e in evals if e.asset_key == parsed_key("a")
              and e.check_name == accounting.LINE_ACCOUNTING]
    assert ledger and all(e.metadata["lines"].value > 0 and not e.blocking for e in ledger)


def test_secure_values_are_never_printed_by_the_checks(clean_run):
    work, _, _, printed = clean_run
    from transforms.idb import IdbStore

    secure = IdbStore(f"sqlite:///{work / 'idb.sqlite'}").read("G_SECURE_USERDATA_HISTORY")
    pins = set(secure.filter(pl.col("KEYNAME") == SECURE_KEY)["VALUE"].drop_nulls())
    assert pins
    # (PINs are 4 digits: look for them as a table cell, quoted, or next to the key)
    leaked = [line for line in printed if "ASSET_CHECK" in line and any(
        f"| {p} |" in line or f"'{p}'" in line or (SECURE_KEY in line and p in line)
        for p in pins)]
    assert leaked == []
    # a failing secure table: its sample shows keys and sources, never values
    t = rules_for("G_SECURE_USERDATA_HISTORY")
    frame = secure.with_columns(pl.lit(None, pl.String).alias("KEYNAME"))
    result = validate_table(Validator(), t, frame, HOUR)
    report = check_report(VALUES, t.name, [result], "idb.G_SECURE_USERDATA_HISTORY")
    text = "\n".join(str(v[1] if isinstance(v, tuple) else v) for v in report.metadata.values())
    assert not report.passed and "KEYNAME not null" in text
    # (a PIN as a value of its own, not as digits inside an ID or a line number)
    shown = [p for p in pins if re.search(rf"(?<![0-9]){p}(?![0-9])", text)]
    assert not shown, shown
    # a failed rule on the secure value itself would still show it masked
    forced = Outcome(Expect(NotNull(t.name, VALUES, "VALUE"), "VALUE not null", ("VALUE",),
                            "ExpectColumnValuesToNotBeNull"), False, rows=[0, 1])
    assert sample(t, frame, forced)["VALUE"].to_list() == [rules.SECRET_MASK] * 2


def test_a_failure_is_charged_to_the_hours_of_its_rows(clean_run):
    """One suite run over two hours: the UI shows the hour with the offending rows failed and
    the other passed (assets/checks.py records each hour's evaluation from this)."""
    work, _, _, _ = clean_run
    from transforms.idb import IdbStore

    secure = IdbStore(f"sqlite:///{work / 'idb.sqlite'}").read("G_SECURE_USERDATA_HISTORY")
    first, second = "2026-03-09-22:00", "2026-03-09-23:00"
    both = pl.concat([secure.with_columns(ETL_PARTITION=pl.lit(first)),
                      secure.with_columns(ETL_PARTITION=pl.lit(second), ID=pl.col("ID") + 10**9,
                                          KEYNAME=pl.lit(None, pl.String))])
    t = rules_for("G_SECURE_USERDATA_HISTORY")
    result = validate_table(Validator(), t, both, f"{first}..{second}", hours=[first, second])
    assert failed_hours(VALUES, [result]) == {second}
    assert failed_hours(KEYS, [result]) == set()


# ---- corrupted hours ---------------------------------------------------------------------------

def test_a_corrupted_hour_fails_the_right_expectations_with_the_offending_rows(sim, clean_run,
                                                                              tmp_path):
    work = copy_work(clean_run[0], tmp_path)
    logs = LogStorage(log_dir=str(sim / "logs"), data_dir=str(work / "data"))
    table_file = lambda name: logs.data().role_table_file("gcc", HOUR, name)  # noqa: E731
    calls = pl.read_parquet(table_file("G_CALL"))
    dup, bad_type, backwards, lost = calls["CALLID"].head(4).to_list()
    rewrite(table_file("G_CALL"), lambda f: pl.concat([f, f.head(1)]).with_columns(
        CALLTYPE=pl.when(pl.col("CALLID") == bad_type).then(99).otherwise(pl.col("CALLTYPE")),
        TERMINATED=pl.when(pl.col("CALLID") == backwards)
        .then(pl.col("CREATED") - pl.duration(hours=1)).otherwise(pl.col("TERMINATED")),
    ).filter(pl.col("CALLID") != lost))
    parties = rewrite(table_file("G_PARTY"), lambda f: f.with_columns(
        CALLID=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("NO-SUCH-CALL"))
        .otherwise(pl.col("CALLID"))))
    orphan_party = parties["PARTYID"][0]

    # the checks alone, over both hours in one (ranged) run: one result per check
    checks = build_quality_checks(["a"], HOURLY)
    with dg.instance_for_test() as instance:
        result = dg.materialize(pipeline_assets() + checks,
                                selection=dg.AssetSelection.checks(*checks), instance=instance,
                                resources=resources(sim, work), tags=ranged(HOUR, NEXT_HOUR),
                                raise_on_error=False, run_config=runner.quiet())
    assert not result.success           # blocking checks failed with ERROR severity
    got = by_key(result.get_asset_check_evaluations())

    keys = got[("idb/G_CALL", KEYS)]
    assert not keys.passed and keys.blocking and keys.severity == dg.AssetCheckSeverity.ERROR
    assert keys.metadata["partitions"].value == f"{HOUR} .. {NEXT_HOUR} (2 hours)"
    assert f"| {HOUR} | natural key" in md(keys, "failing_expectations")
    assert NEXT_HOUR not in md(keys, "failing_expectations")      # the other hour is clean
    assert "natural key (CALLID) unique" in md(keys, "failing_expectations")
    assert "2 of" in md(keys, "failing_expectations")                 # both copies
    assert dup in md(keys, "offending_rows")

    values = got[("idb/G_CALL", VALUES)]
    assert not values.passed and not values.blocking
    assert values.severity == dg.AssetCheckSeverity.WARN
    failing = md(values, "failing_expectations")
    assert "CALLTYPE in dictionary call_type" in failing and "CREATED <= TERMINATED" in failing
    assert bad_type in md(values, "offending_rows") and backwards in md(values, "offending_rows")
    assert "| 99 |" in md(values, "offending_rows")

    fks = got[("idb/G_PARTY", FOREIGN_KEYS)]
    assert not fks.passed and fks.blocking
    assert "(CALLID) in G_CALL(CALLID)" in md(fks, "failing_expectations")
    assert "1 of" in md(fks, "failing_expectations")
    assert "NO-SUCH-CALL" in md(fks, "offending_rows") and orphan_party in md(fks, "offending_rows")

    complete = got[("idb/G_CALL", rules.COMPLETENESS)]
    assert not complete.passed and "nothing lost" in md(complete, "failing_expectations")
    assert lost in md(complete, "offending_rows")

    # what was not touched still passes
    for key in [("idb/G_PARTY", KEYS), ("idb/G_CALL", FOREIGN_KEYS), ("idb/G_IR", KEYS),
                ("idb/G_PARTY_HISTORY", FOREIGN_KEYS), ("idb/G_PARTY", VALUES)]:
        assert got[key].passed, key
    # checks of tables that refer to calls wait for the calls' blocking checks: not run
    assert ("idb/G_AGENT_STATE_HISTORY", FOREIGN_KEYS) not in got


def test_a_failed_blocking_check_stops_downstream_materialization(sim, clean_run, tmp_path):
    work = copy_work(clean_run[0], tmp_path)
    logs = LogStorage(log_dir=str(sim / "logs"), data_dir=str(work / "data"))
    rewrite(logs.data().role_table_file("gcc", HOUR, "G_PARTY"),
            lambda f: f.with_columns(CALLID=pl.lit("NO-SUCH-CALL")))

    @dg.asset(key=["reports", "parties"], deps=[idb_key("G_PARTY")], partitions_def=HOURLY)
    def party_report() -> None:
        """A report built on G_PARTY: must not run on parties whose calls do not resolve."""

    assets = pipeline_assets()
    gcc_writer = next(a for a in assets if idb_key("G_PARTY") in a.keys)
    with dg.instance_for_test() as instance:
        result = dg.materialize(assets + build_quality_checks(["a"], HOURLY) + [party_report],
                                selection=dg.AssetSelection.assets(*gcc_writer.keys,
                                                                   party_report.key),
                                instance=instance, resources=resources(sim, work),
                                tags=ranged(HOUR), raise_on_error=False, run_config=runner.quiet())
    assert not result.success
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert idb_key("G_PARTY") in done                     # the table was written
    assert party_report.key not in done                    # but nothing built on it
    fks = by_key(result.get_asset_check_evaluations())[("idb/G_PARTY", FOREIGN_KEYS)]
    assert not fks.passed and fks.blocking


# ---- parsed events: line accounting and quarantined share --------------------------------------

@pytest.fixture(scope="module")
def garbage_logs(sim, tmp_path_factory) -> Path:
    """The simulated logs with 40 lines of binary garbage between two TLib blocks."""
    root = tmp_path_factory.mktemp("garbage")
    shutil.copytree(sim / "logs", root / "logs")
    shutil.copy(sim / "config.json", root / "config.json")
    segment = sorted((root / "logs").glob("TS_NORTH*"))[0]
    lines = segment.read_bytes().split(b"\n")
    at = next(n for n in range(200, len(lines)) if lines[n].startswith(b"@"))
    junk = [b"\x00\x01\x02 binary garbage \x03\x04 %d" % k for k in range(40)]
    segment.write_bytes(b"\n".join(lines[:at] + junk + lines[at:]))
    return root


@pytest.mark.parametrize("warn, fail, severity", [(0.0001, 0.5, "WARN"), (0.0001, 0.0002, "ERROR")])
def test_the_quarantined_share_warns_and_fails_at_the_thresholds(garbage_logs, tmp_path, warn,
                                                                 fail, severity):
    """Over the warning share the hour loads and its check warns; over the failing share the
    hour is refused (not written, the refusal on record for the load's report) and its check is
    an error. Neither blocks: other hours of the same run go on."""
    options = tmp_path / "options.toml"
    options.write_text(f"[icon-etl]\nmax-quarantine-share-warn = {warn}\n"
                       f"max-quarantine-share-fail = {fail}\n")
    res = resources(garbage_logs, tmp_path, options)
    assets = build_ingest_assets("a", HOURLY)
    checks = build_quality_checks(["a"], HOURLY)
    with dg.instance_for_test() as instance:
        dg.materialize(assets, selection=[segments_key("a")], instance=instance, resources=res,
                       run_config=runner.quiet())
        result = dg.materialize(assets + checks, selection=[parsed_key("a")],
                                instance=instance, resources=res, tags=ranged(HOUR, NEXT_HOUR),
                                raise_on_error=False, run_config=runner.quiet())
    assert result.success
    got = by_key(result.get_asset_check_evaluations())
    ledger = got[("replica_a/parsed_events", accounting.LINE_ACCOUNTING)]
    assert ledger.passed and ledger.metadata["quarantined_lines"].value == 40
    share = got[("replica_a/parsed_events", accounting.QUARANTINE_SHARE)]
    assert not share.passed and share.severity == dg.AssetCheckSeverity[severity]
    assert not share.blocking
    assert 0 < share.metadata["max_quarantined_share"].value < 0.01
    assert "TS_NORTH" in md(share, "offending_rows")
    data = res["logs"].data()
    assert data.parsed_hour("a", NEXT_HOUR) is not None          # the clean hour is written
    failure = data.failure(parsed_key("a").to_user_string(), HOUR)
    if severity == "WARN":
        assert data.parsed_hour("a", HOUR) is not None and failure is None
    else:
        assert data.parsed_hour("a", HOUR) is None
        assert "max-quarantine-share-fail" in failure and "max-quarantine-share-fail" in \
            share.description


def test_line_accounting_finds_lines_missing_from_the_ledger(sim, clean_run):
    work = clean_run[0]
    logs = LogStorage(log_dir=str(sim / "logs"), data_dir=str(work / "data"))
    store = logs.segments("a")
    registry = store.registry()
    first = registry["segment_id"][0]
    # the ledger lost 5 "other" lines of the first segment, and its line count agrees with it
    broken = registry.with_columns(
        [pl.when(pl.col("segment_id") == first).then(pl.col(c) - 5).otherwise(pl.col(c)).alias(c)
         for c in ("n_attribute", "lines")])
    data = logs.data()
    hour = accounting.account_hour(Validator(), HOUR, broken, logs.replica_root("a"),
                                   data.replica("a"), data.parsed_events_file("a", HOUR),
                                   *hour_span(HOUR), 0.01, 0.1)
    failed = [o for o in hour.outcomes[accounting.LINE_ACCOUNTING] if not o.success]
    assert [o.expect.label for o in failed] == ["every physical line of the segment is in the ledger"]
    report = accounting.accounting_report([hour])
    assert not report.passed
    rows = report.metadata["offending_rows"][1]
    assert str(registry["path"][0])[:30] in rows and "physical_lines" in rows
    # a clean registry adds up
    clean = accounting.account_hour(Validator(), HOUR, registry, logs.replica_root("a"),
                                    data.replica("a"), data.parsed_events_file("a", HOUR),
                                    *hour_span(HOUR), 0.01, 0.1)
    assert all(o.success for o in clean.outcomes[accounting.LINE_ACCOUNTING])


def test_the_reference_lookup_never_puts_values_in_sql_and_caches(clean_run):
    work = clean_run[0]
    from transforms.idb import IdbStore

    store = IdbStore(f"sqlite:///{work / 'idb.sqlite'}")
    lookup = frames.ReferenceLookup(store)
    calls = store.read("G_CALL")["CALLID"].head(3).to_list()
    asked = pl.DataFrame({"PARENTCALLID": calls + ["x' OR '1'='1", None]})
    found = lookup.present("G_CALL", ("CALLID",), asked)
    assert sorted(found["PARENTCALLID"].to_list()) == sorted(calls)
    queries = lookup.queries
    again = lookup.present("G_CALL", ("CALLID",), asked.head(2))
    assert sorted(again["PARENTCALLID"].to_list()) == sorted(calls[:2])
    assert lookup.queries == queries                         # answered from the cache
    assert store.count("G_CALL") > 3                         # nothing was dropped or changed
    with pytest.raises(ValueError):
        lookup.present("G_CALL; DROP TABLE G_CALL", ("CALLID",), asked)


@pytest.mark.parametrize("per_hour", [1, 0])
def test_check_results_per_hour_decides_what_a_ranged_run_records(tmp_path, per_hour):
    """A run of two hours checks both; with `check-results-per-hour = 1` each hour's result is
    also on its partition, with 0 only the run's result is recorded."""
    import json

    from tests.graph import graph
    from tests.test_gcc_options import CONFIG, LOG_NAME, Log, conn, uuid
    from transforms.idb.dictionary import TCallState as TCS

    lg = Log()
    for n, start in enumerate((0, 3700)):       # one call in each of two hours
        call, c = uuid(f"HOUR000{n}"), conn(n + 1)
        lg.created(start, call, c, "+15550001000")
        lg.call(start + 1, "EventRinging", call, c, "7001", other="+15550001000",
                other_role=1, state=TCS.OK)
        lg.call(start + 9, "EventReleased", call, c, "7001", other="+15550001000",
                other_role=1, state=TCS.OK)
        lg.deleted(start + 9.1, call, c, "7001")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / LOG_NAME).write_text(lg.text())
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / "options.toml").write_text(f"[icon-etl]\ncheck-results-per-hour = {per_hour}\n")
    defs = graph(tmp_path / "logs", tmp_path / "config.json", tmp_path / "work",
                 options=tmp_path / "options.toml",
                 asset_checks=build_quality_checks(["a"], HOURLY))
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, progress=lambda _: None)
        evals = evaluations(instance)
    assert summary["failed_runs"] == 0 and summary["partitions"] == 2, summary
    keys = [e for e in evals if e.asset_key == idb_key("G_CALL") and e.check_name == rules.KEYS]
    assert all(e.passed for e in keys)
    assert sorted(e.partition or "run" for e in keys) == (
        ["2026-03-10-06:00", "2026-03-10-07:00", "run"] if per_hour else ["run"])
