"""The code location: one line of ingest assets per HA replica, and the jobs that run them."""

from __future__ import annotations

import warnings

import dagster as dg

# Beta/preview parameters we rely on on purpose (backfill policies, partitioned checks).
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)

from assets.idb import build_idb_assets
from assets.ingest import build_ingest_assets
from assets.roles import build_role_assets
from dagster_project import settings
from dagster_project.resources import default_resources

REPLICAS = sorted(settings.replicas())

ingest_assets = [a for replica in REPLICAS for a in build_ingest_assets(replica)]
role_assets = [a for replica in REPLICAS for a in build_role_assets(replica)]
idb_assets = build_idb_assets(REPLICAS)

# The main job: every asset, so a run takes the logs all the way through.
main_job = dg.define_asset_job("icon_main", selection=dg.AssetSelection.all(),
                               description="Register and parse log segments, then build the IDB.")

defs = dg.Definitions(
    assets=ingest_assets + role_assets + idb_assets,
    jobs=[main_job],
    resources=default_resources(),
)
