"""What a role needs from before the hours it builds: the events of the entities still open when
they start (a call group not ended, an agent's login session not logged out), found through a
compact index of each reconciled hour, so that any hour can be built without the hour before
having been built (docs/architecture.md "Hours that give one answer").

Each reconciled hour has one index per role (`hour_index`, kept beside the hour's events):

* gcc: one row per call of the hour (its key, first and last event time, whether EventCallDeleted
  ended it) and the nodes it is joined to: its CallUUID, the ConnIDs it owns and the CallUUIDs,
  ConnIDs and IS-link ids its events name. Calls that share a node are built together;
* gls: the agent events of DNs (login, logout, ready, not ready): the DN login spans and the
  sessions they chain into are computed from them exactly as from every event.

* gos: the campaign events of OCS reporting (load, start, stop, unload, mode changes).

`lookback(...)` returns, for a first hour, the earlier events a window must add. It may take more
than needed (an entity that ended is built again, to the same rows); it never takes less.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from transforms.datafolder import DataFolder
from transforms.hours import HOUR, hour_of, hour_start, keys_between
from transforms.roles.gls import sessions as S
from transforms.roles.gls.prep import AGENT_MESSAGES, KIND_AGENT
from transforms.roles.gos.attempts import attempt_number
from transforms.roles.gos.campaigns import CAMPAIGN_GROUP, ENDS, LOADED
from transforms.roles.gos.campaigns import STATE_AFTER as CAMPAIGN_STATES
from transforms.roles.gos.chains import CHAIN_GROUP, SCHEDULED, TERMINATED
from transforms.roles.gos.chains import STATE_AFTER as CHAIN_STATES

GCC_INDEX_SCHEMA = {"call": pl.String, "app": pl.String, "first_ts": pl.Datetime("us", "UTC"),
                    "last_ts": pl.Datetime("us", "UTC"), "deleted": pl.Boolean,
                    "node": pl.String}
GOS_INDEX_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "ts": pl.Datetime("us", "UTC"),
                    "app": pl.String, "dss_id": pl.Int64, "go_evt_code": pl.String,
                    "go_group_dbid": pl.Int64, "go_campaign_dbid": pl.Int64,
                    "go_list_dbid": pl.Int64, "go_chain_id": pl.Int64, "go_session": pl.String,
                    "go_chain_guid": pl.String}
GLS_INDEX_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "ts": pl.Datetime("us", "UTC"),
                    "app": pl.String, "dss_id": pl.Int64, "src": pl.String, "seq": pl.UInt64,
                    "message": pl.String, "dn": pl.String, "agent": pl.String}


class LookbackError(RuntimeError):
    """An earlier hour the window needs has not been reconciled."""


# -- the index of one hour ------------------------------------------------------------------------

def gcc_index(events: pl.DataFrame, kvpairs: pl.DataFrame) -> pl.DataFrame:
    """One row per (call, node) of the hour's call events (GCC_INDEX_SCHEMA)."""
    ev = events.filter(pl.col("call_uuid").is_not_null() | pl.col("conn_id").is_not_null())
    if ev.height == 0:
        return pl.DataFrame(schema=GCC_INDEX_SCHEMA)
    by_conn = (ev.filter(pl.col("call_uuid").is_not_null() & pl.col("conn_id").is_not_null())
               .group_by("app", "conn_id").agg(_uuid=pl.col("call_uuid").first()))
    ev = ev.join(by_conn, on=["app", "conn_id"], how="left").with_columns(
        call=pl.coalesce("call_uuid", "_uuid",
                         pl.concat_str([pl.col("app"), pl.col("conn_id")], separator=":")))
    calls = ev.group_by("call").agg(
        app=pl.col("app").first(), first_ts=pl.col("ts").min(), last_ts=pl.col("ts").max(),
        deleted=(pl.col("message") == "EventCallDeleted").any())

    def conn(column: str) -> pl.Expr:
        return pl.concat_str([pl.lit("conn:"), pl.col("app"), pl.lit(":"), pl.col(column)])

    nodes = [ev.select("call", node=pl.concat_str([pl.lit("uuid:"), pl.col("call")]))]
    for column in ("conn_id", "transfer_conn_id", "conference_conn_id", "previous_conn_id"):
        nodes.append(ev.filter(pl.col(column).is_not_null()).select("call", node=conn(column)))
    for column in ("orig_call_uuid", "ref_call_uuid"):
        nodes.append(ev.filter(pl.col(column).is_not_null())
                     .select("call", node=pl.concat_str([pl.lit("uuid:"), pl.col(column)])))
    links = kvpairs.filter((pl.col("attribute") == "AttributeISLinkList") & (pl.col("depth") == 2))
    if links.height:
        nodes.append(links.join(ev.select("file_id", "line", "call"), on=["file_id", "line"])
                     .select("call", node=pl.concat_str([pl.lit("link:"), pl.col("key")])))
    edges = pl.concat(nodes).unique()
    return calls.join(edges, on="call").select(list(GCC_INDEX_SCHEMA)).cast(GCC_INDEX_SCHEMA)


def gls_index(events: pl.DataFrame) -> pl.DataFrame:
    """The agent events of DNs (GLS_INDEX_SCHEMA): what DN login spans are made of."""
    return (events.filter((pl.col("direction") == "event") & pl.col("this_dn").is_not_null()
                          & pl.col("message").is_in(AGENT_MESSAGES))
            .select("file_id", "line", "ts", "app", "dss_id", "src", "seq", "message",
                    dn="this_dn", agent="agent_id").cast(GLS_INDEX_SCHEMA))


def gos_index(events: pl.DataFrame) -> pl.DataFrame:
    """The campaign and chain events of OCS reporting (GOS_INDEX_SCHEMA): what attempts are
    made of."""
    if "go_evt_code" not in events.columns:   # an hour reconciled before OCS logs were read
        return pl.DataFrame(schema=GOS_INDEX_SCHEMA)
    return (events.filter(pl.col("go_evt_code").is_in([*CAMPAIGN_STATES, *CHAIN_STATES]))
            .select(list(GOS_INDEX_SCHEMA)).cast(GOS_INDEX_SCHEMA))


INDEXES = {"gcc": lambda w: gcc_index(w["events"], w["kvpairs"]),
           "gls": lambda w: gls_index(w["events"]),
           "gos": lambda w: gos_index(w["events"])}
INDEX_SCHEMAS = {"gcc": GCC_INDEX_SCHEMA, "gls": GLS_INDEX_SCHEMA, "gos": GOS_INDEX_SCHEMA}


def hour_index(data: DataFolder, role: str, key: str) -> pl.DataFrame | None:
    """The role's index of a reconciled hour (made, and kept, the first time it is asked for);
    None when the hour has not been reconciled."""
    found = data.role_index(role, key)
    if found is not None:
        return found
    hour = data.reconciled_hour(key)
    if hour is None:
        return None
    index = INDEXES[role](hour)
    data.write_role_index(role, key, index)
    return index


def _indexes(data: DataFolder, role: str, keys: list[str]) -> pl.DataFrame:
    frames = []
    for key in keys:
        index = hour_index(data, role, key)
        if index is None:
            raise LookbackError(f"the reconciled events of {key} are missing: materialize "
                                f"ha/reconciled_events for {key} first")
        frames.append(index)
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(
        schema=INDEX_SCHEMAS[role])


def _alive_index(data: DataFolder, role: str, start: datetime,
                 reconciled: pl.DataFrame) -> pl.DataFrame:
    """The role's index rows of the reconciled stream's data source sessions still alive at
    `start`, from the hour the earliest of them began (nothing when none is alive)."""
    alive = reconciled.filter((pl.col("start_ts") < start)
                              & (pl.col("open") | (pl.col("end_ts") >= start)))
    if alive.height == 0:
        return pl.DataFrame(schema=INDEX_SCHEMAS[role])
    hours = keys_between(hour_of(alive["start_ts"].min()), start - HOUR)
    return _indexes(data, role, hours).filter(pl.col("dss_id").is_in(alive["dss_id"].implode()))


# -- what a window adds ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Lookback:
    """Earlier events a window adds: those of `hours` that `select` keeps."""

    hours: list[str]
    select: Callable[[pl.DataFrame], pl.DataFrame]

    @staticmethod
    def nothing() -> "Lookback":
        return Lookback([], lambda events: events.clear())


def gcc_lookback(data: DataFolder, first_key: str, first_data: datetime | None,
                 max_idle: int) -> Lookback:
    """The calls whose group is open when `first_key` starts: a call not ended by EventCallDeleted
    and, with `max_idle` > 0, not silent for longer than that; with every call joined to them
    (consultations, merges, IS links), all their events before that hour."""
    start = hour_start(first_key)
    if first_data is None or first_data >= start:
        return Lookback.nothing()
    idle = timedelta(seconds=max_idle)
    # the open calls have an event in the last `max_idle` seconds (all of the data without it)
    scan_from = max(hour_of(first_data), hour_of(start - idle - HOUR)) if max_idle > 0 \
        else hour_of(first_data)
    while True:
        hours = keys_between(scan_from, start - HOUR)
        index = _indexes(data, "gcc", hours)
        calls = index.unique("call")
        open_calls = calls.filter(~pl.col("deleted") & (
            (pl.col("last_ts") >= start - idle) if max_idle > 0 else pl.lit(True)))
        if open_calls.height == 0:
            return Lookback.nothing()
        members = _components(index, open_calls["call"])
        earliest = calls.filter(pl.col("call").is_in(members.implode()))["first_ts"].min()
        # a member that starts in the first hour scanned may have begun earlier: look further
        if hour_of(earliest) > scan_from or scan_from <= hour_of(first_data):
            break
        scan_from = max(hour_of(first_data), scan_from - (start - scan_from))
    nodes = index.filter(pl.col("call").is_in(members.implode()))["node"].unique()
    uuids = nodes.filter(nodes.str.starts_with("uuid:")).str.slice(5)
    conns = nodes.filter(nodes.str.starts_with("conn:")).str.slice(5)
    keep = (pl.col("call_uuid").is_in(uuids.implode())
            | pl.concat_str([pl.col("app"), pl.col("conn_id")], separator=":")
            .is_in(conns.implode()))
    used = keys_between(hour_of(earliest), start - HOUR)
    return Lookback(used, lambda events: events.filter(keep.fill_null(False)))


def _components(index: pl.DataFrame, seeds: pl.Series) -> pl.Series:
    """The calls joined to `seeds` through shared nodes (any number of steps)."""
    edges = index.select("call", "node")
    calls = seeds.unique()
    while True:
        nodes = edges.filter(pl.col("call").is_in(calls.implode()))["node"].unique()
        more = edges.filter(pl.col("node").is_in(nodes.implode()))["call"].unique()
        if more.len() == calls.len():
            return calls
        calls = more


def gls_lookback(data: DataFolder, first_key: str, reconciled: pl.DataFrame,
                 max_duration: int) -> Lookback:
    """The agent login sessions open when `first_key` starts (`reconciled`: the reconciled
    stream's data source sessions; a session ended with its data source session, or past
    `max_duration`, is not open): all the events of their DNs since each session began."""
    start = hour_start(first_key)
    effects = _alive_index(data, "gls", start, reconciled)
    if effects.height == 0:
        return Lookback.nothing()
    ev = (effects.sort("ts", "app", "seq", "file_id", "line", nulls_last=True)
          .with_row_index("ord").with_columns(pl.col("ord").cast(pl.Int64),
                                              kind=pl.lit(KIND_AGENT)))
    spans, sessions = S.login_sessions(ev)
    open_ = sessions.filter(pl.col("raw_open"))
    if max_duration > 0:
        open_ = open_.filter(pl.col("created_ts") + pl.duration(seconds=max_duration) >= start)
    if open_.height == 0:
        return Lookback.nothing()
    since = (spans.join(open_.select("sid", "created_ts"), on="sid")
             .group_by(*S.DN_GROUP).agg(_since=pl.col("created_ts").min()))
    first = since["_since"].min()

    def select(events: pl.DataFrame) -> pl.DataFrame:
        keyed = events.with_columns(dn=pl.col("this_dn"), dss_id=pl.col("dss_id").cast(pl.Int64))
        return (keyed.join(since, on=S.DN_GROUP, how="inner")
                .filter(pl.col("ts") >= pl.col("_since")).drop("dn", "_since"))

    return Lookback(keys_between(hour_of(first), start - HOUR), select)


def gos_lookback(data: DataFolder, first_key: str, reconciled: pl.DataFrame) -> Lookback:
    """The campaign and chain processing attempts open when `first_key` starts: of each campaign
    group (and each chain) of an OCS data source session still alive then, the last attempt (from
    its start, or from the first event in the session) if nothing ended it; all its events
    since."""
    start = hour_start(first_key)
    # in the order the role reads them (transforms/roles/gos/attempts.go_events)
    index = _alive_index(data, "gos", start, reconciled).sort("ts", "file_id", "line")
    campaigns = _open_attempts(index.filter(pl.col("go_evt_code").is_in(list(CAMPAIGN_STATES))),
                               CAMPAIGN_GROUP, LOADED, ENDS, "go_session")
    chains = _open_attempts(index.filter(pl.col("go_evt_code").is_in(list(CHAIN_STATES))),
                            CHAIN_GROUP, SCHEDULED, (TERMINATED,), "go_chain_guid")
    if campaigns.height == 0 and chains.height == 0:
        return Lookback.nothing()

    def select(events: pl.DataFrame) -> pl.DataFrame:
        events = events.with_columns(pl.col("dss_id").cast(pl.Int64))
        return pl.concat([
            events.filter(pl.col("go_evt_code").is_in(list(codes)))
            .join(open_, on=group, how="inner", nulls_equal=True)
            .filter(pl.col("ts") >= pl.col("_since")).drop("_since")
            for open_, group, codes in ((campaigns, CAMPAIGN_GROUP, CAMPAIGN_STATES),
                                        (chains, CHAIN_GROUP, CHAIN_STATES))])

    since = pl.concat([campaigns["_since"], chains["_since"]]).min()
    return Lookback(keys_between(hour_of(since), start - HOUR), select)


def _open_attempts(index: pl.DataFrame, group: list[str], start_code: str,
                   end_codes: tuple[str, ...], guid: str) -> pl.DataFrame:
    """Of each group, its last attempt (numbered as the role numbers them) if it has not ended:
    the group's columns and `_since`, its first event."""
    return (index.with_columns(_n=attempt_number(group, start_code, end_codes, guid))
            .filter(pl.col("_n") == pl.col("_n").max().over(group))
            .group_by(group).agg(_since=pl.col("ts").min(),
                                 _ended=pl.col("go_evt_code").is_in(end_codes).any())
            .filter(~pl.col("_ended")).select(*group, "_since"))
