"""The IDB rows an hour's report needs, read once: every party, party-history and
virtual-queue row of the calls with a party alive in the hour (a queue stay answered in the hour
may have begun hours before), the login sessions alive in the hour with their state records and
reason codes, and the configuration names. Filters use the IDB's UTC-seconds columns (*_TS),
which every dialect compares alike."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from transforms.idb import IdbStore
from transforms.reports.intervals import hour_window

ALIVE = "{p}CREATED_TS < :end AND ({p}TERMINATED_TS IS NULL OR {p}TERMINATED_TS >= :start)"
KPI_TABLES = ("ETL_KPI_QUEUE", "ETL_KPI_AGENT", "ETL_KPI_AGENT_REASON")


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


def read_hour(store: IdbStore, key: str) -> HourFrames:
    start, end = hour_window(key)
    # the seconds columns are floored: the frames hold a little more, the transforms clip exactly
    epoch = pl.Series([start, end]).dt.epoch("s").to_list()
    params = {"start": epoch[0] - 1, "end": epoch[1] + 1}
    calls = f"CALLID IN (SELECT CALLID FROM G_PARTY WHERE {ALIVE.format(p='')})"
    sessions = f"SELECT LOGINSESSIONID FROM G_LOGIN_SESSION WHERE {ALIVE.format(p='')}"
    return HourFrames(
        parties=store.read("G_PARTY", calls, params),
        history=store.read("G_PARTY_HISTORY", calls, params),
        virtual_queues=store.read("G_VIRTUAL_QUEUE", calls, params),
        endpoints=store.read("GC_ENDPOINT"),
        sessions=store.read("G_LOGIN_SESSION", ALIVE.format(p=""), params),
        states=store.read("G_AGENT_STATE_HISTORY", f"LOGINSESSIONID IN ({sessions})", params),
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
