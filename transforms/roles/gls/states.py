"""The state timeline of each DN span, and the G_AGENT_STATE_HISTORY records it produces.

Every span becomes a list of *steps* in event order (docs/semantics.md §8):

* agent steps (EventAgentLogin 1 login, EventAgentReady 3 ready, EventAgentNotReady 2 notready or
  4 acw with workmode AfterCallWork, EventAgentLogout 0) set the agent's own state `u`;
* call steps connect / disconnect a party of the DN (its first event in a call — EventRinging,
  EventDialing, …, or the EventPartyChanged that moves it into the call — to EventReleased /
  EventAbandoned / the EventPartyChanged that moves it out); `busy` counts the connected parties;
* an artificial end of the span (a closure rule, another agent's login) is a step to 0;
* DND steps change nothing here (they are placed on the timeline to know the state then).

The effective state is 0 once logged out, 5 busy while a party is connected, else `u`. A change
of the effective state writes a Type 5 record; a change of `u` while busy a Type 6 (pending
state) record; a workmode change that changes neither a Type 7 record; each connect / disconnect
a Type 8 / Type 9 record. Everything is window functions over (session, DN, span).
"""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import AgentState, StateRecordType, WorkMode
from transforms.roles.gls.prep import (
    KIND_AGENT,
    KIND_CALL,
    KIND_DND,
    LOGIN,
    LOGOUT,
    NOT_READY,
    PARTY_MOVE,
    PARTY_STARTS,
    READY,
)
from transforms.roles.gls.sessions import END_LOGOUT

SPAN = ["sid", "dn", "span_no"]
ROW_AGENT, ROW_CONNECT, ROW_DISCONNECT, ROW_CLOSE, ROW_DND = ("agent", "connect", "disconnect",
                                                             "close", "dnd")
ROW_COLUMNS = [*SPAN, "app", "dss_id", "ord", "sub", "ts", "src", "file_id", "line", "message",
               "row_kind", "u", "wm", "queue", "call", "party_ts", "busy_delta", "closed_by"]


def agent_state(message: pl.Expr, work_mode: pl.Expr) -> pl.Expr:
    return (pl.when(message == LOGIN).then(int(AgentState.LOGIN))
            .when(message == READY).then(int(AgentState.READY))
            .when((message == NOT_READY) & (work_mode == int(WorkMode.AFTER_CALL_WORK)))
            .then(int(AgentState.ACW))
            .when(message == NOT_READY).then(int(AgentState.NOTREADY))
            .when(message == LOGOUT).then(int(AgentState.NULL))
            .cast(pl.Int32))


def party_steps(members: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """Connect / disconnect steps of the DNs' parties. The call of an event is its CallUUID, else
    the CallUUID of another event of the session with the same ConnID, else `<app>:<ConnID>`
    (only the session's own events are used, so every window agrees)."""
    calls = members.filter(pl.col("kind") == KIND_CALL).sort("ord")
    by_conn = (calls.filter(pl.col("call_uuid").is_not_null() & pl.col("conn_id").is_not_null())
               .group_by("sid", "app", "conn_id", maintain_order=True)
               .agg(_uuid=pl.col("call_uuid").first()))
    calls = (calls.join(by_conn, on=["sid", "app", "conn_id"], how="left", nulls_equal=True)
             .join(by_conn.rename({"conn_id": "previous_conn_id", "_uuid": "_prev_uuid"}),
                   on=["sid", "app", "previous_conn_id"], how="left", nulls_equal=True))
    calls = calls.with_columns(
        call=pl.coalesce("call_uuid", "_uuid",
                         pl.concat_str([pl.col("app"), pl.col("conn_id")], separator=":")),
        _prev_call=pl.when((pl.col("message") == PARTY_MOVE)
                           & pl.col("previous_conn_id").is_not_null())
        .then(pl.coalesce("_prev_uuid", pl.concat_str([pl.col("app"), pl.col("previous_conn_id")],
                                                       separator=":"))))
    common = [*SPAN, "app", "dss_id", "ord", "ts", "src", "file_id", "line", "message"]
    acts = pl.concat([
        calls.select(*common, "call", sub=pl.lit(1, dtype=pl.Int32),
                     _on=pl.col("message").is_in(PARTY_STARTS + [PARTY_MOVE])),
        calls.filter(pl.col("_prev_call").is_not_null() & (pl.col("_prev_call") != pl.col("call")))
        .select(*common, call=pl.col("_prev_call"), sub=pl.lit(0, dtype=pl.Int32), _on=pl.lit(False)),
    ]).filter(pl.col("call").is_not_null())
    group = [*SPAN, "call"]
    acts = acts.sort("ord", "sub").with_columns(
        _before=pl.col("_on").shift(1).over(group).fill_null(False))
    steps = acts.filter(pl.col("_on") != pl.col("_before")).with_columns(
        row_kind=pl.when(pl.col("_on")).then(pl.lit(ROW_CONNECT)).otherwise(pl.lit(ROW_DISCONNECT)))
    steps = steps.with_columns(
        party_ts=pl.when(pl.col("_on")).then(pl.col("ts")).forward_fill().over(group),
        closed_by=pl.lit(None, dtype=pl.String))
    # parties still connected when the span ends are disconnected then (before the logout)
    still = (steps.group_by(group, maintain_order=True)
             .agg(pl.all().last()).filter(pl.col("_on"))
             .join(spans.filter(pl.col("end_ts").is_not_null())
                   .select(*SPAN, "end_ord", "end_ts", "end_src", "end_kind"), on=SPAN, how="inner"))
    ends = still.with_columns(
        ord=pl.col("end_ord"), sub=pl.lit(-1, dtype=pl.Int32), ts=pl.col("end_ts"),
        src=pl.col("end_src"), file_id=pl.lit(None, dtype=pl.UInt32),
        line=pl.lit(None, dtype=pl.UInt32), message=pl.lit(None, dtype=pl.String),
        row_kind=pl.lit(ROW_DISCONNECT), closed_by=pl.col("end_kind"))
    cols = [*SPAN, "app", "dss_id", "ord", "sub", "ts", "src", "file_id", "line", "message",
            "row_kind", "call", "party_ts", "closed_by"]
    return pl.concat([steps.select(cols), ends.select(cols)], how="vertical_relaxed")


def timeline(members: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """Every step of every span with the state columns: u (agent state), wm, queue, busy, eff
    (effective state), their previous values, and the ACW attribution candidates."""
    null_str = pl.lit(None, dtype=pl.String)
    agent = members.filter(pl.col("kind") == KIND_AGENT).select(
        *SPAN, "app", "dss_id", "ord", sub=pl.lit(0, dtype=pl.Int32), ts="ts", src="src",
        file_id="file_id", line="line", message="message", row_kind=pl.lit(ROW_AGENT),
        u=agent_state(pl.col("message"), pl.col("work_mode")), wm=pl.col("work_mode"),
        queue=pl.col("queue"), call=null_str, party_ts=pl.lit(None, dtype=members["ts"].dtype),
        busy_delta=pl.lit(0, dtype=pl.Int32), closed_by=null_str)
    dnd = members.filter(pl.col("kind") == KIND_DND).select(
        *SPAN, "app", "dss_id", "ord", sub=pl.lit(0, dtype=pl.Int32), ts="ts", src="src",
        file_id="file_id", line="line", message="message", row_kind=pl.lit(ROW_DND),
        u=pl.lit(None, dtype=pl.Int32), wm=pl.lit(None, dtype=pl.Int32), queue=null_str,
        call=null_str, party_ts=pl.lit(None, dtype=members["ts"].dtype),
        busy_delta=pl.lit(0, dtype=pl.Int32), closed_by=null_str)
    parties = party_steps(members, spans).with_columns(
        u=pl.lit(None, dtype=pl.Int32), wm=pl.lit(None, dtype=pl.Int32), queue=null_str,
        busy_delta=pl.when(pl.col("row_kind") == ROW_CONNECT).then(1).otherwise(-1).cast(pl.Int32))
    closes = spans.filter(pl.col("end_kind").is_not_null() & (pl.col("end_kind") != END_LOGOUT)) \
        .select(*SPAN, "app", "dss_id", ord="end_ord", sub=pl.lit(0, dtype=pl.Int32), ts="end_ts",
                src="end_src", file_id=pl.lit(None, dtype=pl.UInt32),
                line=pl.lit(None, dtype=pl.UInt32), message=null_str, row_kind=pl.lit(ROW_CLOSE),
                u=pl.lit(int(AgentState.NULL), dtype=pl.Int32), wm=pl.lit(None, dtype=pl.Int32),
                queue=null_str, call=null_str, party_ts=pl.lit(None, dtype=members["ts"].dtype),
                busy_delta=pl.lit(0, dtype=pl.Int32), closed_by="end_kind")
    rows = pl.concat([f.select(ROW_COLUMNS) for f in (agent, dnd, parties, closes)],
                     how="vertical_relaxed").sort(*SPAN, "ord", "sub", "party_ts", "call",
                                                  nulls_last=True)
    is_connect = pl.col("row_kind") == ROW_CONNECT
    is_disconnect = pl.col("row_kind") == ROW_DISCONNECT
    rows = rows.with_columns(
        u_ff=pl.col("u").forward_fill().over(SPAN), wm_ff=pl.col("wm").forward_fill().over(SPAN),
        queue_ff=pl.col("queue").forward_fill().over(SPAN),
        busy=pl.col("busy_delta").cum_sum().over(SPAN))
    rows = rows.with_columns(
        eff=pl.when(pl.col("u_ff") == int(AgentState.NULL)).then(int(AgentState.NULL))
        .when(pl.col("busy") > 0).then(int(AgentState.BUSY)).otherwise(pl.col("u_ff"))
        .cast(pl.Int32))
    first_of_period = is_connect & (pl.col("busy") - pl.col("busy_delta") == 0)
    # state changes are judged per event: the steps of one event (a party moving from the
    # consultation call to the main call, parties closed at a logout) are one change
    last_step = (pl.col("ord") != pl.col("ord").shift(-1).over(SPAN)).fill_null(True)
    rows = rows.with_columns(_last_step=last_step,
                             _eff_end=pl.when(last_step).then(pl.col("eff")))
    rows = rows.with_columns(
        event_eff=pl.col("eff").last().over([*SPAN, "ord"]),
        event_prev_eff=pl.col("_eff_end").shift(1).forward_fill().over(SPAN)
        .fill_null(int(AgentState.NULL)),
        prev_eff=pl.col("eff").shift(1).over(SPAN).fill_null(int(AgentState.NULL)),
        prev_u=pl.col("u_ff").shift(1).over(SPAN), prev_wm=pl.col("wm_ff").shift(1).over(SPAN),
        # ACW attribution candidates (gls-acw-first)
        _first_call=pl.when(first_of_period).then(pl.col("call")).forward_fill().over(SPAN),
        _first_pts=pl.when(first_of_period).then(pl.col("party_ts")).forward_fill().over(SPAN),
        _conn_call=pl.when(is_connect).then(pl.col("call")).forward_fill().over(SPAN),
        _conn_pts=pl.when(is_connect).then(pl.col("party_ts")).forward_fill().over(SPAN),
        _disc_call=pl.when(is_disconnect).then(pl.col("call")).forward_fill().over(SPAN),
        _disc_pts=pl.when(is_disconnect).then(pl.col("party_ts")).forward_fill().over(SPAN),
    )
    is_agent = pl.col("row_kind") == ROW_AGENT
    return rows.with_columns(
        state_change=((pl.col("u_ff") != pl.col("prev_u")) | (pl.col("wm_ff") != pl.col("prev_wm")))
        .fill_null(True),
        acw_entry=is_agent & (pl.col("u_ff") == int(AgentState.ACW))
        & (pl.col("prev_u") != int(AgentState.ACW)).fill_null(True),
    )


def history(rows: pl.DataFrame, acw_first: int) -> pl.DataFrame:
    """G_AGENT_STATE_HISTORY records (before the common columns): per-DN SEQ over the session.

    ACW attribution (`gls-acw-first`): 1 (and -1, which behaves as 1 for SIP switches) — the call
    that last moved the DN from not busy to busy before the ACW began; 0 — the call still
    connected when ACW is entered (the latest connected), else the call that ended last."""
    is_agent = pl.col("row_kind") == ROW_AGENT
    is_call = pl.col("row_kind").is_in([ROW_CONNECT, ROW_DISCONNECT])
    busy = int(AgentState.BUSY)
    if acw_first == 0:
        acw_call = pl.when(pl.col("busy") > 0).then(pl.col("_conn_call")).otherwise(pl.col("_disc_call"))
        acw_pts = pl.when(pl.col("busy") > 0).then(pl.col("_conn_pts")).otherwise(pl.col("_disc_pts"))
    else:
        acw_call, acw_pts = pl.col("_first_call"), pl.col("_first_pts")
    rec5 = pl.col("_last_step") & (pl.col("eff") != pl.col("event_prev_eff")) \
        & (pl.col("row_kind") != ROW_DND)
    rec6 = is_agent & (pl.col("eff") == busy) & (pl.col("prev_eff") == busy) \
        & (pl.col("u_ff") != pl.col("prev_u")).fill_null(True)
    rec7 = is_agent & ~rec5 & ~rec6 & (pl.col("wm_ff") != pl.col("prev_wm")).fill_null(False)
    pending = pl.when(pl.col("eff") == busy).then(pl.col("u_ff"))
    call = (pl.when(is_call).then(pl.col("call"))
            .when(pl.col("acw_entry")).then(acw_call).otherwise(pl.lit(None, dtype=pl.String)))
    pts = (pl.when(is_call).then(pl.col("party_ts"))
           .when(pl.col("acw_entry")).then(acw_pts).otherwise(pl.lit(None, dtype=rows["ts"].dtype)))
    T = StateRecordType
    parts = [
        rows.filter(is_call).with_columns(
            type=pl.when(pl.col("row_kind") == ROW_CONNECT).then(int(T.CALL_CONNECTED))
            .otherwise(int(T.CALL_DISCONNECTED)), _torder=pl.lit(0), state=pl.col("event_eff"),
            prev=pl.col("event_prev_eff"),
            pending=pl.when(pl.col("event_eff") == busy).then(pl.col("u_ff")),
            rec_call=pl.col("call"), rec_pts=pl.col("party_ts")),
        rows.filter(rec5).with_columns(type=pl.lit(int(T.STATE)), _torder=pl.lit(1),
                                       state=pl.col("eff"), prev=pl.col("event_prev_eff"),
                                       pending=pending, rec_call=call, rec_pts=pts),
        rows.filter(rec6).with_columns(type=pl.lit(int(T.PENDING_STATE)), _torder=pl.lit(2),
                                       state=pl.col("eff"), prev=pl.col("prev_eff"),
                                       pending=pl.col("u_ff"), rec_call=call, rec_pts=pts),
        rows.filter(rec7).with_columns(type=pl.lit(int(T.WORKMODE)), _torder=pl.lit(3),
                                       state=pl.col("eff"), prev=pl.col("prev_eff"),
                                       pending=pending, rec_call=pl.lit(None, dtype=pl.String),
                                       rec_pts=pl.lit(None, dtype=rows["ts"].dtype)),
    ]
    recs = pl.concat([p.with_columns(pl.col("type").cast(pl.Int32), pl.col("_torder").cast(pl.Int32),
                                     pl.col("pending").cast(pl.Int32), pl.col("prev").cast(pl.Int32))
                      for p in parts],
                     how="vertical_relaxed")
    recs = recs.sort("sid", "dn", "ord", "sub", "_torder", "rec_pts", "rec_call",
                     nulls_last=True).with_columns(
        seq=(pl.int_range(pl.len()).over("sid", "dn") + 1).cast(pl.Int32))
    return recs.select(*SPAN, "app", "dss_id", "ord", "ts", "src", "type", "state", "pending",
                       prev_state="prev", workmode="wm_ff", queue="queue_ff", seq="seq",
                       call="rec_call", party_ts="rec_pts", closed_by="closed_by")

