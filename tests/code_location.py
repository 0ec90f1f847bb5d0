"""The jobs of the code location as step processes and Celery workers rebuild them
(`dg.reconstructable` needs a function of an importable module). Settings come from the
environment, as in `dagster dev`."""

import dagster as dg

from dagster_project.definitions import build_definitions
from dagster_project.settings import Settings


def job(name: str) -> dg.JobDefinition:
    return build_definitions(Settings.from_env()).resolve_job_def(name)


def icon_register() -> dg.JobDefinition:
    return job("icon_register")


def icon_hourly() -> dg.JobDefinition:
    return job("icon_hourly")
