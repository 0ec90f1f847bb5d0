"""How a role's hours are cut into chunks (transforms/roles/chunk.py `plan_chunks`): every hour
once, consecutive hours only, at most `max_hours` each, and with several workers a day's busy
hours spread over more chunks than its quiet ones."""

from datetime import datetime, timezone

from transforms.hours import keys_between
from transforms.roles import plan_chunks


def day(start_hour: int = 0, hours: int = 24) -> list[str]:
    first = datetime(2026, 3, 10, start_hour, tzinfo=timezone.utc)
    return keys_between(first, datetime(2026, 3, 10, start_hour + hours - 1, tzinfo=timezone.utc))


def test_one_worker_cuts_every_max_hours():
    keys = day()
    assert [len(c) for c in plan_chunks(keys, 1, 6)] == [6, 6, 6, 6]


def test_a_gap_starts_a_new_chunk_and_every_hour_is_in_one_chunk():
    keys = day(0, 3) + day(5, 4)
    chunks = plan_chunks(keys, 2, 6, {k: 10 for k in keys})
    assert [k for c in chunks for k in c] == keys
    assert all(c in (keys[:3], keys[3:]) or set(c) <= set(keys[:3]) or set(c) <= set(keys[3:])
               for c in chunks)


def test_busy_hours_are_spread_over_more_chunks_than_quiet_ones():
    keys = day()
    events = {k: (100_000 if 9 <= i < 17 else 5_000) for i, k in enumerate(keys)}
    chunks = plan_chunks(keys, 2, 6, events)
    assert [k for c in chunks for k in c] == keys
    weights = [sum(events[k] for k in c) for c in chunks]
    # no chunk holds more than a quarter of the day's events (2 x 2 workers), give or take an hour
    assert max(weights) <= sum(events.values()) / 4, weights
    busy = [len(c) for c in chunks if all(events[k] == 100_000 for k in c)]
    assert busy and max(busy) <= 2, chunks          # two busy hours are a quarter already
    assert len(chunks) > len(plan_chunks(keys, 1, 6, events))


def test_without_chunks_per_worker_only_max_hours_cuts():
    keys = day()
    events = {k: (100_000 if 9 <= i < 17 else 5_000) for i, k in enumerate(keys)}
    assert plan_chunks(keys, 2, 6, events, per_worker=0) == plan_chunks(keys, 1, 6)
    assert len(plan_chunks(keys, 2, 6, events, per_worker=1)) \
        < len(plan_chunks(keys, 2, 6, events, per_worker=2))
