"""The code location: one line of ingest assets per HA replica, the roles and the IDB, their
checks, and the jobs, schedule and sensor that run them — built from one `Settings` object.
Dagster loads `defs` when the code location loads (not at import): the replica folders are
looked at then."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from assets.graph import build_assets, build_checks
from assets.monitoring import FRESHNESS_KEY
from assets.partitions import hourly_partitions, start_of
from assets.resources import IconConfig, Idb, LogStorage
from dagster_project.alerts import Alerts
from dagster_project.jobs import hourly_job, main_job, monitor_job, purge_job, register_job
from dagster_project.schedules import hourly_schedule, purge_schedule
from dagster_project.sensors import freshness_sensor, log_folder_sensor, run_failure_sensor
from dagster_project.settings import Settings
from transforms.config import RuleVersions


def resources(settings: Settings, lock: bool = True) -> dict:
    """`lock=False`: the caller holds the data folder for the whole of its runs (the CLI)."""
    options = settings.options_file
    return {
        "logs": LogStorage(log_dir=str(settings.log_dir), data_dir=str(settings.data_dir),
                           workers=settings.workers, replicas=",".join(settings.replica_names),
                           lock=lock),
        "icon": IconConfig(snapshot=str(settings.config_snapshot),
                           options_file=str(options) if options else ""),
        "idb": Idb(url=settings.idb_url),
        "alerts": Alerts(webhook=settings.alert_webhook, email_to=settings.alert_email,
                         smtp=settings.smtp, email_from=settings.alert_from),
    }


def executor(settings: Settings) -> dg.ExecutorDefinition:
    """How a run launched from the UI, the schedule or the sensor executes its steps: in
    processes of this machine (at most `max_concurrent` at once), in this process, or as
    Celery tasks taken by workers on any machine that sees the data folder. (`icon-etl`
    commands run in their own process whatever this says; their hours run in pools.)"""
    if settings.executor == "in_process":
        return dg.in_process_executor
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {"broker": settings.celery_broker,
             "backend": settings.celery_backend or settings.celery_broker},
            name="celery")
    return dg.multiprocess_executor.configured(
        {"max_concurrent": settings.max_concurrent or settings.workers}, name="multiprocess")


def first_registered(settings: Settings) -> datetime | None:
    """The first event of the logs registered in the data folder (None before any): where the
    hourly partitions start, so that the UI lists the hours there are logs for."""
    span = resources(settings)["logs"].span()
    return span[0] if span else None


def build_definitions(settings: Settings, lock: bool = True) -> dg.Definitions:
    """The code location of `settings`. Each step of its runs holds the data folder shared
    while it runs (assets/resources.py LogStorage)."""
    replicas = sorted(settings.replicas())
    hourly = hourly_partitions(start_of(first_registered(settings), settings.partitions_start))
    assets = build_assets(replicas, hourly, RuleVersions(settings.options_file,
                                                          settings.config_snapshot))
    hourly_run = hourly_job(hourly)
    purge_run = purge_job()
    return dg.Definitions(
        assets=assets,
        asset_checks=build_checks(replicas, hourly),
        jobs=[main_job(), hourly_run, register_job(assets), monitor_job(FRESHNESS_KEY),
              purge_run],
        schedules=[hourly_schedule(hourly_run, settings.schedule_running),
                   purge_schedule(purge_run)],
        sensors=[log_folder_sensor, freshness_sensor, run_failure_sensor],
        resources=resources(settings, lock),
        executor=executor(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev` / `dagster-webserver -w workspace.yaml` load: the environment's
    settings (dagster_project/settings.py)."""
    return build_definitions(Settings.from_env())
