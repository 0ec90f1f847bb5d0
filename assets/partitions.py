"""The one time partitioning every partitioned asset shares: hours in UTC (no DST: 24 hours a day),
from a first hour the settings give (ICON_PARTITIONS_START). Keys are `transforms.hours` keys."""

import dagster as dg

DEFAULT_START = "2024-01-01-00:00"


def hourly_partitions(start: str = DEFAULT_START) -> dg.HourlyPartitionsDefinition:
    return dg.HourlyPartitionsDefinition(start_date=start, timezone="UTC")
