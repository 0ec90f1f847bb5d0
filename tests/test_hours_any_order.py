"""Hours that do not wait for each other (issue 14): the IDB is the same, row for row on every
column (ETL_PARTITION, the hour of each entity's last event, included), whether a run's hours are
done in one run, hour by hour, in chunks by 2 or 4 worker processes (`--parallel`), in reverse
order once their reconciled events exist (gcc's hours before the other roles'), or with one hour
re-run alone afterwards; into SQLite and into PostgreSQL (docs/architecture.md, "Hours that give one answer")."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.ha import COVERAGE_KEY, RECONCILED_KEY
from assets.idb import idb_key
from assets.ingest import parsed_key
from assets.roles import role_key
from dagster_project import runner
from tests.graph import graph, simulate_with_examples
from transforms.datafolder import DataFolder
from transforms.idb import BOOKKEEPING, TABLES, IdbStore
from transforms.roles import ROLE_TABLES


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    """Four simulated hours across midnight (calls and login sessions cross every cut)."""
    return simulate_with_examples(tmp_path_factory.mktemp("any_order_sim"), profile="small",
                                  start="2026-03-09T22:00:00Z", hours=4, seed=41)


def defs_for(sim: Path, work: Path, url: str, workers: int = 1) -> dg.Definitions:
    return graph(sim / "logs", sim / "config.json", work, options=sim / "icon-options.toml",
                 idb_url=url, workers=workers)


def load(sim: Path, work: Path, url: str, workers: int = 1, hours_per_run: int = 720,
         hours: list[str] | None = None) -> dict:
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs_for(sim, work, url, workers), instance, partition_keys=hours,
                                 progress=lambda _: None, hours_per_run=hours_per_run,
                                 checks=False)
    assert summary["failed_runs"] == 0, summary
    failures = DataFolder(work / "data").failures()
    assert failures == [], failures
    return summary


def load_in_reverse(sim: Path, work: Path, url: str) -> None:
    """Parse and reconcile every hour (one run); then gcc's hours one run each, the last hour
    first, and the other roles' the same way (an hour of gud or gls reads gcc's hours its
    window covers: the parties of its calls)."""
    defs = defs_for(sim, work, url)
    graph_ = defs.resolve_asset_graph()
    upstream = [parsed_key("a"), RECONCILED_KEY, COVERAGE_KEY]
    gcc = [role_key("gcc"), *(idb_key(n) for n in ROLE_TABLES["gcc"])]

    def materialize(selection: list, **partition) -> None:
        result = dg.materialize(defs.assets, selection=selection, instance=instance,
                                resources=defs.resources, run_config=runner.quiet(), **partition)
        assert result.success, partition

    with dg.instance_for_test() as instance:
        materialize([k for k in graph_.get_all_asset_keys()
                     if not graph_.get(k).is_partitioned and graph_.get(k).is_materializable])
        keys = runner.hour_keys(defs, *runner.data_span(defs))
        assert len(keys) >= 4
        materialize(upstream, tags={runner.RANGE_START: keys[0], runner.RANGE_END: keys[-1]})
        rest = [k for k in graph_.get_all_asset_keys()
                if graph_.get(k).is_partitioned and k not in upstream + gcc]
        for stage in (gcc, rest):
            for key in reversed(keys):
                materialize(stage, partition_key=key)
    failures = DataFolder(work / "data").failures()
    assert failures == [], failures


def idb_tables(url: str) -> dict[str, pl.DataFrame]:
    store = IdbStore(url)
    out = {}
    for name in sorted(set(TABLES) - set(BOOKKEEPING)):
        frame = store.read(name)
        out[name] = frame.sort(frame.columns) if frame.height else frame
    return out


def assert_same(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    assert sum(f.height for f in want.values()) > 1000
    differ = [name for name in want if not got[name].equals(want[name])]
    assert differ == [], {n: (got[n].height, want[n].height) for n in differ}


@pytest.fixture(scope="module")
def reference(sim, tmp_path_factory) -> dict[str, pl.DataFrame]:
    """Every hour in one run, one worker, into SQLite."""
    work = tmp_path_factory.mktemp("any_order_ref")
    url = f"sqlite:///{work / 'idb.sqlite'}"
    load(sim, work, url)
    tables = idb_tables(url)
    assert tables["G_CALL"]["ETL_PARTITION"].n_unique() >= 4
    return tables


def target(backend: str, work: Path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / 'idb.sqlite'}"
    return request.getfixturevalue("pg_url")


WAYS = {
    "hour by hour": lambda sim, work, url: load(sim, work, url, hours_per_run=1),
    "--parallel 2": lambda sim, work, url: load(sim, work, url, workers=2),
    "--parallel 4": lambda sim, work, url: load(sim, work, url, workers=4),
    "reverse order": load_in_reverse,
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("way", list(WAYS))
def test_the_idb_is_the_same_however_the_hours_are_done(sim, reference, tmp_path, request,
                                                         way, backend):
    url = target(backend, tmp_path, request)
    WAYS[way](sim, tmp_path, url)
    assert_same(idb_tables(url), reference)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_hour_re_run_alone_changes_nothing(sim, reference, tmp_path, request, backend):
    url = target(backend, tmp_path, request)
    load(sim, tmp_path, url)
    keys = sorted(reference["ETL_COVERAGE"]["HOUR"].unique().to_list())
    load(sim, tmp_path, url, hours=[keys[1]])
    assert_same(idb_tables(url), reference)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_first_load_builds_the_indexes_after_the_rows(sim, reference, tmp_path, request,
                                                        backend, monkeypatch):
    """The bulk path (`IdbStore._indexes_after`): empty tables taking many rows get their
    secondary indexes after the rows, in the same transaction; same rows, same indexes."""
    import sqlalchemy as sa

    from transforms.idb import store

    monkeypatch.setattr(store, "BULK_INDEX_ROWS", 1)     # every table takes the bulk path
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement.strip().split("\n")[0])
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        url = target(backend, tmp_path, request)
        load(sim, tmp_path, url)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    dropped = [s for s in statements if s.upper().startswith("DROP INDEX")]
    assert any("g_call_partition" in s.lower() for s in dropped), dropped[:5]
    assert_same(idb_tables(url), reference)
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        for table in store.METADATA.sorted_tables:
            want = {ix.name for ix in table.indexes}
            have = {ix["name"] for ix in inspector.get_indexes(table.name.lower()
                                                                if backend == "postgresql"
                                                                else table.name)}
            assert want <= have, (table.name, want - have)
    finally:
        engine.dispose()
