"""A window of events, what a role transform (calls, agent sessions, attached data) builds from:
a chunk's reconciled events plus the earlier events of the entities still open when it starts
(transforms/roles/lookback.py). An entity's rows are a function of its own events only, so any
window that holds all of an entity's events gives its rows (docs/architecture.md "Hours that
give one answer"). `carry_out` keeps the events of the entities a build left open: the tests cut
hours with it to show that where the cut falls changes nothing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from transforms.parsing import EVENT_SCHEMA

if TYPE_CHECKING:
    from transforms.ha import ReplicaClock
from transforms.parsing import KVPAIR_SCHEMA

EVENT_FRAME_SCHEMA = {**EVENT_SCHEMA, "app": pl.String, "src": pl.String, "dss_id": pl.Int64}


@dataclass
class Window:
    """Events (with `app`, `src`, `dss_id`) and their KV pairs."""

    events: pl.DataFrame
    kvpairs: pl.DataFrame

    @staticmethod
    def empty() -> "Window":
        return Window(pl.DataFrame(schema=EVENT_FRAME_SCHEMA), pl.DataFrame(schema=KVPAIR_SCHEMA))

    def __add__(self, other: "Window") -> "Window":
        # diagonal: a carry written by an older release may lack a newer column
        events = pl.concat([self.events, other.events], how="diagonal_relaxed").unique(
            ["file_id", "line"], keep="first", maintain_order=True)
        kvpairs = pl.concat([self.kvpairs, other.kvpairs], how="diagonal_relaxed").unique(["file_id", "line", "kv_file_id",
                                                            "kv_line", "key", "path"],
                                                           keep="first", maintain_order=True)
        return Window(events, kvpairs)

    def keep(self, events: pl.DataFrame) -> "Window":
        """The sub-window of `events` (a subset of this window's events) with their KV pairs."""
        keys = events.select("file_id", "line")
        return Window(events, self.kvpairs.join(keys, on=["file_id", "line"], how="semi"))


def carry_out(window: Window, open_keys: pl.DataFrame, key_of_event: pl.DataFrame) -> Window:
    """Events whose entity is still open. `key_of_event`: file_id, line, key (the entity each
    event belongs to); `open_keys`: key."""
    keep = key_of_event.join(open_keys, on="key", how="semi").select("file_id", "line").unique()
    events = window.events.join(keep, on=["file_id", "line"], how="semi")
    return window.keep(events)


def with_sources(events: pl.DataFrame, registry: pl.DataFrame, replica: str,
                 ha: "ReplicaClock | None" = None) -> pl.DataFrame:
    """`src` = `<replica>/<segment path>:<line>` (what ETL_SOURCE shows) and `dss_id`, the data
    source session. With `ha` (transforms.ha.dss) the session comes from the replica's derived
    sessions and event times are moved to the reference replica's clock; without it, a session
    is a T-Server process (replica, application, process start time)."""
    reg = registry.filter(pl.col("duplicate_of").is_null())
    # per segment (a few rows), not per event: the fallback session is a property of the segment
    sessions = [dss_id(replica, app, start) for app, start in
                zip(reg["app"].to_list(), reg["start_time_utc"].to_list())]
    reg = reg.select(pl.col("segment_id").cast(pl.UInt32).alias("file_id"), "path").with_columns(
        dss_id=pl.Series(sessions, dtype=pl.Int64))
    out = events.drop("dss_id", "src", strict=False).join(reg, on="file_id", how="left").with_columns(
        src=pl.concat_str([pl.lit(f"{replica}/"), pl.col("path"), pl.lit(":"),
                           pl.col("line").cast(pl.String)]),
    ).drop("path")
    return ha.apply(out, replica) if ha is not None else out


def dss_id(replica: str, app: str | None, start) -> int:
    """A stable 31-bit id for a data source session (CRC of its identity, so the same session
    gets the same id whatever is processed when)."""
    return zlib.crc32(f"{replica}|{app or '?'}|{start or '?'}".encode()) & 0x7FFFFFFF
