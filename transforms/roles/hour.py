"""One hour of a role: the window it reads (the events still open at the hour's start, carried
from the hour before, plus the hour's reconciled events), its build, what it carries to the next
hour, and its output in the data folder (docs/architecture.md "Hours and carries")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from transforms.datafolder import DataFolder
from transforms.hours import hour_start, previous_key
from transforms.roles.carry import Window, carry_out
from transforms.roles.result import RoleResult


class PartitionOrderError(RuntimeError):
    """An hour was asked for before what it builds on (the hour before, or another stage)."""


@dataclass
class RoleHour:
    """What one hour of a role did."""

    result: RoleResult
    events: int           # events in the window (carried in + the hour's)
    carried_out: int      # events carried to the next hour


def window_of(frames: dict[str, pl.DataFrame] | None) -> Window | None:
    return None if frames is None else Window(frames["events"], frames["kvpairs"])


def hour_window(data: DataFolder, key: str) -> Window:
    """The hour's reconciled events (with `src`, `dss_id`, times in the reference clock)."""
    window = window_of(data.reconciled_hour(key))
    if window is None:
        raise PartitionOrderError(f"the reconciled events of {key} are missing: materialize "
                                  f"ha/reconciled_events for {key} first")
    return window


def carried_in(data: DataFolder, role: str, key: str, first_data: datetime | None) -> Window:
    """The open entities `role` carried from the previous hour; nothing when no data precedes
    `key`."""
    prev = previous_key(key)
    carried = data.role_carry(role, prev, "events")
    if carried is not None:
        return Window(carried, data.role_carry(role, prev, "kvpairs"))
    if first_data is not None and first_data < hour_start(key):
        raise PartitionOrderError(
            f"{role}: the hour before {key} ({prev}) has not been processed, and log data exists "
            f"before {key}; process hours in order (a backfill from the first hour with data, or "
            f"`icon-etl load`)")
    return Window.empty()


def same_hour(data: DataFolder, built_on: str, role: str, key: str) -> RoleResult:
    """The output of role `built_on` for the same hour, which `role` builds on (gud and gls read
    gcc's calls and parties)."""
    staged = data.role_hour(built_on, key)
    if staged is None:
        raise PartitionOrderError(f"{role} {key} needs {built_on} of the same hour: materialize "
                                  f"roles/{built_on} first")
    tables, status = staged
    return RoleResult(tables, status)


def run_hour(data: DataFolder, role: str, key: str, first_data: datetime | None,
             build: Callable[[Window, str], RoleResult], *, window_of_role: str | None = None,
             carries: bool = True,
             carry_more: Callable[[Window], dict[str, pl.DataFrame]] | None = None,
             narrow: Callable[[Window], Window] | None = None) -> RoleHour:
    """Carry in, build, carry out, write the hour. `window_of_role`: whose carry the window
    starts from (gud reads gcc's window: its entities are gcc's calls); `carries=False`: the
    role carries nothing of its own; `carry_more(carried)`: frames of the role's own added to the
    carry (context the carried entities still need); `narrow(window)`: drops what the role never
    reads (so it is not carried either)."""
    window = carried_in(data, window_of_role or role, key, first_data) + hour_window(data, key)
    if narrow is not None:
        window = narrow(window)
    result = build(window, key)
    carry: dict[str, pl.DataFrame] = {}
    if carries:
        out = carry_out(window, result.open_keys, result.event_keys)
        carry = {"events": out.events, "kvpairs": out.kvpairs,
                 **(carry_more(out) if carry_more else {})}
    data.write_role_hour(role, key, result.tables, result.status, carry)
    return RoleHour(result, window.events.height, carry["events"].height if carry else 0)


def first_data(sessions: pl.DataFrame) -> datetime | None:
    """When the loaded logs start (the first data source session)."""
    return sessions["start_ts"].min() if sessions.height else None


def monitored_switches(sessions: pl.DataFrame) -> set[str]:
    """Switches whose T-Server logs are loaded (in any replica)."""
    return set(sessions["switch"].unique().to_list())
