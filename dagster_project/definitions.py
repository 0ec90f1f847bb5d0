"""The code location: one line of ingest assets per HA replica, and the jobs that run them."""

from __future__ import annotations

import warnings

import dagster as dg

# Beta/preview parameters we rely on on purpose (backfill policies, partitioned checks).
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from assets.checks import build_quality_checks
from assets.ha import build_ha_assets
from assets.idb import build_idb_assets
from assets.ingest import build_ingest_assets
from assets.resources import IconConfig, Idb, LogStorage
from assets.roles import build_role_assets
from dagster_project import settings
from dagster_project.jobs import hourly_job, main_job, register_job
from dagster_project.schedules import hourly_schedule
from dagster_project.sensors import log_folder_sensor

REPLICAS = sorted(settings.replicas())

ingest_assets = [a for replica in REPLICAS for a in build_ingest_assets(replica)]
role_assets = build_role_assets()
ha_assets = build_ha_assets(REPLICAS)
idb_assets = build_idb_assets(REPLICAS)
# Great Expectations suites as asset checks on every IDB table and parsed-events partition
quality_checks = build_quality_checks(REPLICAS)

ASSETS = ingest_assets + role_assets + ha_assets + idb_assets


def default_resources() -> dict:
    options = settings.options_file()
    return {
        "logs": LogStorage(log_dir=str(settings.log_dir()), data_dir=str(settings.data_dir()),
                           workers=settings.workers(),
                           replicas=",".join(settings.replica_names())),
        "icon": IconConfig(snapshot=str(settings.config_snapshot()),
                            options_file=str(options) if options else ""),
        "idb": Idb(url=settings.idb_url()),
    }


defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=quality_checks,
    jobs=[main_job, hourly_job, register_job(ASSETS)],
    schedules=[hourly_schedule],
    sensors=[log_folder_sensor],
    resources=default_resources(),
)
