"""Automation: the hourly schedule, the log-folder sensor (late files for past hours), backfills
as few runs, and Dagster's own storage on PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from dagster_project import runner
from dagster_project.definitions import build_definitions
from dagster_project.jobs import hourly_job
from dagster_project.schedules import hourly_schedule
from dagster_project.sensors import log_folder_sensor
from simulator import simulate
from tests.graph import HOURLY, settings
from transforms.idb import IdbStore, table
from transforms.roles import ROLE_TABLES

TABLES = [name for names in ROLE_TABLES.values() for name in names]


def definitions(logs: Path, config: Path, work: Path) -> dg.Definitions:
    """The code location `dagster dev` loads, over these folders."""
    return build_definitions(settings(logs, config, work))


def snapshot(work: Path) -> dict[str, pl.DataFrame]:
    store = IdbStore(f"sqlite:///{work / 'idb.sqlite'}")
    return {n: store.read(n).drop("ETL_PARTITION", "ETL_HASH", strict=False)
            .sort(table(n).columns[0].name) for n in TABLES}


def test_schedule_runs_the_hour_that_just_completed():
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 10, 11, 15, tzinfo=timezone.utc))
    schedule = hourly_schedule(hourly_job(HOURLY), running=True)
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["2026-03-10-10:00"]
    assert schedule.cron_schedule == "15 * * * *"


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sim")
    simulate(root, profile="small", start="2026-03-09T22:00:00Z", hours=3, seed=3)
    return root


def test_late_file_for_past_hours_is_noticed_and_processed(sim, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(sim / "logs", logs)
    late = sorted(logs.glob("TS_SOUTH.*.log"))[0]
    held_back = tmp_path / late.name
    late.rename(held_back)          # the south T-Server's log arrives late

    defs = definitions(logs, sim / "config.json", tmp_path)
    with dg.instance_for_test() as instance:
        assert runner.run_all(defs, instance, progress=lambda _: None)["failed_runs"] == 0
        logs_res = defs.resources["logs"]

        def evaluate(cursor=None):
            with dg.build_sensor_context(instance=instance, cursor=cursor,
                                         resources={"logs": logs_res}) as ctx:
                return log_folder_sensor(ctx)

        # nothing new since the load (its cursor is the registry)
        first = evaluate()
        assert first.cursor is not None
        assert isinstance(evaluate(first.cursor), dg.SkipReason)

        held_back.rename(late)
        # 1) a file changed: register it
        step = evaluate(first.cursor)
        [register] = step.run_requests
        assert register.job_name == "icon_register"
        assert defs.resolve_job_def("icon_register").execute_in_process(instance=instance).success
        # 2) the registry changed: every hour from the late file's first one to the last
        step = evaluate(first.cursor)
        [hours] = step.run_requests
        assert hours.job_name == "icon_hourly"
        reg = logs_res.segments("a").registry().filter(pl.col("path") == late.name)
        first_hour = reg["first_ts"][0].replace(minute=0, second=0, microsecond=0)
        assert hours.tags[runner.RANGE_START] == first_hour.strftime("%Y-%m-%d-%H:%M")
        assert hours.tags[runner.RANGE_END] == "2026-03-10-00:00"
        result = defs.resolve_job_def("icon_hourly").execute_in_process(
            instance=instance, tags=hours.tags)
        assert result.success
        assert isinstance(evaluate(step.cursor), dg.SkipReason)
    after_late = snapshot(tmp_path)
    assert after_late["G_CALL"].filter(pl.col("SWITCHID") == 2).height > 0   # south's calls

    # the same as loading everything at once
    fresh = tmp_path / "fresh"
    with dg.instance_for_test() as instance:
        assert runner.run_all(definitions(sim / "logs", sim / "config.json", fresh), instance,
                              progress=lambda _: None)["failed_runs"] == 0
    everything = snapshot(fresh)
    for name in TABLES:
        assert after_late[name].equals(everything[name]), name


def test_a_backfill_of_many_hours_is_one_run(sim, tmp_path):
    defs = definitions(sim / "logs", sim / "config.json", tmp_path)
    hours = runner.hour_keys(defs, datetime(2026, 3, 9, 22, tzinfo=timezone.utc),
                             datetime(2026, 3, 10, 0, 59, tzinfo=timezone.utc))
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, partition_keys=hours, progress=lambda _: None)
        assert summary["failed_runs"] == 0
        ranged = [r for r in instance.get_runs() if runner.RANGE_START in r.tags]
    assert len(ranged) == 1
    assert (ranged[0].tags[runner.RANGE_START], ranged[0].tags[runner.RANGE_END]) == (hours[0], hours[-1])
    # the asset graph's own backfills are one run too: every partitioned asset says so
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_partitioned and node.is_materializable:
            assert node.backfill_policy == dg.BackfillPolicy.single_run(), key.to_user_string()


def test_dagster_instance_on_postgres(sim, tmp_path, pg_server):
    """docs/dagster.yaml.postgres: runs, events and schedules in PostgreSQL."""
    with pg_server.database("icon_instance") as name:
        template = (Path(__file__).resolve().parents[1] / "docs" / "dagster.yaml.postgres").read_text()
        home = tmp_path / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(
            template.replace("${ICON_DAGSTER_PG_URL}",
                             pg_server.url(name, driver="psycopg2")))
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            defs = definitions(sim / "logs", sim / "config.json", tmp_path)
            hours = ["2026-03-09-22:00"]
            summary = runner.run_all(defs, instance, partition_keys=hours, progress=lambda _: None)
            assert summary["failed_runs"] == 0
            assert len(instance.get_runs()) == 2
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        finally:
            instance.dispose()
