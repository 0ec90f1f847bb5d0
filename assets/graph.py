"""The whole asset graph over a list of HA replicas and one hourly partitioning, in the order
data flows: raw segments and parsed hours per replica -> HA reconciliation -> roles -> IDB
tables; and the quality checks on it."""

from __future__ import annotations

import dagster as dg

from assets.checks import build_quality_checks
from assets.ha import build_ha_assets
from assets.idb import build_idb_assets
from assets.ingest import build_ingest_assets
from assets.monitoring import freshness_check, hourly_monitoring_checks
from assets.reports import build_report_assets
from assets.roles import build_role_assets
from transforms.config import RuleVersions


def build_assets(replicas: list[str], hourly: dg.PartitionsDefinition,
                 versions: RuleVersions | None = None) -> list[dg.AssetsDefinition]:
    """`versions`: the rules of the options and configuration the runs will use (their code
    versions: what the UI marks stale when they change); the defaults when not given."""
    versions = versions or RuleVersions(None, None)
    return ([a for replica in replicas for a in build_ingest_assets(replica, hourly)]
            + build_ha_assets(replicas, hourly) + build_role_assets(hourly, versions)
            + build_idb_assets(replicas, hourly, versions)
            + build_report_assets(hourly, versions))


def build_checks(replicas: list[str], hourly: dg.PartitionsDefinition
                 ) -> list[dg.AssetChecksDefinition]:
    """Great Expectations suites as asset checks on every IDB table and parsed-events hour,
    and the monitoring checks (freshness, coverage gaps, call volume)."""
    return [*build_quality_checks(replicas, hourly), freshness_check(),
            hourly_monitoring_checks(hourly)]
