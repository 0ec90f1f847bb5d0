"""Hours, the unit every stage after parsing works in: a UTC hour named by its partition key
(`2026-03-10-09:00`, the form of Dagster's hourly partitions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

KEY_FORMAT = "%Y-%m-%d-%H:%M"
HOUR = timedelta(hours=1)


def as_utc(ts: datetime) -> datetime:
    """`ts` in UTC (a naive time is taken as UTC)."""
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def hour_of(ts: datetime) -> datetime:
    """The start of the UTC hour that holds `ts` (a naive time is taken as UTC)."""
    return as_utc(ts).replace(minute=0, second=0, microsecond=0)


def key_of(ts: datetime) -> str:
    """The key of the hour that holds `ts`."""
    return hour_of(ts).strftime(KEY_FORMAT)


def hour_start(key: str) -> datetime:
    """The first instant (UTC) of the hour `key` names."""
    try:
        return datetime.strptime(key, KEY_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValueError(f"{key!r} is not an hour key like 2026-03-10-09:00") from None


def hour_span(key: str) -> tuple[datetime, datetime]:
    """[start, end) of the hour `key` names."""
    start = hour_start(key)
    return start, start + HOUR


def previous_key(key: str) -> str:
    return (hour_start(key) - HOUR).strftime(KEY_FORMAT)


def keys_between(first: datetime, last: datetime) -> list[str]:
    """Keys of every hour from the one holding `first` to the one holding `last` (inclusive)."""
    start, end = hour_of(first), hour_of(last)
    count = int((end - start) / HOUR) + 1 if end >= start else 0
    return [(start + n * HOUR).strftime(KEY_FORMAT) for n in range(count)]
