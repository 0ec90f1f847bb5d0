"""Login sessions: which events belong to which agent login session, and how each session ends.

Two levels, both computed with window functions over the ordered events (no per-row loops):

* a **DN span** is a stretch of time during which one agent is logged in on one DN: it starts at
  EventAgentLogin (or at the first Ready/NotReady carrying an AgentID on a DN not logged in: the
  login happened before the data), and ends at EventAgentLogout of that DN, or when another
  agent's login/state event shows up on the DN (`relogin`);
* a **session** is a maximal chain of overlapping spans of one agent on one T-Server in one data
  source session: two EventAgentLogin on two DNs with the same AgentID are one session, which ends
  when its last DN logs out.

Artificial closures (docs/semantics.md §8): a session still open when its data source session
is known to have ended closes at that session's last event (`dss_end`); with `[gts]
gls-max-duration` > 0 a session closes `gls-max-duration` seconds after its creation once the data
reaches that moment (`gls_max_duration`); the agent's events after that cut are not recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from transforms.roles.gls.prep import KIND_AGENT, LOGOUT

INF = 1 << 62                  # "after every event": order of an artificial closure
END_LOGOUT, END_RELOGIN = "logout", "relogin"
CLOSED_DSS_END, CLOSED_MAX_DURATION = "dss_end", "gls_max_duration"
SESSION_NAMESPACE = uuid.UUID("6b0c3f5e-1c0e-4a71-9f3a-1c0e71a9e7d1")

SPAN_END = ["end_ts", "end_src", "end_kind"]   # how a span ended (`spans`)


def toggles(rows: pl.DataFrame, on: pl.Expr, group: list[str]) -> pl.DataFrame:
    """Rows that switch something on (`on` true) or off, in order within `group`: `_start`
    where it turns on, `_end` where it turns off (a repeat changes nothing), and `n`, the rank
    in the group of the interval a start opens or an end closes."""
    rows = rows.with_columns(_on=on)
    rows = rows.with_columns(_before=pl.col("_on").shift(1).over(group).fill_null(False))
    rows = rows.with_columns(_start=pl.col("_on") & ~pl.col("_before"),
                             _end=~pl.col("_on") & pl.col("_before"))
    return rows.with_columns(n=pl.col("_start").cast(pl.Int32).cum_sum().over(group))


def closed_at(end_ts: str, end_src: str, logout_closes: bool = True) -> dict[str, pl.Expr]:
    """`terminated`, `src_last` and `closed_by` of intervals joined with their span's end
    (SPAN_END): an interval ends at its own closing event (`end_ts`, `end_src`), else with its
    span; `closed_by` then names how the span ended (a logout only when `logout_closes`)."""
    by_span = pl.col(end_ts).is_null() & pl.col("end_ts").is_not_null()
    if not logout_closes:
        by_span = by_span & (pl.col("end_kind") != END_LOGOUT)
    return {"terminated": pl.coalesce(end_ts, "end_ts"),
            "src_last": pl.when(pl.col(end_ts).is_not_null()).then(pl.col(end_src))
            .otherwise(pl.col("end_src")),
            "closed_by": pl.when(by_span).then(pl.col("end_kind"))}


DN_GROUP = ["app", "dss_id", "dn"]
AGENT_GROUP = ["app", "dss_id", "agent"]


@dataclass
class Sessions:
    sessions: pl.DataFrame   # sid, app, dss_id, agent, created_*, first_dn, end_*, closed_by, raw_open
    spans: pl.DataFrame      # sid, app, dss_id, dn, span_no, start_*, end_ord, end_ts, end_src, end_kind
    members: pl.DataFrame    # the events recorded in a session (dn events + sid, span_no)
    event_keys: pl.DataFrame  # file_id, line, key: every event of a session (for the carry)


def session_ids(apps: list, agents: list, created: list[datetime]) -> list[str]:
    """LOGINSESSIONID: a name-based UUID (RFC 4122 v5) of the T-Server application, the agent's
    login code and the session's first event time (µs). It depends only on the session's own
    first event, so every processing window and both HA replicas give the same id (36 chars)."""
    return [str(uuid.uuid5(SESSION_NAMESPACE, f"{app}|{agent}|{ts.isoformat()}"))
            for app, agent, ts in zip(apps, agents, created)]


def login_sessions(ev: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(spans, sessions) of `ev` before the artificial closures: only the agent events of DNs
    decide them, so the agent events alone give the spans every event gives."""
    spans, _ = _dn_spans(ev)
    sessions, spans = _sessions(spans)
    return spans, sessions


def assign(ev: pl.DataFrame, dss_ends: pl.DataFrame | None, max_duration: int,
           horizon: datetime | None) -> Sessions:
    """`ev`: `prep.dn_events`; `dss_ends`: dss_id, end_ts, end_src of data source sessions known to
    have ended; `horizon`: the latest event time of the window (a max-duration cut applies once
    the data reaches it)."""
    spans, members = _dn_spans(ev)
    sessions, spans = _sessions(spans)
    members = members.join(spans.select(*DN_GROUP, "span_no", "sid"), on=[*DN_GROUP, "span_no"],
                           how="inner", nulls_equal=True)
    event_keys = members.select("file_id", "line", key=pl.col("sid"))
    sessions = _closures(sessions, members, dss_ends, max_duration, horizon)
    spans, members = _apply_closures(sessions, spans, members)
    return Sessions(sessions, spans, members, event_keys)


def _dn_spans(ev: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    is_agent = pl.col("kind") == KIND_AGENT
    is_logout = pl.col("message") == LOGOUT
    effect = (pl.when(is_agent & is_logout).then(pl.lit(False))
              .when(is_agent & pl.col("agent").is_not_null()).then(pl.lit(True)))
    ev = ev.sort("ord").with_columns(_eff=effect)
    ev = ev.with_columns(
        _in=pl.col("_eff").forward_fill().over(DN_GROUP).fill_null(False),
        _agent=pl.when(pl.col("_eff")).then(pl.col("agent")).forward_fill().over(DN_GROUP))
    ev = ev.with_columns(_in_before=pl.col("_in").shift(1).over(DN_GROUP).fill_null(False),
                         _agent_before=pl.col("_agent").shift(1).over(DN_GROUP))
    changed_agent = (pl.col("_agent") != pl.col("_agent_before")).fill_null(False)
    ev = ev.with_columns(
        _start=pl.col("_in") & (~pl.col("_in_before") | changed_agent),
        _end=is_agent & is_logout & pl.col("_in_before"))
    ev = ev.with_columns(span_no=pl.col("_start").cast(pl.Int32).cum_sum().over(DN_GROUP))
    members = ev.filter(pl.col("_in") | pl.col("_end"))
    spans = members.group_by(*DN_GROUP, "span_no", maintain_order=True).agg(
        agent=pl.col("_agent").first(), start_ord=pl.col("ord").first(),
        start_ts=pl.col("ts").first(), start_src=pl.col("src").first(),
        _lo_ord=pl.col("ord").filter(pl.col("_end")).first(),
        _lo_ts=pl.col("ts").filter(pl.col("_end")).first(),
        _lo_src=pl.col("src").filter(pl.col("_end")).first())
    # another agent's event on a logged-in DN ends the previous span there
    relogins = ev.filter(pl.col("_start") & pl.col("_in_before")).select(
        *DN_GROUP, span_no=pl.col("span_no") - 1, _re_ord=pl.col("ord"), _re_ts=pl.col("ts"),
        _re_src=pl.col("src"))
    spans = spans.join(relogins, on=[*DN_GROUP, "span_no"], how="left", nulls_equal=True)
    spans = spans.with_columns(
        end_ord=pl.coalesce("_lo_ord", "_re_ord"), end_ts=pl.coalesce("_lo_ts", "_re_ts"),
        end_src=pl.coalesce("_lo_src", "_re_src"),
        end_kind=pl.when(pl.col("_lo_ord").is_not_null()).then(pl.lit(END_LOGOUT))
        .when(pl.col("_re_ord").is_not_null()).then(pl.lit(END_RELOGIN)),
    ).drop("_lo_ord", "_lo_ts", "_lo_src", "_re_ord", "_re_ts", "_re_src")
    members = members.drop("_eff", "_in", "_agent", "_in_before", "_agent_before", "_start", "_end")
    return spans, members


def _sessions(spans: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Chain the overlapping spans of each agent into sessions."""
    spans = spans.with_columns(_end_key=pl.col("end_ord").fill_null(INF)).sort("start_ord")
    spans = spans.with_columns(_prev_end=pl.col("_end_key").cum_max().shift(1).over(AGENT_GROUP))
    spans = spans.with_columns(session_no=(pl.col("_prev_end").is_null()
                                           | (pl.col("start_ord") > pl.col("_prev_end")))
                               .cast(pl.Int32).cum_sum().over(AGENT_GROUP))
    sessions = spans.group_by(*AGENT_GROUP, "session_no", maintain_order=True).agg(
        created_ord=pl.col("start_ord").first(), created_ts=pl.col("start_ts").first(),
        created_src=pl.col("start_src").first(), first_dn=pl.col("dn").first(),
        raw_open=pl.col("end_ord").is_null().any(),
        nat_end_ts=pl.col("end_ts").sort_by("_end_key").last(),
        nat_end_src=pl.col("end_src").sort_by("_end_key").last(),
        nat_end_kind=pl.col("end_kind").sort_by("_end_key").last(),
        nat_end_ord=pl.col("_end_key").max())
    sessions = sessions.with_columns(sid=pl.Series(
        session_ids(sessions["app"].to_list(), sessions["agent"].to_list(),
                    sessions["created_ts"].to_list()), dtype=pl.String))
    spans = spans.join(sessions.select(*AGENT_GROUP, "session_no", "sid"),
                       on=[*AGENT_GROUP, "session_no"], how="left", nulls_equal=True)
    return sessions, spans.drop("_end_key", "_prev_end", "session_no")


def _closures(sessions: pl.DataFrame, members: pl.DataFrame, dss_ends: pl.DataFrame | None,
              max_duration: int, horizon: datetime | None) -> pl.DataFrame:
    last = members.group_by("sid").agg(_last_ts=pl.col("ts").max())
    sessions = sessions.join(last, on="sid", how="left")
    if dss_ends is not None and dss_ends.height:
        ends = dss_ends.select(pl.col("dss_id").cast(pl.Int64),
                               _dss_ts=pl.col("end_ts").cast(sessions["created_ts"].dtype),
                               _dss_src=pl.col("end_src").cast(pl.String)).unique("dss_id")
        sessions = sessions.join(ends, on="dss_id", how="left")
    else:
        sessions = sessions.with_columns(_dss_ts=pl.lit(None, dtype=sessions["created_ts"].dtype),
                                         _dss_src=pl.lit(None, dtype=pl.String))
    # a data source session's end applies once the window's data reaches it
    reached = pl.col("_dss_ts") <= pl.lit(horizon).cast(sessions["created_ts"].dtype) \
        if horizon is not None else pl.lit(False)
    dss_close = pl.col("raw_open") & pl.col("_dss_ts").is_not_null() & reached
    # never before the session's own last event
    dss_ts = pl.max_horizontal(pl.col("_dss_ts"), pl.col("_last_ts"))
    cut = pl.col("created_ts") + pl.duration(seconds=max_duration)
    if max_duration > 0 and horizon is not None:
        max_close = ((cut <= pl.lit(horizon).cast(sessions["created_ts"].dtype))
                     & (pl.col("raw_open") | (cut < pl.col("nat_end_ts")))
                     & (~dss_close.fill_null(False) | (cut < dss_ts)))
    else:
        max_close = pl.lit(False)
    sessions = sessions.with_columns(_max=max_close.fill_null(False), _dss=dss_close.fill_null(False))
    return sessions.with_columns(
        end_ts=pl.when(pl.col("_max")).then(cut).when(pl.col("_dss")).then(dss_ts)
        .when(~pl.col("raw_open")).then(pl.col("nat_end_ts")),
        end_src=pl.when(pl.col("_max")).then(pl.lit(None, dtype=pl.String))
        .when(pl.col("_dss")).then(pl.col("_dss_src"))
        .when(~pl.col("raw_open")).then(pl.col("nat_end_src")),
        closed_by=pl.when(pl.col("_max")).then(pl.lit(CLOSED_MAX_DURATION))
        .when(pl.col("_dss")).then(pl.lit(CLOSED_DSS_END))
        .when(~pl.col("raw_open") & (pl.col("nat_end_kind") == END_RELOGIN))
        .then(pl.lit(END_RELOGIN)),
        raw_open=pl.col("raw_open") & ~pl.col("_dss"),
    ).drop("_dss_ts", "_dss_src", "_max", "_dss", "_last_ts", "nat_end_ts", "nat_end_src",
           "nat_end_ord", "nat_end_kind", "session_no")


def _apply_closures(sessions: pl.DataFrame, spans: pl.DataFrame,
                    members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cut spans and events at an artificial closure; spans open then end with it."""
    closes = sessions.filter(pl.col("closed_by").is_in([CLOSED_DSS_END, CLOSED_MAX_DURATION])).select(
        "sid", _c_ts="end_ts", _c_src="end_src", _c_by="closed_by")
    members = (members.join(closes.select("sid", "_c_ts"), on="sid", how="left")
               .filter(pl.col("_c_ts").is_null() | (pl.col("ts") <= pl.col("_c_ts")))
               .drop("_c_ts"))
    spans = spans.join(closes, on="sid", how="left").filter(
        pl.col("_c_ts").is_null() | (pl.col("start_ts") <= pl.col("_c_ts")))
    cut = pl.col("_c_ts").is_not_null() & (pl.col("end_ord").is_null()
                                           | (pl.col("end_ts") > pl.col("_c_ts")))
    spans = spans.with_columns(
        end_ord=pl.when(cut).then(pl.lit(INF)).otherwise(pl.col("end_ord")),
        end_ts=pl.when(cut).then(pl.col("_c_ts")).otherwise(pl.col("end_ts")),
        end_src=pl.when(cut).then(pl.col("_c_src")).otherwise(pl.col("end_src")),
        end_kind=pl.when(cut).then(pl.col("_c_by")).otherwise(pl.col("end_kind")),
    ).drop("_c_ts", "_c_src", "_c_by")
    return spans, members
