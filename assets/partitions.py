"""The one time partitioning every partitioned asset shares: hours in UTC (no DST: 24 hours a day),
from the first hour of the registered logs, or the first hour the settings give
(ICON_PARTITIONS_START). Keys are `transforms.hours` keys."""

from datetime import datetime

import dagster as dg

from transforms.hours import key_of

# before any log is registered (a new data folder) and without ICON_PARTITIONS_START
DEFAULT_START = "2024-01-01-00:00"


def hourly_partitions(start: str = DEFAULT_START) -> dg.HourlyPartitionsDefinition:
    return dg.HourlyPartitionsDefinition(start_date=start, timezone="UTC")


def start_of(first_event: datetime | None, given: str = "") -> str:
    """The partitions' first hour: `given` (the settings'), else the hour of the first
    registered event, else DEFAULT_START."""
    if given:
        return given
    return key_of(first_event) if first_event is not None else DEFAULT_START
