"""Runs as the UI, the schedule and the sensor launch them (issue 14), whose IDB equals the
single-process one, row for row on every column but run bookkeeping:

* the multiprocess executor (the default): steps in processes of their own, two at a time;
* a distributed run on dagster-celery, with Redis as the broker, two Celery worker processes
  started and stopped here, the Dagster instance on PostgreSQL and one data folder the workers
  share (docs/architecture.md, "Scaling out").

Redis: `ICON_TEST_REDIS_URL` (`.ci/run` sets it to this machine's server; the test then fails if
it cannot be reached), else redis://127.0.0.1:6379 when something answers there; skipped, with
the reason shown, where no Redis is (a user's machine)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_project import runner
from dagster_project.definitions import build_definitions
from dagster_project.settings import Settings
from tests import badinput as bi
from tests import code_location
from tests.test_hours_any_order import assert_same, idb_tables, load
from tests.graph import simulate_with_examples
from transforms.datafolder import DataFolder

ROOT = Path(__file__).resolve().parents[1]
REDIS_VARIABLE = "ICON_TEST_REDIS_URL"


@pytest.fixture(scope="module")
def redis_url() -> str:
    import redis

    given = os.environ.get(REDIS_VARIABLE)
    base = (given or "redis://127.0.0.1:6379").rstrip("/")
    try:
        redis.Redis.from_url(base, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        if given:
            pytest.fail(f"Redis at {base} ({REDIS_VARIABLE}) cannot be used: {exc}")
        pytest.skip(f"no Redis at {base} (set {REDIS_VARIABLE} to run the Celery test)")
    # a database of its own among Redis' 16: no other run's tasks reach these workers
    return f"{base}/{random.randint(1, 15)}"


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    return simulate_with_examples(tmp_path_factory.mktemp("executors_sim"), profile="small",
                                  start="2026-03-09T22:00:00Z", hours=3, seed=43)


@pytest.fixture(scope="module")
def reference(sim, tmp_path_factory) -> dict:
    """Every hour in one process (what `icon-etl load --parallel 1` does), into SQLite."""
    work = tmp_path_factory.mktemp("executors_reference")
    url = f"sqlite:///{work / 'idb.sqlite'}"
    load(sim, work, url)
    return idb_tables(url)


def environment(sim: Path, work: Path, idb_url: str, executor: str,
                broker: str = "") -> dict[str, str]:
    """What the run and its step processes (or Celery workers) see: one code location's
    settings."""
    return bi.cli_env(work, ICON_LOG_DIR=str(sim / "logs"),
                      ICON_CONFIG_SNAPSHOT=str(sim / "config.json"),
                      ICON_OPTIONS=str(sim / "icon-options.toml"),
                      ICON_DATA_DIR=str(work / "data"), ICON_IDB_URL=idb_url,
                      ICON_EXECUTOR=executor, ICON_CELERY_BROKER=broker,
                      ICON_MAX_CONCURRENT="2", ICON_SCHEDULE="off",
                      PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def start_workers(env: dict[str, str], work: Path, count: int = 2) -> list[subprocess.Popen]:
    """`count` Celery workers of one task at a time each (what `dagster-celery worker start`
    runs), listening to the run's broker."""
    config = work / "celery_config"
    config.mkdir()
    (config / "dagster_celery_config.py").write_text(
        f"broker_url = {env['ICON_CELERY_BROKER']!r}\nresult_backend = {env['ICON_CELERY_BROKER']!r}\n")
    env = {**env, "PYTHONPATH": os.pathsep.join([str(config), env["PYTHONPATH"]])}
    celery = Path(sys.executable).parent / "celery"
    return [subprocess.Popen([str(celery), "-A", "dagster_celery.app", "worker",
                              "--prefetch-multiplier=1", "--concurrency=1", "--pool=prefork",
                              "-n", f"icon-test-{i}@%h", "--loglevel=WARNING"],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(work / f"worker{i}.log", "w"))
            for i in range(count)]


def stop(workers: list[subprocess.Popen]) -> None:
    for w in workers:
        w.terminate()
    deadline = time.monotonic() + 30
    for w in workers:
        try:
            w.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()


def instance_at(home: Path, storage_url: str | None = None) -> dg.DagsterInstance:
    """A Dagster instance in `home`: local storage, or on PostgreSQL (docs/dagster.yaml.postgres)."""
    home.mkdir()
    config = "telemetry:\n  enabled: false\n"
    if storage_url:
        config = (ROOT / "docs" / "dagster.yaml.postgres").read_text().replace(
            "${ICON_DAGSTER_PG_URL}", storage_url)
    (home / "dagster.yaml").write_text(config)
    return dg.DagsterInstance.from_config(str(home))


def use(env: dict[str, str], monkeypatch) -> None:
    """This process (the run's coordinator) sees `env` too."""
    for key in [k for k in os.environ if k.startswith(("ICON_", "DAGSTER_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def run_everything(instance: dg.DagsterInstance, work: Path) -> dg.ExecutionResult:
    """Registration, then every hour with data in one ranged run (a backfill from the UI)."""
    registered = dg.execute_job(dg.reconstructable(code_location.icon_register), instance,
                                raise_on_error=False)
    assert registered.success, worker_logs(work)
    defs = build_definitions(Settings.from_env())
    hours = runner.hour_keys(defs, *runner.data_span(defs))
    assert len(hours) >= 3
    result = dg.execute_job(dg.reconstructable(code_location.icon_hourly), instance,
                            tags={runner.RANGE_START: hours[0], runner.RANGE_END: hours[-1]},
                            raise_on_error=False)
    assert result.success, worker_logs(work)
    return result


def step_processes(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[int, float, float]]:
    """Step -> (process id, start, end) as the run's event log says."""
    spans: dict[str, list] = {}
    for e in instance.all_logs(run_id):
        if e.dagster_event and e.step_key and (e.dagster_event.is_step_start or
                                               e.dagster_event.is_step_success):
            span = spans.setdefault(e.step_key, [e.dagster_event.pid, None, None])
            span[1 if e.dagster_event.is_step_start else 2] = e.timestamp
    return {k: tuple(v) for k, v in spans.items()}


def test_a_run_from_the_ui_runs_steps_at_once_and_builds_the_same_idb(sim, reference, tmp_path,
                                                                      monkeypatch):
    work = tmp_path / "multiprocess"
    work.mkdir()
    env = environment(sim, work, f"sqlite:///{work / 'idb.sqlite'}", "multiprocess")
    use(env, monkeypatch)
    instance = instance_at(work / "dagster_home")
    try:
        result = run_everything(instance, work)
        spans = step_processes(instance, result.run_id)
    finally:
        instance.dispose()
    assert os.getpid() not in {pid for pid, _, _ in spans.values()}
    assert len({pid for pid, _, _ in spans.values()}) == len(spans)   # a process per step
    # independent steps overlapped (never more than ICON_MAX_CONCURRENT=2 at once)
    edges = sorted([(start, 1) for _, start, _ in spans.values()] +
                   [(end, -1) for _, _, end in spans.values()])
    running = [sum(d for _, d in edges[:i + 1]) for i in range(len(edges))]
    assert max(running) == 2, running
    assert DataFolder(work / "data").failures() == []
    assert_same(idb_tables(env["ICON_IDB_URL"]), reference)


def test_a_celery_run_on_two_workers_builds_the_same_idb(sim, reference, redis_url, pg_server,
                                                        tmp_path, monkeypatch):
    work = tmp_path / "celery"
    work.mkdir()
    with pg_server.database("icon_celery_idb") as idb, \
            pg_server.database("icon_celery_instance") as storage:
        env = environment(sim, work, pg_server.url(idb), "celery", redis_url)
        use(env, monkeypatch)
        instance = instance_at(work / "dagster_home", pg_server.url(storage, driver="psycopg2"))
        workers = start_workers(env, work)
        try:
            result = run_everything(instance, work)
            # the steps ran in the two workers, not here
            pids = {pid for pid, _, _ in step_processes(instance, result.run_id).values()}
            assert len(pids) == 2 and os.getpid() not in pids, pids
        finally:
            stop(workers)
            instance.dispose()
        assert DataFolder(work / "data").failures() == []
        assert_same(idb_tables(env["ICON_IDB_URL"]), reference)


def worker_logs(work: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(work.glob("worker*.log")))
