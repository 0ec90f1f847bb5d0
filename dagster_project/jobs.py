"""Jobs: the whole graph, the hourly job the schedule and the sensor launch, and registration."""

import dagster as dg

from dagster_project.purge import purge_job as build_purge_job


def main_job():
    """Every asset: registration (unpartitioned) runs first, then the hours in order."""
    return dg.define_asset_job(
        "icon_main", selection=dg.AssetSelection.all(),
        description="Register and parse log segments, reconcile the replicas, build the IDB.")


def hourly_job(hourly: dg.PartitionsDefinition):
    """The same graph as a partitioned job: one run processes one hour, or a range of hours (tags
    dagster/asset_partition_range_start/_end), re-registering the segments first."""
    return dg.define_asset_job(
        "icon_hourly", selection=dg.AssetSelection.all(), partitions_def=hourly,
        description="Register new segments, then process one hour (or a range of hours) of every "
                    "replica all the way into the IDB.")


def register_job(assets: list[dg.AssetsDefinition]):
    """The unpartitioned assets only: segment registries (and parse caches), data source
    sessions, reference tables. What the sensor runs first when files change."""
    keys = [key for a in assets if a.partitions_def is None for key in a.keys]
    return dg.define_asset_job("icon_register", selection=dg.AssetSelection.assets(*keys),
                               description="Register new or changed log segments.")


def monitor_job(freshness: dg.AssetCheckKey):
    """The freshness check alone: what the freshness sensor runs when loading stops."""
    return dg.define_asset_job("icon_monitor", selection=dg.AssetSelection.checks(freshness),
                               description="Is the IDB behind the logs? (the freshness check)")


def purge_job():
    """Purge / retention (docs/purge.md): an op job over the IDB, not the asset graph."""
    return build_purge_job()
