"""The code location: one line of ingest assets per HA replica, and the jobs that run them."""

from __future__ import annotations

import warnings

import dagster as dg

# Beta/preview parameters we rely on on purpose (backfill policies, partitioned checks).
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from assets.ingest import build_ingest_assets
from dagster_project import settings
from dagster_project.resources import default_resources

REPLICAS = sorted(settings.replicas())

ingest_assets = [a for replica in REPLICAS for a in build_ingest_assets(replica)]

# The main job: every asset, so a run takes the logs all the way through.
main_job = dg.define_asset_job("icon_main", selection=dg.AssetSelection.all(),
                               description="Register and parse log segments, then build the IDB.")

defs = dg.Definitions(
    assets=ingest_assets,
    jobs=[main_job],
    resources=default_resources(),
)
