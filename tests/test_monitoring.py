"""Monitoring: freshness, coverage gaps and call volume as asset checks of a real pipeline run
(two replicas of a simulated contact center with gaps injected), the freshness sensor, the
run-failure sensor, the messages they leave in G_LOG_MESSAGES and the alerts they send to a real
webhook and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.monitoring import (
    CALLS_KEY,
    FRESHNESS_KEY,
    freshness_check,
    hourly_monitoring_checks,
)
from assets.resources import IconConfig, Idb
from dagster_project import runner
from dagster_project.alerts import Alerts
from dagster_project.jobs import monitor_job
from dagster_project.sensors import freshness_sensor, run_failure_sensor, tell
from quality.monitoring import call_volume, coverage_gaps, freshness
from tests.alert_sinks import smtp_server, webhook
from tests.graph import EXAMPLE_OPTIONS, HOURLY, graph, simulate_with_examples
from transforms.hours import hour_start, key_of
from transforms.idb import IdbStore, LogMessage
from transforms.idb.dictionary import LogCategory, LogMessageId
from transforms.roles import STUCK_CLOSURES

GAPS = "gap:a:north@0h20m+10m; gap:a:north@1h20m+10m; gap:b:north@1h20m+10m"
MAX_LAG = 30


def with_options(sim: Path, line: str) -> Path:
    """The example options beside `sim`'s logs, with `line` added to [icon-etl]."""
    options = sim / "icon-options.toml"
    options.write_text(options.read_text().replace("[icon-etl]", f"[icon-etl]\n{line}"))
    return options


def check_evaluations(instance: dg.DagsterInstance, check: str) -> list[dg.AssetCheckEvaluation]:
    """Oldest first."""
    return [rec.dagster_event.event_specific_data for run in reversed(instance.get_runs())
            for rec in instance.all_logs(run.run_id)
            if rec.dagster_event and rec.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
            and rec.dagster_event.event_specific_data.check_name == check]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    """Two replicas, three hours: in the first hour replica a misses 10 minutes (b has them),
    in the second both miss the same 10 minutes. Loaded without its last hour."""
    root = tmp_path_factory.mktemp("monitoring")
    simulate_with_examples(root / "sim", profile="small", start="2026-03-09T22:00:00Z", hours=3,
                           seed=5, replicas=2, faults=GAPS)
    options = with_options(root / "sim", f"freshness-max-lag-minutes = {MAX_LAG}")
    checks = [freshness_check(), hourly_monitoring_checks(HOURLY)]
    defs = graph(root / "sim" / "logs", root / "sim" / "config.json", root, ["a", "b"],
                 options=options, asset_checks=checks, jobs=[monitor_job(FRESHNESS_KEY)])
    instance = dg.DagsterInstance.ephemeral()
    summary = runner.run_all(defs, instance, progress=lambda _: None,
                             partition_keys=["2026-03-09-22:00", "2026-03-09-23:00"])
    assert summary["failed_runs"] == 0, summary
    return {"root": root, "defs": defs, "instance": instance,
            "store": IdbStore(defs.resources["idb"].url)}


def test_each_hour_names_its_coverage_gaps(site):
    by_hour = {e.partition: e for e in check_evaluations(site["instance"], "coverage_gaps")}
    degraded, lost = by_hour["2026-03-09-22:00"], by_hour["2026-03-09-23:00"]
    # a missed 22:20-22:30, b logged it: nothing lost, one copy only -> a warning
    assert not degraded.passed and degraded.severity == dg.AssetCheckSeverity.WARN
    assert "replica a SW_NORTH partial (22:1" in degraded.description   # (the hole is put at
    assert "-22:30:" in degraded.description                              # the longest pause)
    # both missed 23:20-23:30: lost -> an error naming the interval
    assert not lost.passed and lost.severity == dg.AssetCheckSeverity.ERROR
    assert "no replica logged SW_NORTH: 23:" in lost.description
    assert "-23:30:" in lost.description


def test_the_idb_behind_its_logs_is_stale_then_fresh_once_loaded(site):
    [stale] = check_evaluations(site["instance"], "freshness")[-1:]
    assert not stale.passed, stale.description
    assert "behind the logs" in stale.description
    assert stale.metadata["last_loaded_hour"].value == "2026-03-09-23:00"
    assert stale.metadata["lag_minutes"].value > MAX_LAG


def test_the_freshness_sensor_records_and_alerts_once_when_loading_falls_behind(site, tmp_path):
    defs, instance, store = site["defs"], site["instance"], site["store"]
    with webhook() as (url, posted), smtp_server() as (smtp, mailed):
        alerts = Alerts(webhook=url, email_to="ops@example.com", smtp=smtp)
        resources = {**defs.resources, "alerts": alerts}

        def evaluate(cursor=None):
            with dg.build_sensor_context(instance=instance, cursor=cursor,
                                         resources=resources) as ctx:
                return freshness_sensor(ctx)

        first = evaluate()
        [request] = first.run_requests          # the check is run on its own
        again = evaluate(first.cursor)
        assert isinstance(again, dg.SkipReason)  # told once, not every 5 minutes
        messages = store.read("G_LOG_MESSAGES").filter(
            pl.col("MESSAGE_ID") == int(LogMessageId.LOAD_STALE))
        assert messages.height == 1
        assert messages["CATEGORY"][0] == int(LogCategory.ALARM)
        assert "behind the logs" in messages["MESSAGETEXT"][0]
        assert len(posted) == 1 and "behind the logs" in posted[0]["text"]
        assert len(mailed) == 1 and mailed[0]["To"] == "ops@example.com"
        assert "behind the logs" in mailed[0]["Subject"]

        # the last hour loaded: fresh again; the sensor runs the check, tells nobody
        last = runner.run_all(defs, instance, progress=lambda _: None,
                              partition_keys=["2026-03-10-00:00"])
        assert last["failed_runs"] == 0
        fresh = check_evaluations(instance, "freshness")[-1]
        assert fresh.passed, fresh.description
        back = evaluate(first.cursor)
        assert len(back.run_requests) == 1 and len(posted) == 1 and len(mailed) == 1
    job = defs.resolve_job_def("icon_monitor")
    assert job.execute_in_process(instance=instance).success
    assert check_evaluations(instance, "freshness")[-1].passed


def test_a_drop_in_calls_against_the_same_hour_of_previous_weeks_warns(site):
    """Earlier weeks made from the loaded hour: its calls moved back one and two weeks,
    once as many (the hour passes), then three times as many (the hour is a third of usual)."""
    store, defs = site["store"], site["defs"]
    hour = "2026-03-09-23:00"
    calls = store.read("G_CALL", where="CREATED_TS >= :a AND CREATED_TS < :b",
                       params={"a": int(hour_start(hour).timestamp()),
                               "b": int(hour_start(hour).timestamp()) + 3600})
    coverage = store.read("ETL_COVERAGE", where="HOUR = :h", params={"h": hour})
    assert calls.height >= 20

    def earlier_weeks(copies: int) -> None:
        for weeks in (1, 2):
            back = timedelta(days=7 * weeks)
            moved = pl.concat([calls.with_columns(
                CALLID=pl.col("CALLID") + f"-w{weeks}c{c}",
                CREATED=pl.col("CREATED") - back,
                CREATED_TS=pl.col("CREATED_TS") - int(back.total_seconds()))
                for c in range(copies)])
            store.delete_in("G_CALL", "ETL_PARTITION", [f"past-{weeks}"])
            store.upsert("G_CALL", moved.with_columns(ETL_PARTITION=pl.lit(f"past-{weeks}")))
            earlier = key_of(hour_start(hour) - back)
            store.replace_where({"ETL_COVERAGE": coverage.with_columns(HOUR=pl.lit(earlier))},
                                "HOUR", earlier)

    def volume_check() -> dg.AssetCheckEvaluation:
        job = dg.define_asset_job("volume", partitions_def=HOURLY, selection=dg.AssetSelection
                                  .checks(dg.AssetCheckKey(CALLS_KEY, "call_volume")))
        result = dg.Definitions(
            assets=defs.assets, asset_checks=[hourly_monitoring_checks(HOURLY)], jobs=[job],
            resources=defs.resources).resolve_job_def("volume").execute_in_process(
            tags={runner.RANGE_START: hour, runner.RANGE_END: hour}, instance=site["instance"])
        [evaluation] = result.get_asset_check_evaluations()
        return evaluation

    earlier_weeks(copies=1)
    usual = volume_check()
    assert usual.passed, usual.description
    assert usual.metadata["weeks_compared"].value == 2
    earlier_weeks(copies=3)
    dropped = volume_check()
    assert not dropped.passed and dropped.severity == dg.AssetCheckSeverity.WARN
    assert "33%" in dropped.description and "below 50%" in dropped.description


def test_a_failed_run_is_recorded_in_the_idb_and_alerted(site, tmp_path):
    """A run that fails for real (its configuration snapshot is damaged), then the sensor."""
    defs, store = site["defs"], site["store"]
    (tmp_path / "damaged.json").write_text('{"switches": [')
    broken = dg.Definitions(assets=defs.assets, resources={
        **defs.resources, "icon": IconConfig(snapshot=str(tmp_path / "damaged.json"),
                                             options_file=str(EXAMPLE_OPTIONS))})
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(list(broken.assets), selection=[dg.AssetKey(["idb", "reference"])],
                            resources=broken.resources, instance=instance,
                            raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in instance.all_logs(run.run_id)
                   if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE")
    with webhook() as (url, posted):
        context = dg.build_run_status_sensor_context(
            sensor_name="icon_run_failures", dagster_instance=instance, dagster_run=run,
            dagster_event=failure.dagster_event,
            resources={"idb": defs.resources["idb"], "alerts": Alerts(webhook=url)},
        ).for_run_failure()
        run_failure_sensor(context)
        run_failure_sensor(context)         # evaluated twice: still one message
    rows = store.read("G_LOG_MESSAGES").filter(pl.col("ETL_RUN_ID") == run.run_id)
    assert rows.height == 1
    assert rows["MESSAGE_ID"][0] == int(LogMessageId.RUN_FAILED)
    assert run.job_name in rows["APPNAME"][0]
    attrs = dict(store.read("G_LOG_ATTRS").filter(pl.col("ID") == rows["ID"][0])
                 .select("ATTR_NAME", "ATTR_VALUE").iter_rows())
    step = next(v for k, v in attrs.items() if k.startswith("STEP "))
    assert "damaged.json" in step                      # why the step failed
    assert attrs["RUN_ID"] == run.run_id
    assert len(posted) == 2 and run.run_id in posted[0]["text"]


def test_stuck_calls_closed_by_a_rule_are_counted_per_hour(tmp_path):
    """With `max-call-idle` short, calls whose end the logs do not hold close by rule: each hour
    says how many, once, however often it is written."""
    simulate_with_examples(tmp_path / "sim", profile="small", start="2026-03-09T22:00:00Z",
                           hours=2, seed=5, faults="gap:a:north@0h20m+20m")
    options = with_options(tmp_path / "sim", "max-call-idle = 600")
    defs = graph(tmp_path / "sim" / "logs", tmp_path / "sim" / "config.json", tmp_path,
                 options=options)
    store = IdbStore(defs.resources["idb"].url)
    for _ in range(2):
        assert runner.run_all(defs, dg.DagsterInstance.ephemeral(), progress=lambda _: None,
                              checks=False)["failed_runs"] == 0
    messages = store.read("G_LOG_MESSAGES").filter(
        pl.col("MESSAGE_ID") == int(LogMessageId.STUCK_CLOSED))
    attrs = store.read("G_LOG_ATTRS").pivot("ATTR_NAME", index="ID", values="ATTR_VALUE")
    told = messages.join(attrs, on="ID")
    assert told.height == messages.height
    for name, (_, rules) in STUCK_CLOSURES.items():
        closed = store.read(name).filter(pl.col("ETL_CLOSED_BY").is_in(list(rules)))
        assert closed.height > 0, name       # the gap leaves calls and sessions without end
        mine = told.filter(pl.col("TABLE") == name)
        assert mine["COUNT"].cast(pl.Int64).sum() == closed.height
        per_hour = closed.group_by("ETL_PARTITION", "ETL_CLOSED_BY").len()
        assert sorted(mine.select("HOUR", "RULE", pl.col("COUNT").cast(pl.UInt32)).rows()) == \
            sorted(per_hour.rows())
        assert all(f"closed by rule {r}" in t for r, t in mine.select("RULE", "MESSAGETEXT").rows())


# ---- the rules alone ---------------------------------------------------------------------------

def test_freshness_rule():
    start = hour_start("2026-03-10-09:00")
    assert freshness(None, None, 30).passed                     # nothing registered
    assert not freshness(start, None, 30).passed                # nothing loaded
    assert freshness(start + timedelta(minutes=89), "2026-03-10-08:00", 30).passed is False
    assert freshness(start + timedelta(minutes=29), "2026-03-10-08:00", 30).passed
    # the naive times of the registry are UTC
    assert freshness((start + timedelta(minutes=31)).replace(tzinfo=None),
                     "2026-03-10-08:00", 30).passed is False


def test_coverage_rule_without_rows_is_an_error():
    empty_cov = pl.DataFrame(schema={"REPLICA": pl.String, "SWITCH": pl.String,
                                     "STATUS": pl.String, "MISSING": pl.String})
    empty_rec = pl.DataFrame(schema={"SWITCH": pl.String, "UNCOVERED": pl.String})
    report, severity = coverage_gaps("2026-03-10-09:00", empty_cov, empty_rec)
    assert not report.passed and severity == "ERROR"


@pytest.mark.parametrize("now,history,passed", [
    (10, {}, True),                 # no earlier week loaded
    (10, {1: 100, 2: 100}, False),  # 10 %
    (60, {1: 100, 2: 100}, True),   # 60 %
    (0, {1: 10, 2: 12}, True),      # too few to judge
    (40, {1: 100, 2: 0, 3: 100}, False),  # a loaded week with no call counts: median 100
])
def test_call_volume_rule(now, history, passed):
    hour = "2026-03-10-09:00"
    calls = {hour: now} | {key_of(hour_start(hour) - timedelta(days=7 * w)): n
                           for w, n in history.items()}
    loaded = set(calls)
    report = call_volume(hour, calls, loaded, 4, 0.5, 20)
    assert report.passed is passed, report.description


def test_an_alert_goes_out_when_the_idb_cannot_record_it(caplog):
    """The IDB is often why a run failed: the alert still goes out, and says the message was
    not recorded."""
    down = Idb(url="postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2")
    message = LogMessage(LogMessageId.RUN_FAILED, "icon-etl icon_hourly", "run-1",
                         "run run-1 of icon_hourly failed", datetime.now(timezone.utc),
                         attrs={"RUN_ID": "run-1"})
    with webhook() as (url, posted):
        tell(down, Alerts(webhook=url), message, logging.getLogger("icon_run_failures"))
    [alert] = posted
    assert alert["details"]["RUN_ID"] == "run-1"
    assert "G_LOG_MESSAGES could not be written" in alert["details"]["NOT_RECORDED"]
    assert "not recorded in the IDB" in caplog.text
