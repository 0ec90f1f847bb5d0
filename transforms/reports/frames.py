"""The IDB rows an hour's (or a run of hours') report needs, read once: every party,
party-history and virtual-queue row of the calls with a party alive in the hour (a queue stay
answered in the hour may have begun hours before), the login sessions alive in the hour with
their state records and reason codes, and the configuration names. Filters use the IDB's
UTC-seconds columns (*_TS), which every dialect compares alike."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl

from transforms.idb import IdbStore
from transforms.idb.dictionary import AgentState, PartyState, StateRecordType
from transforms.reports.intervals import hour_window

ALIVE = "{p}CREATED_TS < :end AND ({p}TERMINATED_TS IS NULL OR {p}TERMINATED_TS >= :start)"
KPI_TABLES = ("ETL_KPI_QUEUE", "ETL_KPI_AGENT", "ETL_KPI_AGENT_REASON")
# the columns the reports use of the large tables (reading the others would double the time)
STATE_COLUMNS = ["TYPE", "LOGINSESSIONID", "ETL_DN", "SEQ", "STATE", "PENDINGSTATE", "PARTYID",
                 "ADDED"]
PARTY_COLUMNS = ["PARTYID", "CALLID", "ENDPOINTID", "ENDPOINTDN", "ENDPOINTTYPE", "PROLE",
                 "SWITCHID", "PARENTPARTYID", "PARENTLINKTYPE", "CCEVENT", "CREATED", "CREATED_TS",
                 "TERMINATED", "TERMINATED_TS"]
HISTORY_COLUMNS = ["PARTYID", "CALLID", "CHANGETYPE", "STATE", "ADDED"]


@dataclass(frozen=True)
class HourFrames:
    parties: pl.DataFrame          # G_PARTY
    history: pl.DataFrame          # G_PARTY_HISTORY
    virtual_queues: pl.DataFrame   # G_VIRTUAL_QUEUE
    endpoints: pl.DataFrame        # GC_ENDPOINT
    sessions: pl.DataFrame         # G_LOGIN_SESSION
    states: pl.DataFrame           # G_AGENT_STATE_HISTORY
    reasons: pl.DataFrame          # G_AGENT_STATE_RC and G_AGENT_STATE_RC_A
    agents: pl.DataFrame           # GC_AGENT

    @cached_property
    def intervals(self) -> pl.DataFrame:
        """`state_intervals` of the states, computed once for every hour they serve."""
        return state_intervals(self.states)


def state_intervals(states: pl.DataFrame) -> pl.DataFrame:
    """Each DN's effective-state intervals (SID, DN, STATE, PARTYID, START, END, ACW_PARTYID)
    from the state records (TYPE state): a record's state lasts until the DN's next one; END is
    null for the last one (the session's end, or open). ACW_PARTYID: the party an after-call
    work interval belongs to, that of the record where the agent entered ACW: calls taken
    during ACW (busy, pending ACW) do not change it (`gls-acw-first`, docs/semantics.md §8),
    though the record back to ACW after each carries that call."""
    in_acw = (pl.col("STATE") == int(AgentState.ACW)) | (
        (pl.col("STATE") == int(AgentState.BUSY)) & (pl.col("PENDINGSTATE") == int(AgentState.ACW)))
    entry = (pl.col("STATE") == int(AgentState.ACW)) \
        & ~in_acw.shift(1).over("SID", "DN").fill_null(False)
    # a stretch: an ACW entry and the records in ACW after it (or one record outside ACW)
    stretch = (entry | ~in_acw).cum_sum().over("SID", "DN")
    return (states.filter(pl.col("TYPE") == int(StateRecordType.STATE))
            .sort("LOGINSESSIONID", "ETL_DN", "SEQ")
            .select(SID="LOGINSESSIONID", DN="ETL_DN", STATE="STATE", PENDINGSTATE="PENDINGSTATE",
                    PARTYID="PARTYID", START="ADDED")
            .with_columns(END=pl.col("START").shift(-1).over("SID", "DN"), _entry=entry,
                          _stretch=stretch)
            .with_columns(ACW_PARTYID=pl.when(pl.col("STATE") == int(AgentState.ACW))
                          .then(pl.col("PARTYID").filter("_entry").first()
                                .over("SID", "DN", "_stretch")))
            .drop("_entry", "_stretch"))


def read_hour(store: IdbStore, key: str) -> HourFrames:
    return read_span(store, key, key)


def read_span(store: IdbStore, first: str, last: str) -> HourFrames:
    """The rows the reports of the hours first..last need, read at once: the KPIs of each hour
    are computed from them as from the hour's own (every measure is clipped to its hour). A
    login session lives a shift: hour by hour, its state records would be read again each hour."""
    start, end = hour_window(first)[0], hour_window(last)[1]
    # the seconds columns are floored: the frames hold a little more, the transforms clip exactly
    epoch = pl.Series([start, end]).dt.epoch("s").to_list()
    params = {"start": epoch[0] - 1, "end": epoch[1] + 1}
    calls = f"CALLID IN (SELECT CALLID FROM G_PARTY WHERE {ALIVE.format(p='')})"
    sessions = f"SELECT LOGINSESSIONID FROM G_LOGIN_SESSION WHERE {ALIVE.format(p='')}"
    return HourFrames(
        parties=store.read("G_PARTY", calls, params, columns=PARTY_COLUMNS),
        # a stay is created queued; an answer is the first connection
        history=store.read("G_PARTY_HISTORY", f"{calls} AND STATE IN (:queued, :connected)",
                           {**params, "queued": int(PartyState.QUEUED),
                            "connected": int(PartyState.CONNECTED)},
                           columns=HISTORY_COLUMNS),
        virtual_queues=store.read("G_VIRTUAL_QUEUE", calls, params),
        endpoints=store.read("GC_ENDPOINT"),
        sessions=store.read("G_LOGIN_SESSION", ALIVE.format(p=""), params),
        # only the effective-state records, only what the reports use: a day of them is most
        # of what the reports read
        states=store.read("G_AGENT_STATE_HISTORY",
                          f"LOGINSESSIONID IN ({sessions}) AND TYPE = :state_record",
                          {**params, "state_record": int(StateRecordType.STATE)},
                          columns=STATE_COLUMNS),
        reasons=pl.concat([store.read(name, f"SESSIONID IN ({sessions})", params)
                           for name in ("G_AGENT_STATE_RC", "G_AGENT_STATE_RC_A")]),
        agents=store.read("GC_AGENT"),
    )


def read_kpis(store: IdbStore, first: str | None = None, last: str | None = None
              ) -> dict[str, pl.DataFrame]:
    """The ETL_KPI_* rows of the hours first..last (keys; None: no bound), in hour order."""
    where = " AND ".join(c for c, v in (("HOUR >= :first", first), ("HOUR <= :last", last)) if v)
    params = {"first": first, "last": last}
    return {name: store.read(name, where or None, params).sort("HOUR")
            for name in KPI_TABLES}
