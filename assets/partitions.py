"""The one time partitioning every partitioned asset shares: hours in UTC (tech-notes §3.2)."""

import os

import dagster as dg

DEFAULT_START = "2024-01-01-00:00"
# read once, at import (ICON_PARTITIONS_START; dagster_project/settings.py documents it)
HOURLY = dg.HourlyPartitionsDefinition(
    start_date=os.environ.get("ICON_PARTITIONS_START", DEFAULT_START), timezone="UTC")
