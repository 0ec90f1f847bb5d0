"""Build the gls-role IDB tables (agent login sessions and states) from a window of parsed
events (pure Polars).

`build_gls(events, kvpairs, config, ...)` returns G_LOGIN_SESSION, GX_SESSION_ENDPOINT,
G_AGENT_STATE_HISTORY, G_AGENT_STATE_RC, G_AGENT_STATE_RC_A and G_DND_HISTORY for the login
sessions of the window with their custom states and user events (G_CUSTOM_STATES,
G_CUSTOM_DATA_P, G_CUSTOM_DATA_S: custom.py), which sessions are still open, and the session each
event belongs to (the open sessions' events are carried into the next partition:
transforms/roles/carry.py). A session's rows depend only on its own events (and on `dss_ends`, the
options and the data horizon for the closure rules), so a day built hour by hour equals the day
built at once. Rules: docs/semantics.md §8.
"""

from __future__ import annotations

import polars as pl

from transforms.config import ConfigSnapshot, IconOptions
from transforms.idb import gsys, lineage, row_id, table, times
from transforms.idb.dictionary import MediaType, SessionState
from transforms.roles.gls import custom, prep, reasons, states
from transforms.roles.gls import sessions as S
from transforms.roles.result import RoleResult

# the G_PARTY columns build_gls looks parties up by (its `parties` argument)
PARTY_LOOKUP = ["PARTYID", "PARTYGUID", "CALLID", "ENDPOINTDN", "CREATED"]

GLS_TABLES = ["G_LOGIN_SESSION", "GX_SESSION_ENDPOINT", "G_AGENT_STATE_HISTORY",
              "G_AGENT_STATE_RC", "G_AGENT_STATE_RC_A", "G_DND_HISTORY", *custom.CUSTOM_TABLES]


# the event columns the role reads (transforms/roles/gls and the IDB helpers it calls): its
# windows hold hours of events of agents' DNs, the other columns would only take memory
EVENT_COLUMNS = ("file_id", "line", "ts", "direction", "message", "seq", "conn_id", "call_uuid",
                 "call_type", "call_state", "this_dn", "this_queue", "agent_id", "work_mode",
                 "transfer_conn_id", "conference_conn_id", "previous_conn_id", "ref_call_uuid",
                 "orig_call_uuid", "media_type", "app", "src", "dss_id")


def gls_kvpairs(events: pl.DataFrame, kvpairs: pl.DataFrame) -> pl.DataFrame:
    """The KV pairs the gls role reads: Reasons and Extensions (reason codes, custom data) and
    the UserData of EventUserEvent (custom states). The calls' attached data is not needed; an
    open session would otherwise carry hours of it from hour to hour."""
    user_events = events.filter(pl.col("message") == "EventUserEvent").select("file_id", "line")
    keep = kvpairs.filter(pl.col("attribute") != "AttributeUserData")
    return pl.concat([keep, kvpairs.filter(pl.col("attribute") == "AttributeUserData")
                      .join(user_events, on=["file_id", "line"], how="semi")])


def build_gls(events: pl.DataFrame, kvpairs: pl.DataFrame, config: ConfigSnapshot,
              partition: str = "", options: IconOptions | None = None,
              parties: pl.DataFrame | None = None,
              dss_ends: pl.DataFrame | None = None) -> RoleResult:
    """`events`: parsed events with `app`, `src` and `dss_id`; `kvpairs`: their KV members.
    `parties`: G_PARTY rows (PARTYID, CALLID, ENDPOINTDN, CREATED) of the calls the window's
    sessions took part in, to fill PARTYID of call connected / disconnected records (null without
    it; its PARTYGUID column, when present, fills the PARTYID of the G_CUSTOM_* tables).
    `dss_ends`: dss_id, end_ts, end_src of data source sessions known to have ended.
    Entities are login sessions (and user events outside sessions); an open session carries its
    events and its user events."""
    opts = (options or IconOptions()).gls()      # a bad [custom-states] value fails here
    ev = prep.dn_events(events)
    look = prep.lookups(config)
    if ev.height == 0:
        return RoleResult.empty(GLS_TABLES) + custom.build_custom(
            events, kvpairs, opts.custom_states, ev, None, None, None, look, parties, partition)
    horizon = events["ts"].max()
    found = S.assign(ev, dss_ends, opts.max_duration, horizon)
    if found.sessions.height == 0:
        return RoleResult.empty(GLS_TABLES) + custom.build_custom(
            events, kvpairs, opts.custom_states, ev, None, None, None, look, parties, partition)
    spans, members = found.spans, found.members
    rows = states.timeline(members, spans)
    hist = states.history(rows, opts.acw_first)
    codes = prep.reason_codes(kvpairs, members.filter(pl.col("kind") == prep.KIND_AGENT))
    rc = reasons.reason_instances(rows, codes, spans)
    dnd = reasons.dnd_intervals(rows, spans)

    sess = _session_facts(found.sessions, members, look)
    per_session = sess.select("sid", "agent_id", "login_id", "switch_id")
    tables = {
        "G_LOGIN_SESSION": _login_session(sess, partition),
        "GX_SESSION_ENDPOINT": _session_endpoints(members, spans, per_session, look, partition),
        "G_AGENT_STATE_HISTORY": _history(hist, per_session, look, parties, partition),
        **_reason_tables(rc, per_session, look, partition, opts.active_reason_codes),
        "G_DND_HISTORY": _dnd(dnd, per_session, look, partition),
    }
    # a session closed by the end of its data source session or by gls-max-duration closes
    # when the data reaches that moment (transforms/roles/gls/sessions.py)
    by_horizon = pl.col("closed_by").is_in([S.CLOSED_DSS_END, S.CLOSED_MAX_DURATION])
    status = sess.select(entity=pl.col("sid"), open=pl.col("end_ts").is_null(),
                         last_ts=pl.col("_last_ts"),
                         settles_at=pl.when(by_horizon).then(pl.col("end_ts")))
    open_keys = found.sessions.filter(pl.col("raw_open")).select(key=pl.col("sid"))
    event_keys = found.event_keys.select(pl.col("file_id").cast(pl.UInt32),
                                         pl.col("line").cast(pl.UInt32), "key")
    result = RoleResult({name: table(name).conform(frame) for name, frame in tables.items()},
                        status, open_keys, event_keys)
    return result + custom.build_custom(
        events, kvpairs, opts.custom_states, ev, spans, members, per_session, look, parties,
        partition)


# -- configuration lookups -----------------------------------------------------------------------

def _with_dn(frame: pl.DataFrame, look: dict, dn: str = "dn") -> pl.DataFrame:
    """endpoint_id, endpoint_type, place_id of the DN `dn` (needs switch_id)."""
    ep = look["endpoints"].rename({"dn": dn})
    return (frame.join(ep, on=["switch_id", dn], how="left")
            .join(look["places"], on="endpoint_id", how="left"))


def _with_queue(frame: pl.DataFrame, look: dict) -> pl.DataFrame:
    q = look["endpoints"].select("switch_id", queue="dn", queue_id="endpoint_id",
                                 queue_type="endpoint_type")
    return frame.join(q, on=["switch_id", "queue"], how="left")


def _session_facts(sessions: pl.DataFrame, members: pl.DataFrame, look: dict) -> pl.DataFrame:
    last = members.sort("ord").group_by("sid").agg(_last_ts=pl.col("ts").last(),
                                                    _last_src=pl.col("src").last())
    s = (sessions.join(look["switches"], on="app", how="left")
         .join(look["logins"], on=["switch_id", "agent"], how="left")
         .join(last, on="sid", how="left"))
    s = _with_dn(s, look, "first_dn")
    return s.with_columns(
        last_ts=pl.coalesce("end_ts", "_last_ts"),
        src_last=pl.when(pl.col("end_ts").is_not_null()).then(pl.col("end_src"))
        .otherwise(pl.col("_last_src")))


def _state(ended: pl.Expr) -> pl.Expr:
    return pl.when(ended).then(int(SessionState.ENDED)).otherwise(int(SessionState.ACTIVE))


# -- tables --------------------------------------------------------------------------------------

def _login_session(s: pl.DataFrame, partition: str) -> pl.DataFrame:
    return s.with_columns(
        ID=row_id("G_LOGIN_SESSION", pl.col("sid")), LOGINSESSIONID=pl.col("sid"),
        AGENTID=pl.col("agent_id"), LOGINID=pl.col("login_id"), PLACEID=pl.col("place_id"),
        STATE=_state(pl.col("end_ts").is_not_null()), PRIMARYDEVICEID=pl.col("endpoint_id"),
        SWITCHID=pl.col("switch_id"), TENANTID=pl.col("tenant_id"),
        *times(CREATED=pl.col("created_ts"), TERMINATED=pl.col("end_ts"),
               LASTCHANGE=pl.col("last_ts")),
        ETL_LOGIN_CODE=pl.col("agent"), ETL_CLOSED_BY=pl.col("closed_by"),
        *gsys(pl.col("dss_id"), pl.col("created_ts"), pl.col("last_ts")),
        *lineage(pl.col("sid"), partition, pl.col("created_src"), pl.col("src_last")),
    )


def _session_endpoints(members: pl.DataFrame, spans: pl.DataFrame, per_session: pl.DataFrame,
                       look: dict, partition: str) -> pl.DataFrame:
    """One association per (span, ThisQueue) of the span's EventAgentLogin events (or of the
    state event that opened a span whose login is not in the data)."""
    firsts = spans.select(*states.SPAN, _first="start_ord")
    opening = (members.filter(pl.col("kind") == prep.KIND_AGENT)
               .join(firsts, on=states.SPAN, how="left")
               .filter((pl.col("message") == prep.LOGIN) | (pl.col("ord") == pl.col("_first"))))
    assoc = (opening.sort("ord").group_by(*states.SPAN, "queue", maintain_order=True)
             .agg(created=pl.col("ts").first(), src=pl.col("src").first(),
                  dss_id=pl.col("dss_id").first())
             .join(spans.select(*states.SPAN, "end_ts", "end_src", "end_kind"), on=states.SPAN,
                   how="left")
             .join(per_session, on="sid", how="left"))
    assoc = _with_queue(_with_dn(assoc, look), look)
    ended = pl.col("end_ts").is_not_null()
    return assoc.with_columns(
        ID=row_id("GX_SESSION_ENDPOINT", pl.col("sid"), pl.col("dn"), pl.col("queue"),
                  pl.col("created").dt.epoch("us")),
        LOGINSESSIONID=pl.col("sid"), AGENTID=pl.col("agent_id"), ENDPOINTID=pl.col("endpoint_id"),
        ENDPOINTTYPE=pl.col("endpoint_type"), QUEUEID=pl.col("queue_id"),
        QUEUETYPE=pl.col("queue_type"), PLACEID=pl.col("place_id"), STATE=_state(ended),
        *times(CREATED=pl.col("created"), TERMINATED=pl.col("end_ts")),
        ETL_DN=pl.col("dn"), ETL_QUEUE=pl.col("queue"),
        ETL_CLOSED_BY=pl.when(pl.col("end_kind") != S.END_LOGOUT).then(pl.col("end_kind")),
        *gsys(pl.col("dss_id"), pl.col("created"), pl.coalesce("end_ts", "created")),
        *lineage(pl.col("sid"), partition, pl.col("src"), pl.coalesce("end_src", "src")),
    )


def _party_ids(hist: pl.DataFrame, parties: pl.DataFrame | None) -> pl.DataFrame:
    if parties is None or parties.height == 0:
        return hist.with_columns(party_id=pl.lit(None, dtype=pl.String))
    key = (parties.select(call=pl.col("CALLID"), dn=pl.col("ENDPOINTDN"),
                          _pms=pl.col("CREATED").cast(pl.Datetime("ms")), party_id=pl.col("PARTYID"))
           .unique(["call", "dn", "_pms"], keep="first", maintain_order=True))
    hist = hist.with_columns(
        _pms=pl.col("party_ts").dt.replace_time_zone(None).dt.cast_time_unit("ms"))
    return hist.join(key, on=["call", "dn", "_pms"], how="left").drop("_pms")


def _history(hist: pl.DataFrame, per_session: pl.DataFrame, look: dict,
             parties: pl.DataFrame | None, partition: str) -> pl.DataFrame:
    h = _party_ids(hist, parties).join(per_session, on="sid", how="left")
    h = _with_queue(_with_dn(h, look), look)
    return h.with_columns(
        ID=row_id("G_AGENT_STATE_HISTORY", pl.col("sid"), pl.col("dn"), pl.col("seq")),
        LOGINSESSIONID=pl.col("sid"), AGENTID=pl.col("agent_id"), LOGINID=pl.col("login_id"),
        PLACEID=pl.col("place_id"), ENDPOINTID=pl.col("endpoint_id"), QUEUEID=pl.col("queue_id"),
        TYPE=pl.col("type"), STATE=pl.col("state"), PENDINGSTATE=pl.col("pending"),
        PREVSTATE=pl.col("prev_state"), WORKMODE=pl.col("workmode"), SEQ=pl.col("seq"),
        CALLID=pl.col("call"), PARTYID=pl.col("party_id"), MEDIATYPE=pl.lit(int(MediaType.VOICE)),
        *times(ADDED=pl.col("ts")), ETL_DN=pl.col("dn"), ETL_CLOSED_BY=pl.col("closed_by"),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("sid"), partition, pl.col("src"), pl.col("src")),
    )


def _reason_tables(rc: pl.DataFrame, per_session: pl.DataFrame, look: dict, partition: str,
                   write_active: bool) -> dict:
    r = _with_queue(_with_dn(rc.join(per_session, on="sid", how="left"), look), look)

    def rows(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.with_columns(
            ID=row_id(name, pl.col("sid"), pl.col("dn"), pl.col("hw"), pl.col("key"),
                      pl.col("value"), pl.col("created").dt.epoch("us")),
            SESSIONID=pl.col("sid"), ENDPOINTID=pl.col("endpoint_id"),
            # QueueID 0 = no queue for this record [DOC]
            QUEUEID=pl.when(pl.col("queue").is_null()).then(0).otherwise(pl.col("queue_id")),
            AGENTSTATE=pl.col("state"), WORKMODE=pl.col("workmode"), HWFLAG=pl.col("hw"),
            KEYNAME=pl.col("key"), VALUE=pl.col("value"), MEDIATYPE=pl.lit(int(MediaType.VOICE)),
            *times(CREATED=pl.col("created"), TERMINATED=pl.col("terminated")),
            ETL_DN=pl.col("dn"), ETL_CLOSED_BY=pl.col("closed_by"),
            *gsys(pl.col("dss_id"), pl.col("created"), pl.coalesce("terminated", "created")),
            *lineage(pl.col("sid"), partition, pl.col("src"), pl.coalesce("src_last", "src")),
        )

    ended = r.filter(pl.col("terminated").is_not_null())
    active = r.filter(pl.col("terminated").is_null()) if write_active else r.clear()
    return {"G_AGENT_STATE_RC": rows(ended, "G_AGENT_STATE_RC"),
            "G_AGENT_STATE_RC_A": rows(active, "G_AGENT_STATE_RC_A")}


def _dnd(dnd: pl.DataFrame, per_session: pl.DataFrame, look: dict, partition: str) -> pl.DataFrame:
    d = _with_dn(dnd.join(per_session, on="sid", how="left"), look)
    return d.with_columns(
        ID=row_id("G_DND_HISTORY", pl.col("sid"), pl.col("dn"), pl.col("created").dt.epoch("us")),
        LOGINSESSIONID=pl.col("sid"), AGENTSTATE=pl.col("state"), ENDPOINTID=pl.col("endpoint_id"),
        AGENTID=pl.col("agent_id"), PLACEID=pl.col("place_id"),
        *times(CREATED=pl.col("created"), TERMINATED=pl.col("terminated")),
        ETL_DN=pl.col("dn"), ETL_CLOSED_BY=pl.col("closed_by"),
        *gsys(pl.col("dss_id"), pl.col("created"), pl.coalesce("terminated", "created")),
        *lineage(pl.col("sid"), partition, pl.col("src"), pl.coalesce("src_last", "src")),
    )
