"""The whole asset graph on a simulated contact center, run by a real Dagster instance into a
real SQLite and a real PostgreSQL IDB: the IDB agrees with the simulator's ground truth, hour by
hour equals everything at once, re-runs change nothing, and secure values are never printed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.idb import ROLE_TABLES
from dagster_project import runner
from simulator.compare import (
    compare_agents,
    compare_calls,
    compare_user_data,
    load_truth_calls,
    load_window,
)
from tests.graph import graph, simulate_with_examples
from transforms.config import load_options, load_snapshot, spec_from_options
from transforms.datafolder import DataFolder
from transforms.idb import ExplainError, IdbStore, explain_call, table
from transforms.roles import PARTY_LOOKUP, build_gcc, build_gls, build_gos, build_gud

TABLES = [name for names in ROLE_TABLES.values() for name in names]
SECURE_KEY = "CustomerPIN"


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    """Two simulated hours across midnight UTC, with the example options and spec."""
    return simulate_with_examples(tmp_path_factory.mktemp("sim"), profile="small", start="2026-03-09T23:00:00Z", hours=2, seed=11)


def run(sim: Path, work: Path, idb_url: str, hours_per_run: int,
        hours: list[str] | None = None) -> tuple[dict, list[str]]:
    """Materialize everything (or `hours` only); returns the summary and every event-log line
    the runs wrote."""
    defs = graph(sim / "logs", sim / "config.json", work, options=sim / "icon-options.toml",
                 idb_url=idb_url)
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, partition_keys=hours, progress=lambda _: None,
                                 hours_per_run=hours_per_run)
        printed = [str(record) for run in instance.get_runs()
                   for record in instance.all_logs(run.run_id)]
    return summary, printed


def idb_tables(url: str) -> dict[str, pl.DataFrame]:
    store = IdbStore(url)
    return {name: store.read(name) for name in TABLES}


def comparable(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows without the partition that wrote them, in the order of the id column."""
    return frame.drop("ETL_PARTITION", "ETL_HASH", strict=False).sort(table(name).columns[0].name)


@pytest.fixture(scope="module")
def sqlite_run(sim, tmp_path_factory):
    """Hour by hour, one Dagster run per hour, into SQLite."""
    work = tmp_path_factory.mktemp("sqlite")
    url = f"sqlite:///{work / 'idb.sqlite'}"
    summary, printed = run(sim, work, url, hours_per_run=1)
    assert summary["failed_runs"] == 0 and summary["partitions"] >= 2
    return url, work, printed


def test_hourly_runs_into_sqlite_agree_with_the_ground_truth(sim, sqlite_run):
    url, _, _ = sqlite_run
    tables = idb_tables(url)
    truth = load_truth_calls(sim / "truth")
    calls = compare_calls(tables, truth)
    assert calls["all_agree"], calls["disagreements"]
    data = compare_user_data(tables, truth, frozenset({SECURE_KEY}))
    assert data["all_agree"], data["disagreements"]
    agents = compare_agents(tables, sim / "truth")
    assert agents["all_agree"], agents["disagreements"]


def test_secure_values_are_stored_but_never_printed(sqlite_run):
    url, _, printed = sqlite_run
    secure = idb_tables(url)["G_SECURE_USERDATA_HISTORY"]
    pins = set(secure.filter(pl.col("KEYNAME") == SECURE_KEY)["VALUE"])
    assert pins
    # (PINs are 4 digits: look for them next to the key, or quoted as the log prints them)
    leaked = [line for line in printed
              if any((SECURE_KEY in line and pin in line) or f"'{pin}'" in line for pin in pins)]
    assert leaked == []


def test_running_everything_again_changes_nothing(sim, sqlite_run):
    url, work, _ = sqlite_run
    before = idb_tables(url)
    again, _ = run(sim, work, url, hours_per_run=1)
    assert again["failed_runs"] == 0
    for name, frame in idb_tables(url).items():
        assert comparable(name, frame).equals(comparable(name, before[name])), name


def test_rerunning_one_past_hour_changes_nothing(sim, sqlite_run):
    """An old hour run again after later hours (a backfill of one hour): entities a later hour
    completed are left alone, the rest come out the same."""
    url, work, _ = sqlite_run
    before = idb_tables(url)
    again, _ = run(sim, work, url, hours_per_run=1, hours=["2026-03-09-23:00"])
    assert again["failed_runs"] == 0 and again["partitions"] == 1
    for name, frame in idb_tables(url).items():
        assert comparable(name, frame).equals(comparable(name, before[name])), name


def test_explain_shows_each_row_beside_the_event_that_made_it(sqlite_run):
    url, work, _ = sqlite_run
    calls = IdbStore(url).read("G_CALL").filter(pl.col("PARENTCALLID").is_not_null())
    call_id = calls["CALLID"][0]
    lines: list[str] = []
    explain_call(call_id, url, DataFolder(work / "data"), out=lines.append)
    text = "\n".join(lines)
    history = IdbStore(url).read("G_PARTY_HISTORY").filter(pl.col("CALLID") == call_id)
    assert history.height > 0
    for src in history["ETL_SOURCE"]:
        # the event line (time, event, DN, source) is printed, and the rows it produced
        assert any(src in line and "Event" in line for line in lines), src
    assert "not in the parse cache" not in text
    assert f"consultation of {calls['PARENTCALLID'][0]}" in text
    with pytest.raises(ExplainError, match="not in the IDB"):
        explain_call("NO-SUCH-CALL", url, DataFolder(work / "data"), out=lines.append)


def test_postgres_one_run_equals_whole_window_build(sim, tmp_path, pg_url):
    summary, _ = run(sim, tmp_path, pg_url, hours_per_run=24)
    assert summary["failed_runs"] == 0
    stored = idb_tables(pg_url)

    # the same tables built from all events at once, without hours or carries
    config = load_snapshot(sim / "config.json")
    window = load_window(sim / "logs", tmp_path / "whole", switches=config.switches())
    options = load_options(sim / "icon-options.toml")
    gcc = build_gcc(window.events, window.kvpairs, config, "whole")
    gud = build_gud(window.events, window.kvpairs, config, gcc, spec_from_options(options),
                    options.get("callconcentrator", "adata-userdata-history"), "whole")
    gls = build_gls(window.events, window.kvpairs, config, "whole", options,
                    gcc.tables["G_PARTY"].select(PARTY_LOOKUP))
    gos = build_gos(window.events, window.kvpairs, config, "whole")
    whole = {**gcc.tables, **gud.tables, **gls.tables, **gos.tables}
    for name in TABLES:
        ours, theirs = stored[name], whole[name]
        assert ours.height == theirs.height, name
        assert comparable(name, ours).equals(comparable(name, theirs)), name
