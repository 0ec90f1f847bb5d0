"""Custom agent states and user events (ICON `[custom-states]`, docs/semantics.md §8):
G_CUSTOM_STATES, G_CUSTOM_DATA_P and G_CUSTOM_DATA_S, built with the gls role's login sessions
so that they share its session entity (ETL_ENTITY = LOGINSESSIONID) and its hourly carry.

* An EventUserEvent (server event) belongs to the login session whose DN span (sessions.py) holds
  it on its ThisDN, in the event order of docs/semantics.md §2; outside every span it belongs to
  no session.
* `AgentRecordUserTypes` (`code,Key,…`): in a session, a top-level UserData `Key` = '+' starts the
  custom state `code` on the DN, '-' ends it [DOC]. A '+' while the state is on and a '-' while it
  is off change nothing. A state still on when its DN span ends closes with it: ETL_CLOSED_BY =
  how the span ended (`logout`, `relogin`, `dss_end`, `gls_max_duration`); still on at the end of
  the window it stays open (TERMINATED null) and is rebuilt with its carried session.
* `AgentUserFields` (`Type,Column,Key,…`): the last value of `Key` in the user events of the DN
  from the state's start event to its end event (both included) fills the column [DOC: "sent
  while the DN was in a custom agent state"], as a string.
* `store-event-data` / `store-event-extensions` (none | all | conf with `EventData` /
  `EventExtensions`): the chosen top-level UserData / Extensions keys of every EventUserEvent go
  to G_CUSTOM_DATA_S (one row per event, source and key: its first value), with one
  G_CUSTOM_DATA_P row per event that has at least one. KV-list values are ignored [DOC].
* CALLID: the event's CallUUID, else the CallUUID of a call event of the session with the same
  ConnID, else `<app>:<ConnID>`; null without a ConnID. PARTYID: the PARTYGUID [DOC] of the DN's
  latest party in that call created at or before the event (`parties` frame; PARTYID where the
  frame has no PARTYGUID column). PSEQ is not known to the gls role and stays null.

Everything is a function of the session's own events (or of the single event, outside sessions),
so a day built hour by hour equals the day built at once. Rules: docs/semantics.md §8.
"""

from __future__ import annotations

import polars as pl

from transforms.config import CustomSettings
from transforms.idb import gsys, lineage, row_id, table, times
from transforms.idb.dictionary import UserDataSource
from transforms.roles.gls.sessions import INF, SPAN_END, closed_at, toggles
from transforms.roles.gls.states import SPAN
from transforms.roles.result import RoleResult

USER_EVENT = "EventUserEvent"
START, END = "+", "-"
CUSTOM_TABLES = ["G_CUSTOM_STATES", "G_CUSTOM_DATA_P", "G_CUSTOM_DATA_S"]
DATA_ATTRIBUTES = {UserDataSource.USERDATA: "AttributeUserData",
                   UserDataSource.EXTENSIONS: "AttributeExtensions"}


def build_custom(events: pl.DataFrame, kvpairs: pl.DataFrame, cfg: CustomSettings,
                 dn_events: pl.DataFrame, spans: pl.DataFrame | None, members: pl.DataFrame | None,
                 per_session: pl.DataFrame | None, look: dict, parties: pl.DataFrame | None,
                 partition: str) -> RoleResult:
    """The custom tables: user events outside sessions are entities of their own (`status`,
    never open); those of sessions are carried with their session (`event_keys`).
    `dn_events`: prep.dn_events of the window; `spans` / `members` / `per_session`: the
    sessions found (None when there are none); `look`: prep.lookups."""
    ue = user_events(events)
    if not cfg.active or ue.height == 0:
        return RoleResult.empty(CUSTOM_TABLES)
    ue = _membership(ue, dn_events, spans)
    ue = _calls(ue, members)
    ue = _context(ue, per_session, look, parties)
    userdata = top_level(kvpairs, ue, DATA_ATTRIBUTES[UserDataSource.USERDATA])
    in_session = ue.filter(pl.col("sid").is_not_null())
    states = _states(in_session, userdata, spans, cfg)
    states = _fields(states, in_session, userdata, cfg)
    data_s, data_p = _data(ue, kvpairs, userdata, cfg)
    tables = {
        "G_CUSTOM_STATES": _state_rows(states, partition),
        "G_CUSTOM_DATA_P": _data_rows(data_p, "G_CUSTOM_DATA_P", partition),
        "G_CUSTOM_DATA_S": _data_rows(data_s, "G_CUSTOM_DATA_S", partition),
    }
    status = (data_p.filter(pl.col("sid").is_null())
              .select(entity=pl.col("eventkey"), open=pl.lit(False), last_ts=pl.col("ts"))
              .unique("entity", maintain_order=True))
    event_keys = in_session.select(pl.col("file_id").cast(pl.UInt32),
                                   pl.col("line").cast(pl.UInt32), key=pl.col("sid"))
    return RoleResult({name: table(name).conform(frame) for name, frame in tables.items()},
                      status, event_keys=event_keys)


def user_events(events: pl.DataFrame) -> pl.DataFrame:
    """The server's EventUserEvent of the window, with their event key: `<app>|<ThisDN>|<time in
    µs>|<event sequence number>` (the event's own content: the same in every window and in both
    replicas of an HA pair)."""
    ue = events.filter((pl.col("direction") == "event") & (pl.col("message") == USER_EVENT))
    return ue.select(
        "file_id", "line", "ts", "app", "seq", "src", pl.col("dss_id").cast(pl.Int64),
        dn=pl.col("this_dn"), agent=pl.col("agent_id"), conn_id=pl.col("conn_id"),
        call_uuid=pl.col("call_uuid"),
        eventkey=pl.concat_str([pl.col("app").fill_null(""), pl.col("this_dn").fill_null(""),
                                pl.col("ts").dt.epoch("us").cast(pl.String),
                                pl.col("seq").cast(pl.String).fill_null("")], separator="|"))


def top_level(kvpairs: pl.DataFrame, ue: pl.DataFrame, attribute: str) -> pl.DataFrame:
    """file_id, line, kv_line, key, value: the top-level pairs of `attribute` of the user events;
    KV-list values are ignored; a key printed twice counts with its first value."""
    return (kvpairs.filter((pl.col("attribute") == attribute) & (pl.col("depth") == 2)
                           & (pl.col("vtype").cast(pl.String) != "list"))
            .join(ue.select("file_id", "line"), on=["file_id", "line"], how="semi")
            .sort("file_id", "line", "kv_line")
            .unique(["file_id", "line", "key"], keep="first", maintain_order=True)
            .select("file_id", "line", "kv_line", "key", "value"))


def _membership(ue: pl.DataFrame, dn_events: pl.DataFrame,
                spans: pl.DataFrame | None) -> pl.DataFrame:
    """sid, span_no (null outside sessions) and `g`, the user event's place in the event order
    among the gls events (ordered as prep.dn_events orders them)."""
    keys = ["ts", "app", "seq", "file_id", "line"]
    order = (pl.concat([dn_events.select(*keys, "ord"),
                        ue.select(*keys, ord=pl.lit(None, dtype=pl.Int64))], how="vertical_relaxed")
             .sort(keys, nulls_last=True).with_row_index("g")
             .with_columns(pl.col("g").cast(pl.Int64)))
    ue = ue.join(order.filter(pl.col("ord").is_null()).select("file_id", "line", "g"),
                 on=["file_id", "line"], how="left")
    if spans is None or spans.height == 0:
        return ue.with_columns(sid=pl.lit(None, dtype=pl.String),
                               span_no=pl.lit(None, dtype=pl.Int32))
    g_of = order.filter(pl.col("ord").is_not_null()).select("ord", "g")
    sp = (spans.select(*SPAN, "app", "dss_id", "start_ord", "end_ord", "end_ts")
          .join(g_of.rename({"ord": "start_ord", "g": "_start_g"}), on="start_ord", how="left")
          .join(g_of.rename({"ord": "end_ord", "g": "_end_g"}), on="end_ord", how="left"))
    by = {"_app": pl.col("app").fill_null(""), "_dss": pl.col("dss_id").fill_null(-1)}
    right = (sp.with_columns(**by).select("_app", "_dss", "dn", "_start_g", "_end_g", "end_ord",
                                          _end_ts="end_ts", _sid="sid", _span="span_no")
             .sort("_start_g"))
    found = (ue.with_columns(**by).sort("g")
             .join_asof(right, left_on="g", right_on="_start_g", by=["_app", "_dss", "dn"],
                        strategy="backward", check_sortedness=False))   # sorted by g, _start_g
    inside = pl.col("_start_g").is_not_null() & (
        pl.col("end_ord").is_null()
        | ((pl.col("end_ord") >= INF) & (pl.col("ts") <= pl.col("_end_ts")))
        | ((pl.col("end_ord") < INF) & (pl.col("g") < pl.col("_end_g"))))
    return found.with_columns(
        sid=pl.when(inside).then(pl.col("_sid")),
        span_no=pl.when(inside).then(pl.col("_span")),
    ).drop("_app", "_dss", "_start_g", "_end_g", "end_ord", "_end_ts", "_sid", "_span")


def _calls(ue: pl.DataFrame, members: pl.DataFrame | None) -> pl.DataFrame:
    """`call`: the event's CallUUID, else the CallUUID of a call event of its session with the same
    ConnID, else `<app>:<ConnID>`."""
    by_conn = pl.DataFrame(schema={"sid": pl.String, "app": pl.String, "conn_id": pl.String,
                                   "_uuid": pl.String})
    if members is not None and members.height:
        by_conn = (members.filter((pl.col("kind") == "call") & pl.col("call_uuid").is_not_null()
                                  & pl.col("conn_id").is_not_null())
                   .sort("ord").group_by("sid", "app", "conn_id", maintain_order=True)
                   .agg(_uuid=pl.col("call_uuid").first()))
    ue = ue.join(by_conn, on=["sid", "app", "conn_id"], how="left")
    return ue.with_columns(call=pl.coalesce(
        "call_uuid", "_uuid", pl.concat_str([pl.col("app"), pl.col("conn_id")], separator=":"))
    ).drop("_uuid")


def _context(ue: pl.DataFrame, per_session: pl.DataFrame | None, look: dict,
             parties: pl.DataFrame | None) -> pl.DataFrame:
    """agent_id (the session's agent, else the person of the event's AgentID), endpoint_id of
    the DN, party (PARTYGUID of the DN's party in the call)."""
    if per_session is None or per_session.height == 0:
        per_session = pl.DataFrame(schema={"sid": pl.String, "agent_id": pl.Int32})
    ep = look["endpoints"].select("switch_id", "dn", "endpoint_id")
    logins = look["logins"].select("switch_id", "agent", _login_agent="agent_id")
    ue = (ue.join(look["switches"].select("app", "switch_id"), on="app", how="left")
          .join(ep, on=["switch_id", "dn"], how="left")
          .join(logins, on=["switch_id", "agent"], how="left")
          .join(per_session.select("sid", _session_agent="agent_id"), on="sid", how="left"))
    ue = ue.with_columns(
        agent_id=pl.when(pl.col("sid").is_not_null()).then(pl.col("_session_agent"))
        .otherwise(pl.col("_login_agent"))).drop("_login_agent", "_session_agent")
    if parties is None or parties.height == 0:
        return ue.with_columns(party=pl.lit(None, dtype=pl.String))
    guid = "PARTYGUID" if "PARTYGUID" in parties.columns else "PARTYID"
    key = (parties.select(call=pl.col("CALLID"), dn=pl.col("ENDPOINTDN"),
                          _pms=pl.col("CREATED").cast(pl.Datetime("ms")), party=pl.col(guid))
           .drop_nulls(["call", "dn", "_pms"]).sort("_pms", "party"))
    ue = ue.with_columns(_pms=pl.col("ts").dt.replace_time_zone(None).dt.cast_time_unit("ms"))
    with_call = ue.filter(pl.col("call").is_not_null() & pl.col("dn").is_not_null()).sort("_pms")
    found = with_call.join_asof(key, on="_pms", by=["call", "dn"], strategy="backward",
                                check_sortedness=False)                   # both sorted by _pms
    rest = ue.filter(pl.col("call").is_null() | pl.col("dn").is_null()).with_columns(
        party=pl.lit(None, dtype=pl.String))
    return pl.concat([found, rest], how="vertical_relaxed").drop("_pms")


def _states(ue: pl.DataFrame, userdata: pl.DataFrame, spans: pl.DataFrame | None,
            cfg: CustomSettings) -> pl.DataFrame:
    """One row per custom state instance: SPAN, code, n (its rank among the starts of the code
    on the span), the start event's columns, end_g / terminated / src_last / closed_by."""
    codes = pl.DataFrame({"key": [k for _, k in cfg.states], "code": [c for c, _ in cfg.states]},
                         schema={"key": pl.String, "code": pl.Int32})
    group = [*SPAN, "code"]
    steps = (userdata.join(codes, on="key", how="inner")
             .filter(pl.col("value").is_in([START, END]))
             .join(ue, on=["file_id", "line"], how="inner")
             .sort(*group, "g"))
    steps = toggles(steps, pl.col("value") == START, group)
    starts = steps.filter(pl.col("_start")).select(
        *group, "n", "app", "dss_id", "key", "call", "party", "agent_id", "endpoint_id",
        created="ts", src="src", start_g="g")
    ends = steps.filter(pl.col("_end")).select(*group, "n", _end_ts="ts", _end_src="src",
                                               end_g="g")
    span_ends = (spans.select(*SPAN, *SPAN_END) if spans is not None
                 else pl.DataFrame(schema={"sid": pl.String, "dn": pl.String, "span_no": pl.Int32,
                                           "end_ts": pl.Datetime("us", "UTC"), "end_src": pl.String,
                                           "end_kind": pl.String}))
    inst = (starts.join(ends, on=[*group, "n"], how="left")
            .join(span_ends, on=SPAN, how="left"))
    return inst.with_columns(**closed_at("_end_ts", "_end_src")).drop(
        "_end_ts", "_end_src", *SPAN_END)


def _fields(states: pl.DataFrame, ue: pl.DataFrame, userdata: pl.DataFrame,
            cfg: CustomSettings) -> pl.DataFrame:
    """AgentUserFields: the last value of each mapped key among the DN's user events from the
    state's start event to its end event (both included)."""
    if not cfg.fields or states.height == 0:
        return states
    fmap = pl.DataFrame({"key": [k for _, k in cfg.fields], "column": [c for c, _ in cfg.fields]},
                        schema={"key": pl.String, "column": pl.String})
    values = (userdata.join(fmap, on="key", how="inner")
              .join(ue.select("file_id", "line", *SPAN, "g"), on=["file_id", "line"], how="inner")
              .select(*SPAN, "g", "kv_line", "column", "value"))
    inst = [*SPAN, "code", "n"]
    hits = (states.select(*inst, "start_g", "end_g").join(values, on=SPAN, how="inner")
            .filter((pl.col("g") >= pl.col("start_g"))
                    & (pl.col("end_g").is_null() | (pl.col("g") <= pl.col("end_g")))))
    if hits.height == 0:
        return states
    last = (hits.sort("g", "kv_line").group_by(*inst, "column", maintain_order=True)
            .agg(value=pl.col("value").last()))
    wide = last.pivot(on="column", index=inst, values="value")
    return states.join(wide, on=inst, how="left", nulls_equal=True)


def _data(ue: pl.DataFrame, kvpairs: pl.DataFrame, userdata: pl.DataFrame,
          cfg: CustomSettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """G_CUSTOM_DATA_S rows (event, source, key, value) and the events that have some (P)."""
    parts = []
    for source, mode, keys in ((UserDataSource.USERDATA, cfg.event_data, cfg.event_data_keys),
                               (UserDataSource.EXTENSIONS, cfg.event_extensions,
                                cfg.event_extension_keys)):
        if mode == "none":
            continue
        kv = userdata if source == UserDataSource.USERDATA else \
            top_level(kvpairs, ue, DATA_ATTRIBUTES[source])
        if mode == "conf":
            kv = kv.filter(pl.col("key").is_in(list(keys)))
        parts.append(kv.with_columns(source=pl.lit(int(source), dtype=pl.Int32)))
    info = ue.select("file_id", "line", "eventkey", "sid", "app", "dss_id", "dn", "call", "party",
                     "agent_id", "endpoint_id", "ts", "src")
    if not parts:
        return (info.clear().with_columns(key=pl.lit(None, dtype=pl.String),
                                          value=pl.lit(None, dtype=pl.String),
                                          source=pl.lit(None, dtype=pl.Int32)), info.clear())
    data_s = (pl.concat(parts, how="vertical_relaxed")
              .join(info, on=["file_id", "line"], how="inner"))
    data_p = info.join(data_s.select("file_id", "line").unique(), on=["file_id", "line"],
                       how="semi")
    return data_s, data_p


def _state_rows(s: pl.DataFrame, partition: str) -> pl.DataFrame:
    return s.with_columns(
        ID=row_id("G_CUSTOM_STATES", pl.col("sid"), pl.col("dn"), pl.col("code"), pl.col("n")),
        CALLID=pl.col("call"), PARTYID=pl.col("party"), ENDPOINTID=pl.col("endpoint_id"),
        ENDPOINTDN=pl.col("dn"), AGENTID=pl.col("agent_id"), LOGINSESSIONID=pl.col("sid"),
        STATECODE=pl.col("code"), STATEKEY=pl.col("key"),
        *times(CREATED=pl.col("created"), TERMINATED=pl.col("terminated")),
        ETL_CLOSED_BY=pl.col("closed_by"),
        *gsys(pl.col("dss_id"), pl.col("created"), pl.coalesce("terminated", "created")),
        *lineage(pl.col("sid"), partition, pl.col("src"), pl.coalesce("src_last", "src")),
    )


def _data_rows(d: pl.DataFrame, name: str, partition: str) -> pl.DataFrame:
    key = [pl.col("eventkey")] if name == "G_CUSTOM_DATA_P" else \
        [pl.col("eventkey"), pl.col("source"), pl.col("key")]
    extra = {} if name == "G_CUSTOM_DATA_P" else {
        "KEYNAME": pl.col("key"), "VALUE": pl.col("value"), "SOURCE": pl.col("source")}
    return d.with_columns(
        ID=row_id(name, *key), EVENTKEY=pl.col("eventkey"), CALLID=pl.col("call"),
        PARTYID=pl.col("party"), ENDPOINTID=pl.col("endpoint_id"), ENDPOINTDN=pl.col("dn"),
        AGENTID=pl.col("agent_id"), LOGINSESSIONID=pl.col("sid"),
        *times(ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.coalesce("sid", "eventkey"), partition, pl.col("src"), pl.col("src")),
        **extra,
    )
