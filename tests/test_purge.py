"""Purge / retention (docs/purge.md) on a real IDB, SQLite and PostgreSQL: three simulated hours
(short shifts: login sessions closed and open; calls ended, open and consulting one another; an
outbound campaign with chains and dialed calls) loaded once per backend through `icon-etl load`,
each test purging a copy of it.

What is checked: a dry run changes nothing and counts what a run removes; batches of 1 and 2
entities end in the same IDB; open entities, and entities that ended after the cut-off, stay;
a call group goes whole or not at all; no row loses what it refers to (the foreign keys of
quality/rules.py); the tables a purge never touches are unchanged; the run is in
G_LOG_MESSAGES; an interrupted purge leaves every entity whole and the next run completes it;
the command line, the Dagster job (its output metadata) and the daily schedule."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa

from tests import badinput as bi
from tests.conftest import PG_URL_VARIABLE
from tests.graph import simulate_with_examples
from transforms.idb import SOFT_REFERENCES, TABLES, IdbStore
from transforms.idb.dictionary import LogMessageId
from transforms.idb.purge import (
    FAMILIES,
    GROUPS,
    HOLDS,
    SOFT,
    family_of,
    family_tables,
    plan_purge,
    purge,
    references,
)

CUTOFF = datetime(2026, 3, 10, 0, 0, tzinfo=timezone.utc)
CUT = int(CUTOFF.timestamp())
LOG_TABLES = ("G_LOG_MESSAGES", "G_LOG_ATTRS")
BACKENDS = ["sqlite", "postgresql"]


# ---- one load per backend, a copy per test -------------------------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    """Three hours; shifts of 0.4 to 1.6 h, so that login sessions end and new ones begin."""
    return simulate_with_examples(
        tmp_path_factory.mktemp("purge_sim"), start="2026-03-09T22:00:00Z", hours=3, seed=5,
        profile={"shift_min_h": 0.4, "shift_max_h": 1.6, "relogin_share": 0.6})


def _load(sim: Path, home: Path, url: str) -> None:
    result = bi.run_cli(["load", "--logs", sim / "logs", "--config", sim / "config.json",
                         "--options", sim / "icon-options.toml", "--idb", url, "--no-checks"],
                        home)
    assert result.rc == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def sqlite_source(sim, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("purge_sqlite")
    _load(sim, root / "home", f"sqlite:///{root / 'idb.sqlite'}")
    return root / "idb.sqlite"


@pytest.fixture(scope="module")
def pg_source(sim, tmp_path_factory, request):
    """A loaded PostgreSQL database, the template of each test's copy."""
    if not os.environ.get(PG_URL_VARIABLE):
        pytest.importorskip("pgserver", reason=f"{PG_URL_VARIABLE} is not set")
    server = request.getfixturevalue("pg_server")
    with server.database("icon_purge_src") as name:
        _load(sim, tmp_path_factory.mktemp("purge_pg") / "home", server.url(name))
        yield server, name


def _copy(request, backend: str, folder: Path):
    """A copy of the loaded IDB of `backend` (its URL), removed afterwards."""
    if backend == "sqlite":
        source = request.getfixturevalue("sqlite_source")
        folder.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copy(f"{source}{suffix}", folder / f"idb.sqlite{suffix}")
        yield f"sqlite:///{folder / 'idb.sqlite'}"
        return
    server, template = request.getfixturevalue("pg_source")
    name = f"icon_purge_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield server.url(name)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def idb(request, tmp_path) -> str:
    """A copy of the loaded IDB (its URL)."""
    yield from _copy(request, request.param, tmp_path / "idb")


@pytest.fixture
def idb_copy(request, idb, tmp_path) -> str:
    """A second copy of the loaded IDB, of the same backend as `idb`."""
    yield from _copy(request, "sqlite" if idb.startswith("sqlite") else "postgresql",
                     tmp_path / "copy")


@pytest.fixture
def store(idb):
    s = IdbStore(idb)
    yield s
    s.engine.dispose()


# ---- helpers -----------------------------------------------------------------------------------

def snapshot(store: IdbStore, names=None) -> dict[str, pl.DataFrame]:
    """Every table but the log's, rows sorted."""
    out = {}
    for name in names or sorted(set(TABLES) - set(LOG_TABLES)):
        frame = store.read(name)
        out[name] = frame.sort(frame.columns, nulls_last=True) if frame.height else frame
    return out


def assert_same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name


def dangling(store: IdbStore) -> set[tuple]:
    """Every row whose reference does not resolve: the foreign keys of quality/rules.py between
    the tables a purge removes rows of (soft references left out), and a chain's campaign
    attempt."""
    from quality.rules import references as rule_references

    refs = [(name, cols, parent, pcols) for name in TABLES if family_of(name)
            for cols, parent, pcols, _ in rule_references(TABLES[name])
            if family_of(parent) and (name, cols[0]) not in SOFT_REFERENCES]
    refs.append(("GO_CHAIN", ("SESSID",), "GO_CAMPAIGN", ("SESSID",)))
    found = set()
    with store.engine.connect() as conn:
        for name, cols, parent, pcols in refs:
            on = " AND ".join(f"p.{p} = c.{c}" for c, p in zip(cols, pcols))
            rows = conn.execute(sa.text(
                f"SELECT {', '.join(f'c.{c}' for c in cols)}, c.ETL_ENTITY FROM {name} c "
                f"WHERE {' AND '.join(f'c.{c} IS NOT NULL' for c in cols)} "
                f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {on})")).all()
            found |= {(name, *cols, *tuple(r)) for r in rows}
    return found


def messages(store: IdbStore, run_id: str) -> dict[int, dict]:
    """MESSAGE_ID -> the message of run `run_id`, with its attributes (`attrs`)."""
    rows = store.read("G_LOG_MESSAGES").filter(pl.col("ETL_RUN_ID") == run_id)
    attrs = store.read("G_LOG_ATTRS")
    out = {}
    for row in rows.iter_rows(named=True):
        mine = attrs.filter(pl.col("ID") == row["ID"])
        out[row["MESSAGE_ID"]] = {**row, "attrs": dict(mine.select("ATTR_NAME", "ATTR_VALUE")
                                                       .iter_rows())}
    return out


def ids(frame: pl.DataFrame, column: str) -> set[str]:
    return set(frame[column].to_list())


# ---- the tests ---------------------------------------------------------------------------------

def test_the_references_are_those_of_the_quality_rules():
    """purge.references() and the foreign keys of quality/rules.py name the same references
    between entity tables (soft ones alike); the purge adds only the chain's campaign attempt."""
    from quality.rules import references as rule_references

    rules = {(name, cols, parent, pcols, SOFT if (name, cols[0]) in SOFT_REFERENCES else GROUPS)
             for name in TABLES if family_of(name)
             for cols, parent, pcols, _ in rule_references(TABLES[name]) if family_of(parent)}
    mine = {(r.table, r.columns, r.parent, r.parent_columns, r.kind) for r in references()}
    assert mine - rules == {("GO_CHAIN", ("SESSID",), "GO_CAMPAIGN", ("SESSID",), HOLDS)}
    assert rules - mine == set()
    # every table with entities is in one family; none of the others is
    assert {n for f in FAMILIES for n in family_tables(f)} == {
        n for n, t in TABLES.items() if t.has_etl_columns}


def test_a_dry_run_changes_nothing_and_counts_what_a_run_removes(store):
    before = snapshot(store)
    plan = plan_purge(store, CUTOFF)
    dry = purge(store, plan, batch_size=1000, dry_run=True)
    assert_same(snapshot(store), before)
    assert dry.total_rows > 0 and dry.dry_run
    real = purge(store, plan_purge(store, CUTOFF), batch_size=1000)
    assert real.rows == dry.rows and real.entities == dry.entities
    after = snapshot(store)
    for name, frame in before.items():
        assert frame.height - after[name].height == real.rows.get(name, 0), name
    # every family removed something, and kept something
    for name in ("G_CALL", "G_LOGIN_SESSION", "GO_CHAIN", "GO_CAMPAIGN", "G_USERDATA_HISTORY",
                 "G_AGENT_STATE_HISTORY", "GOX_CHAIN_CALL"):
        assert real.rows[name] > 0, name
        assert after[name].height > 0, name
    # nothing is left to purge at that cut-off
    again = plan_purge(store, CUTOFF)
    assert all(not p.units for p in again.families.values())


def test_batches_of_one_and_two_entities_end_in_the_same_idb(idb, idb_copy):
    ends = []
    for url, size in ((idb, 1), (idb_copy, 2)):
        store = IdbStore(url)
        try:
            plan = plan_purge(store, CUTOFF)
            report = purge(store, plan, batch_size=size)
            units = sum(len(p.units) for p in plan.families.values())
            entities = sum(p.entities for p in plan.families.values())
            assert entities > units     # call groups of several calls: never split
            if size == 1:               # a unit a batch (a larger one alone)
                assert report.batches == units
            assert report.batches > len(plan.families)
            ends.append((report.rows, snapshot(store)))
        finally:
            store.engine.dispose()
    assert ends[0][0] == ends[1][0]
    assert_same(ends[0][1], ends[1][1])


def test_open_and_later_entities_stay_groups_go_whole_and_nothing_dangles(store):
    before = snapshot(store)
    dangling_before = dangling(store)
    report = purge(store, plan_purge(store, CUTOFF), batch_size=7)
    after = snapshot(store)

    # never an open entity, nor one that ended at or after the cut-off
    calls = after["G_CALL"]
    assert ids(before["G_CALL_ACTIVE"], "CALLID") <= ids(calls, "CALLID")
    assert ids(before["G_IR_ACTIVE"], "IRID") <= ids(after["G_IR"], "IRID")
    late = before["G_CALL"].filter(pl.col("TERMINATED_TS").is_null()
                                   | (pl.col("TERMINATED_TS") >= CUT))
    assert late.height and ids(late, "CALLID") <= ids(calls, "CALLID")
    for name, key in (("G_LOGIN_SESSION", "LOGINSESSIONID"), ("GO_CHAIN", "CHAINGUID"),
                      ("GO_CAMPAIGN", "SESSID")):
        kept = before[name].filter(pl.col("TERMINATED_TS").is_null()
                                   | (pl.col("TERMINATED_TS") >= CUT))
        assert kept.height and ids(kept, key) <= ids(after[name], key), name
        gone = ids(before[name], key) - ids(after[name], key)
        assert gone and ids(before[name].filter(pl.col("TERMINATED_TS") < CUT), key) >= gone
    assert ids(before["G_AGENT_STATE_RC_A"], "SESSIONID") <= ids(after["G_LOGIN_SESSION"],
                                                                  "LOGINSESSIONID")
    # some calls ended before the cut-off stay: their group, or a staying session, holds them
    assert report.held["interactions"] > 0
    assert calls.filter(pl.col("TERMINATED_TS") < CUT).height >= report.held["interactions"]

    # a call group goes whole: consultation, merge, IR and inter-site link partners alike
    old = before["G_CALL"]
    pairs = [pair for column in ("PARENTCALLID", "MERGECALLID")
             for pair in old.filter(pl.col(column).is_not_null())
             .select("CALLID", other=column).rows()]
    pairs += old.join(before["G_IR"], on="IRID").select("CALLID", other="ROOTCALLID").rows()
    links = before["G_IS_LINK"].select("LINKID", "CALLID")
    pairs += links.join(links, on="LINKID").select("CALLID", other="CALLID_right").rows()
    assert any(a != b for a, b in pairs)
    old_calls, kept_calls = ids(old, "CALLID"), ids(calls, "CALLID")
    for a, b in pairs:
        if a in old_calls and b in old_calls:
            assert (a in kept_calls) == (b in kept_calls), (a, b)

    # no row refers to what the purge removed
    assert dangling(store) <= dangling_before
    # every entity that stays is whole: its rows are all the rows it had
    for name in set(before) - set(LOG_TABLES):
        if family_of(name):
            kept = set(after[name]["ETL_ENTITY"].to_list())
            assert before[name].filter(pl.col("ETL_ENTITY").is_in(list(kept))).height \
                == after[name].height, name

    # what a purge never touches
    for name in before:
        if family_of(name) is None:
            assert before[name].equals(after[name]), name
    for name in ("G_DICTIONARY", "G_TIMECODE", "GC_ENDPOINT", "G_DSS_GCC_PROVIDER",
                 "ETL_COVERAGE", "ETL_KPI_QUEUE"):
        assert before[name].height > 0, name


def test_a_dialed_call_follows_the_interaction_rule_and_sessions_hold_their_calls(store):
    """Only interactions: the chains stay with their GOX_CHAIN_CALL rows (a soft reference to
    the dialed call, which goes by its own end), and every call an agent state of a staying
    session names stays."""
    plan = plan_purge(store, CUTOFF, ["interactions"])
    assert list(plan.families) == ["interactions"]
    states = store.read("G_AGENT_STATE_HISTORY")
    gox = store.read("GOX_CHAIN_CALL")
    named = set(states["CALLID"].drop_nulls().to_list()) & ids(store.read("G_CALL"), "CALLID")
    assert plan.families["interactions"].held > 0
    purge(store, plan, batch_size=50)
    calls = ids(store.read("G_CALL"), "CALLID")
    assert named and named <= calls
    assert store.read("GOX_CHAIN_CALL").height == gox.height
    assert set(gox["CALLID"].to_list()) - calls, "no dialed call was purged"
    assert store.read("G_LOGIN_SESSION").height > 0 and store.read("GO_CHAIN").height > 0


def test_the_run_is_recorded_in_g_log_messages(store):
    dry = purge(store, plan_purge(store, CUTOFF), batch_size=100, dry_run=True)
    real = purge(store, plan_purge(store, CUTOFF), batch_size=100, run_id="run-42")
    assert real.run_id == "run-42"
    for report, flag in ((dry, "1"), (real, "0")):
        found = messages(store, report.run_id)
        assert set(found) == {LogMessageId.PROCEDURE_STARTED, LogMessageId.PROCEDURE_ENDED}
        end = found[LogMessageId.PROCEDURE_ENDED]
        assert end["APPNAME"] == "icon-etl purge"
        assert end["attrs"]["DRY_RUN"] == flag
        assert ("dry run" in end["MESSAGETEXT"]) == (flag == "1")
        assert {k[5:]: int(v) for k, v in end["attrs"].items() if k.startswith("ROWS.")} \
            == report.rows
        assert int(end["attrs"]["ENTITIES.interactions"]) == report.entities["interactions"]
        assert end["attrs"]["CUTOFF.sessions"] == "2026-03-10T00:00:00Z"
        assert int(end["attrs"]["BATCHES"]) == report.batches
    assert dry.rows == real.rows


class Interrupted(Exception):
    pass


def test_an_interrupted_purge_leaves_every_entity_whole_and_the_next_run_completes_it(
        store, idb_copy):
    dangling_before = dangling(store)
    told: list[str] = []

    def tell(text: str) -> None:
        told.append(text)
        if len(told) == 3:
            raise Interrupted("stopped after the third batch")

    with pytest.raises(Interrupted):
        purge(store, plan_purge(store, CUTOFF), batch_size=5, progress=tell,
              run_id="interrupted")
    failed = messages(store, "interrupted")
    assert set(failed) == {LogMessageId.PROCEDURE_STARTED, LogMessageId.RUN_FAILED}
    assert failed[LogMessageId.RUN_FAILED]["attrs"]["BATCHES"] == "3"
    assert "Interrupted: stopped" in failed[LogMessageId.RUN_FAILED]["attrs"]["ERROR"]
    assert dangling(store) <= dangling_before
    purge(store, plan_purge(store, CUTOFF), batch_size=5)

    whole = IdbStore(idb_copy)
    try:
        purge(whole, plan_purge(whole, CUTOFF), batch_size=1000)
        assert_same(snapshot(store), snapshot(whole))
    finally:
        whole.engine.dispose()


def test_an_entity_found_open_again_at_its_batch_is_kept(store):
    """A write between the plan and the batch (a backfill opening a call again): the batch
    checks again and leaves the call's group."""
    plan = plan_purge(store, CUTOFF, ["interactions"])
    unit = next(u for u in plan.families["interactions"].units if len(u) == 1)
    with store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO G_CALL_ACTIVE SELECT * FROM G_CALL WHERE "
                             "ETL_ENTITY = :e"), {"e": unit[0]})
    report = purge(store, plan, batch_size=10)
    assert report.skipped["interactions"] == 1
    assert store.read("G_CALL").filter(pl.col("ETL_ENTITY") == unit[0]).height == 1
    assert report.entities["interactions"] == plan.families["interactions"].entities - 1


def test_a_session_kept_at_its_batch_keeps_the_calls_it_names(store):
    """A session planned for removal is found open at its batch: it stays, and so do the calls
    its state history names, although the plan had them removed (nothing dangles)."""
    dangling_before = dangling(store)
    plan = plan_purge(store, CUTOFF)
    sessions = {e for u in plan.families["sessions"].units for e in u}
    calls = {e for u in plan.families["interactions"].units for e in u}
    named = (store.read("G_AGENT_STATE_HISTORY")
             .filter(pl.col("ETL_ENTITY").is_in(list(sessions)) & pl.col("CALLID").is_not_null())
             .join(store.read("G_CALL").select("CALLID", call_entity="ETL_ENTITY"), on="CALLID")
             .filter(pl.col("call_entity").is_in(list(calls))))
    assert named.height, "the plan removes a session with the calls it names"
    session, call = named.row(0, named=True)["ETL_ENTITY"], named.row(0, named=True)["CALLID"]
    with store.engine.begin() as conn:      # the session is open again (an active reason code)
        conn.execute(sa.text("INSERT INTO G_AGENT_STATE_RC_A SELECT * FROM G_AGENT_STATE_RC "
                             "WHERE ETL_ENTITY = :e"), {"e": session})
        if not conn.execute(sa.text("SELECT COUNT(*) FROM G_AGENT_STATE_RC_A WHERE "
                                    "ETL_ENTITY = :e"), {"e": session}).scalar_one():
            conn.execute(sa.text("UPDATE G_LOGIN_SESSION SET TERMINATED_TS = NULL WHERE "
                                 "ETL_ENTITY = :e"), {"e": session})
    report = purge(store, plan, batch_size=7)
    assert report.skipped["sessions"] >= 1 and report.skipped["interactions"] >= 1
    assert store.read("G_LOGIN_SESSION").filter(pl.col("ETL_ENTITY") == session).height == 1
    assert call in ids(store.read("G_CALL"), "CALLID")
    assert dangling(store) <= dangling_before


def test_a_call_group_goes_only_when_all_its_calls_ended_before_the_cut_off(store):
    """One call of a consultation group ends after the cut-off, one is open again: neither group
    loses any call. And a call that ended before the cut-off but was written by an hour that had
    not ended by then (23:00 for a cut-off at 23:30) stays: a later hour may still write it."""
    plan = plan_purge(store, CUTOFF)
    groups = [u for u in plan.families["interactions"].units if len(u) > 1]
    assert len(groups) >= 2
    late, reopened = groups[0], groups[1]
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE G_CALL SET TERMINATED_TS = :ts WHERE ETL_ENTITY = :e"),
                     {"ts": CUT + 60, "e": late[-1]})
        conn.execute(sa.text("INSERT INTO G_CALL_ACTIVE SELECT * FROM G_CALL WHERE "
                             "ETL_ENTITY = :e"), {"e": reopened[0]})
    plan = plan_purge(store, CUTOFF)
    planned = {e for u in plan.families["interactions"].units for e in u}
    assert not planned & set(late + reopened)
    purge(store, plan, batch_size=3)
    calls = store.read("G_CALL")
    assert set(late + reopened) <= ids(calls, "ETL_ENTITY")

    half = datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)
    written_later = calls.filter((pl.col("TERMINATED_TS") < int(half.timestamp()))
                                 & (pl.col("ETL_PARTITION") == "2026-03-09-23:00"))
    assert written_later.height > 0
    purge(store, plan_purge(store, half), batch_size=100)
    assert ids(written_later, "CALLID") <= ids(store.read("G_CALL"), "CALLID")


# ---- the command line, the Dagster job and the schedule (SQLite) --------------------------------

@pytest.fixture
def lite(request, tmp_path) -> str:
    yield from _copy(request, "sqlite", tmp_path / "lite")


def test_the_command_line(lite, tmp_path, capsys, monkeypatch):
    from dagster_project.cli import main

    for variable in ("ICON_OPTIONS", "ICON_IDB_URL", "ICON_HOME"):
        monkeypatch.delenv(variable, raising=False)
    store = IdbStore(lite)
    before = snapshot(store, ["G_CALL", "G_LOGIN_SESSION"])
    assert main(["purge", "--before", "2026-03-10T00:00Z", "--idb", lite, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "rows to remove" in out and "G_CALL " in out and "dry run" in out
    assert "interactions batch 1/1" in err
    assert_same(snapshot(store, ["G_CALL", "G_LOGIN_SESSION"]), before)

    options = tmp_path / "options.toml"
    options.write_text("[icon-etl]\npurge-batch-size = 3\n")
    assert main(["purge", "--before", "2026-03-10", "--idb", lite, "--family", "sessions",
                 "--options", str(options)]) == 0
    out, err = capsys.readouterr()
    assert "sessions batch 1/3" in err and "interactions" not in err
    total = int(next(ln for ln in out.splitlines() if ln.startswith("total")).split()[-1])
    assert total > 0 and "G_LOGIN_SESSION" in out and "G_CALL " not in out
    assert store.read("G_CALL").height == before["G_CALL"].height
    assert store.read("G_LOGIN_SESSION").height < before["G_LOGIN_SESSION"].height
    store.engine.dispose()

    # bad input: exit 2 with one line naming it
    for args, says in (
            (["--before", "2026-13-40", "--idb", lite], "--before '2026-13-40': not an ISO"),
            (["--before", "2026-03-10", "--idb", f"sqlite:///{tmp_path / 'none.sqlite'}"],
             "no such SQLite file"),
            (["--before", "2026-03-10", "--idb", f"sqlite:///{tmp_path / 'empty.sqlite'}"],
             "has no IDB tables")):
        if "empty" in args[-1]:
            sa.create_engine(args[-1]).connect().close()
        assert main(["purge", *args]) == 2
        out, err = capsys.readouterr()
        assert says in err and "Traceback" not in err, err


def _definitions(tmp_path: Path, url: str, options: Path | None = None):
    from dagster_project.definitions import build_definitions
    from dagster_project.settings import Settings

    settings = Settings.from_env(env={}, home=tmp_path / "home", idb_url=url,
                                 options_file=options, workers=1)
    return build_definitions(settings)


def test_the_dagster_job_reports_its_counts_in_its_metadata(lite, tmp_path):
    store = IdbStore(lite)
    expected = purge(store, plan_purge(store, CUTOFF), dry_run=True)
    store.engine.dispose()
    defs = _definitions(tmp_path, lite)
    job = defs.get_job_def("icon_purge")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, run_config={"ops": {"purge": {"config": {
                "before": "2026-03-10T00:00:00Z", "batch_size": 25}}}})
        assert result.success
        output = next(e for e in result.all_node_events if e.is_successful_output)
        metadata = {k: v.value for k, v in output.step_output_data.metadata.items()}
        stored = instance.all_logs(result.run_id)
        assert any(e.dagster_event and e.dagster_event.is_successful_output for e in stored)
    assert metadata["rows"] == expected.rows
    assert metadata["rows G_CALL"] == expected.rows["G_CALL"] > 0
    assert metadata["total_rows"] == expected.total_rows and metadata["dry_run"] is False
    assert metadata["entities"] == expected.entities
    assert result.output_for_node("purge")["rows"] == expected.rows
    store = IdbStore(lite)
    found = messages(store, result.run_id)
    assert set(found) == {LogMessageId.PROCEDURE_STARTED, LogMessageId.PROCEDURE_ENDED}
    assert found[LogMessageId.PROCEDURE_ENDED]["APPNAME"] == "icon-etl icon_purge"
    store.engine.dispose()


def test_a_bad_job_config_fails_the_run_saying_why(lite, tmp_path):
    job = _definitions(tmp_path, lite).get_job_def("icon_purge")
    with dg.DagsterInstance.ephemeral() as instance:
        for config, says in (({"families": ["calls"]}, "unknown family calls"),
                             ({"before": "yesterday"}, "not an ISO 8601 time"),
                             ({}, "every [icon-etl] retention-days-* is 0")):
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"ops": {"purge": {"config": config}}})
            assert not result.success
            failure = next(e for e in result.all_events if e.is_step_failure)
            assert says in failure.step_failure_data.error.message, config


def test_the_dagster_job_takes_its_cutoffs_from_the_retention_options(lite, tmp_path):
    options = tmp_path / "options.toml"
    options.write_text("[icon-etl]\nretention-days-sessions = 1\n")
    job = _definitions(tmp_path, lite, options).get_job_def("icon_purge")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)      # no config: the retention
    assert result.success
    output = next(e for e in result.all_node_events if e.is_successful_output)
    metadata = {k: v.value for k, v in output.step_output_data.metadata.items()}
    assert list(metadata["cutoffs"]) == ["sessions"] and "rows G_CALL" not in metadata
    cutoff = datetime.fromisoformat(metadata["cutoffs"]["sessions"].replace("Z", "+00:00"))
    if cutoff >= CUTOFF:    # today's clock is more than a day after the data
        assert metadata["rows G_LOGIN_SESSION"] > 0


def test_the_daily_schedule_takes_each_familys_retention(tmp_path):
    from assets.resources import IconConfig

    options = tmp_path / "options.toml"
    options.write_text("[icon-etl]\nretention-days-interactions = 10\n"
                       "retention-days-outbound = 400\n")
    defs = _definitions(tmp_path, f"sqlite:///{tmp_path / 'idb.sqlite'}", options)
    schedule = defs.get_schedule_def("icon_purge_daily")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.cron_schedule == "30 3 * * *"
    at = datetime(2026, 3, 20, 3, 30, tzinfo=timezone.utc)
    with dg.build_schedule_context(scheduled_execution_time=at, resources={
            "icon": IconConfig(options_file=str(options))}) as context:
        data = schedule.evaluate_tick(context)
    [request] = data.run_requests
    assert request.run_config == {"ops": {"purge": {"config": {"cutoffs": {
        "outbound": "2025-02-13T03:00:00Z", "interactions": "2026-03-10T03:00:00Z"}}}}}

    options.write_text("[icon-etl]\nretention-days-sessions = 0\n")
    with dg.build_schedule_context(scheduled_execution_time=at, resources={
            "icon": IconConfig(options_file=str(options))}) as context:
        data = schedule.evaluate_tick(context)
    assert not data.run_requests and "retention-days" in data.skip_message
