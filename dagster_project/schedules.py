"""The hourly schedule: a quarter past each hour, the hour that just completed."""

import dagster as dg

from dagster_project.purge import purge_schedule as build_purge_schedule


def hourly_schedule(job, running: bool) -> dg.ScheduleDefinition:
    """`running`: on unless ICON_SCHEDULE=off (README: the demo's UI shows it running).
    build_schedule_from_partitioned_job targets the latest *complete* partition: at 11:15 it
    runs the 10:00 hour, giving late log lines of 10:59 a quarter of an hour to arrive."""
    return dg.build_schedule_from_partitioned_job(
        job, name="icon_latest_hour", minute_of_hour=15,
        default_status=(dg.DefaultScheduleStatus.RUNNING if running
                        else dg.DefaultScheduleStatus.STOPPED),
        description="Process the hour that just completed, every hour at :15 (UTC).")


def purge_schedule(job) -> dg.ScheduleDefinition:
    """Daily purge by the options' retention (`icon_purge_daily`, stopped until switched on:
    dagster_project/purge.py)."""
    return build_purge_schedule(job)
