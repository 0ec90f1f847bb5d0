"""Agent KPIs of one hour (docs/semantics.md §12): login time, and the time in each effective
state — ready, not ready, busy (a call connected), after-call work — with occupancy, and the
not-ready time per reason code. Sessions, states and codes are clipped to the hour; a login on
several DNs has one state at a time: the highest of its DNs' (busy > ACW > ready > not ready >
logged in), as Stat Server ranks an agent's DN statuses."""

from __future__ import annotations

import polars as pl

from transforms.idb import table
from transforms.idb.dictionary import AgentState
from transforms.reports.frames import HourFrames
from transforms.reports.intervals import hour_window, seconds, union_seconds

# lowest first: an agent's state across its DNs is the highest of theirs
PRIORITY = [AgentState.NULL, AgentState.LOGIN, AgentState.NOTREADY, AgentState.READY,
            AgentState.ACW, AgentState.BUSY]
RANK = {int(s): n for n, s in enumerate(PRIORITY)}
STATE_COLUMNS = {AgentState.READY: "READY_SECONDS", AgentState.NOTREADY: "NOT_READY_SECONDS",
                 AgentState.BUSY: "BUSY_SECONDS", AgentState.ACW: "ACW_SECONDS"}


def _sessions(frames: HourFrames, key: str) -> pl.DataFrame:
    """Sessions alive in the hour: SID, AGENT (user name, else login code), AGENTID and the part
    of the session inside the hour [A, B)."""
    lo, hi = hour_window(key)
    names = frames.agents.select(AGENTID="ID", USERNAME="USERNAME")
    return (frames.sessions.join(names, on="AGENTID", how="left")
            .select(SID="LOGINSESSIONID", AGENTID="AGENTID",
                    AGENT=pl.coalesce("USERNAME", "ETL_LOGIN_CODE", pl.lit("?")),
                    A=pl.max_horizontal("CREATED", pl.lit(lo)),
                    B=pl.min_horizontal(pl.col("TERMINATED").fill_null(pl.lit(hi)), pl.lit(hi)))
            .filter(pl.col("A") < pl.col("B")))


def _state_seconds(frames: HourFrames, sessions: pl.DataFrame) -> pl.DataFrame:
    """Seconds per (AGENT, STATE) of the agent's state across its DNs inside the hour."""
    records = (frames.intervals.select("SID", "DN", T="START", STATE="STATE")
               .join(sessions.select("SID"), on="SID").sort("T"))
    # every moment a DN of the session changes, and the start of the session's part of the hour
    points = pl.concat([
        records.join(sessions, on="SID")
        .filter((pl.col("T") > pl.col("A")) & (pl.col("T") < pl.col("B")))
        .select("SID", P="T"),
        sessions.select("SID", P="A")]).unique()
    grid = (points.join(records.select("SID", "DN").unique(), on="SID").sort("P")
            .join_asof(records, left_on="P", right_on="T", by=["SID", "DN"], strategy="backward",
                       check_sortedness=False))
    ranked = (grid.with_columns(R=pl.col("STATE").replace_strict(RANK, default=0))
              .group_by("SID", "P").agg(pl.col("R").max())
              .join(sessions, on="SID").sort("SID", "P")
              .with_columns(END=pl.col("P").shift(-1).over("SID").fill_null(pl.col("B")),
                            STATE=pl.col("R").replace_strict(
                                {n: int(s) for n, s in enumerate(PRIORITY)}, default=None)))
    return (ranked.group_by("AGENT", "STATE")
            .agg(SECONDS=seconds(pl.col("P"), pl.col("END")).sum()))


def agent_kpis(frames: HourFrames, key: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The hour's ETL_KPI_AGENT and ETL_KPI_AGENT_REASON rows."""
    sessions = _sessions(frames, key)
    login = union_seconds(sessions, ["AGENT"], "A", "B").rename({"SECONDS": "LOGIN_SECONDS"})
    by_state = _state_seconds(frames, sessions).filter(
        pl.col("STATE").is_in(list(map(int, STATE_COLUMNS))))
    wide = (by_state.with_columns(COLUMN=pl.col("STATE").replace_strict(
                {int(s): c for s, c in STATE_COLUMNS.items()}))
            .pivot(on="COLUMN", index="AGENT", values="SECONDS", aggregate_function="sum")
            if by_state.height else pl.DataFrame({"AGENT": []}, schema={"AGENT": pl.String}))
    for column in STATE_COLUMNS.values():
        if column not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(column))
    working = pl.col("BUSY_SECONDS") + pl.col("ACW_SECONDS")
    agents = (login.join(sessions.group_by("AGENT").agg(pl.col("AGENTID").drop_nulls().first()),
                         on="AGENT", how="left")
              .join(wide, on="AGENT", how="left")
              .with_columns(pl.col(c).fill_null(0.0) for c in STATE_COLUMNS.values())
              .with_columns(OCCUPANCY=pl.when(working + pl.col("READY_SECONDS") > 0)
                            .then(working / (working + pl.col("READY_SECONDS"))))
              .with_columns(HOUR=pl.lit(key)))
    return (_rounded(table("ETL_KPI_AGENT").conform(agents).sort("AGENT")),
            _rounded(table("ETL_KPI_AGENT_REASON").conform(_reasons(frames, sessions, key))
                     .sort("AGENT", "HWFLAG", "KEYNAME", "VALUE")))


def _reasons(frames: HourFrames, sessions: pl.DataFrame, key: str) -> pl.DataFrame:
    """Not-ready seconds per (AGENT, HWFLAG, KEYNAME, VALUE): the reason codes stated with a
    NotReady, from when they were stated to when they closed (or the session's part of the
    hour ended), clipped to the hour."""
    codes = (frames.reasons.filter(pl.col("AGENTSTATE") == int(AgentState.NOTREADY))
             .join(sessions, left_on="SESSIONID", right_on="SID")
             .select("AGENT", "HWFLAG", pl.col("KEYNAME").fill_null(""),
                     pl.col("VALUE").fill_null(""),
                     S=pl.max_horizontal("CREATED", "A"),
                     E=pl.min_horizontal(pl.col("TERMINATED").fill_null(pl.col("B")), "B"))
             .filter(pl.col("S") < pl.col("E")))
    return (union_seconds(codes, ["AGENT", "HWFLAG", "KEYNAME", "VALUE"], "S", "E")
            .with_columns(HOUR=pl.lit(key)))


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    """Figures to the millisecond (and shares to 1e-6): the same hour gives the same rows."""
    return frame.with_columns(pl.col(pl.Float64).round(6))
