"""The one time partitioning every partitioned asset shares: hours in UTC (tech-notes §3.2)."""

import dagster as dg

from dagster_project import settings

HOURLY = dg.HourlyPartitionsDefinition(start_date=settings.partitions_start(), timezone="UTC")
