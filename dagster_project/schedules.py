"""The hourly schedule: a quarter past each hour, the hour that just completed."""

import os

import dagster as dg

from dagster_project.jobs import hourly_job


def schedule_status() -> dg.DefaultScheduleStatus:
    """On unless ICON_SCHEDULE=off (README: the demo's UI shows it running)."""
    off = os.environ.get("ICON_SCHEDULE", "on").lower() in ("off", "0", "false", "no")
    return dg.DefaultScheduleStatus.STOPPED if off else dg.DefaultScheduleStatus.RUNNING


# build_schedule_from_partitioned_job targets the latest *complete* partition: at 11:15 it runs
# the 10:00 hour, giving late log lines of 10:59 a quarter of an hour to arrive.
hourly_schedule = dg.build_schedule_from_partitioned_job(
    hourly_job, name="icon_latest_hour", minute_of_hour=15, default_status=schedule_status(),
    description="Process the hour that just completed, every hour at :15 (UTC).")
