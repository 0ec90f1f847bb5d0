"""Queue and virtual-queue KPIs of one hour (docs/semantics.md §12). A *stay* is one queue
party (G_PARTY of an ACD queue or virtual queue, or a party created queued). Each measure
counts in the hour its event happened: offered when the stay began, distributed / abandoned
when it ended by EventDiverted / EventAbandoned, answered when the agent it was distributed to
connected (wait = answer - entry), handled when that agent's party was released (handle =
release - answer, plus the after-call work the IDB attributes to the party, up to the hour's
end). So an hour's rows need no later hour, and a day's counts are the sums of its hours'."""

from __future__ import annotations

import polars as pl

from transforms.idb import table
from transforms.idb.dictionary import (
    AgentState,
    CCEvent,
    DnType,
    ParentLinkType,
    PartyHistoryChange,
    PartyRole,
    PartyState,
    VqResult,
)
from transforms.reports.frames import HourFrames
from transforms.reports.intervals import hour_window, seconds

KEY = ["QUEUE", "SWITCHID"]
COUNTS = ["OFFERED", "DISTRIBUTED", "ANSWERED", "ABANDONED", "ANSWERED_IN_THRESHOLD", "HANDLED"]


def _stays(frames: HourFrames) -> pl.DataFrame:
    """Queue parties: PARTYID, CALLID, queue DN, switch, type, entry, end and ending event."""
    h, p = frames.history, frames.parties
    created_queued = h.filter((pl.col("CHANGETYPE") == int(PartyHistoryChange.PARTY_CREATED))
                              & (pl.col("STATE") == int(PartyState.QUEUED)))["PARTYID"]
    in_vq = pl.col("PARTYID").is_in(frames.virtual_queues["PARTYID"].implode())
    is_vq = in_vq | (pl.col("ENDPOINTTYPE") == int(DnType.VIRT_ACD_QUEUE))
    queue_types = [int(DnType.ACD_QUEUE), int(DnType.VIRT_ACD_QUEUE)]
    # a call dialed from a queue DN (an outbound dialer's predictive call) waits in no queue
    dialed_from = pl.col("PROLE").eq_missing(int(PartyRole.ORIGINATION))
    return (p.filter((is_vq | pl.col("ENDPOINTTYPE").is_in(queue_types)
                      | pl.col("PARTYID").is_in(created_queued.implode())) & ~dialed_from)
            .select("PARTYID", "CALLID", "ENDPOINTID", QUEUE="ENDPOINTDN", SWITCHID="SWITCHID",
                    VQ=is_vq, ENTERED="CREATED", LEFT="TERMINATED", ENDED_BY="CCEVENT"))


def _answers(frames: HourFrames, stays: pl.DataFrame) -> pl.DataFrame:
    """The agent party each stay was distributed to: (STAY, AGENT_PARTY). An ACD queue is the
    distributed parent of the party it rang (G_PARTY.PARENTPARTYID); a virtual queue only
    reports URS's choice (G_VIRTUAL_QUEUE.TARGETDN): the party on that DN in the same call
    created nearest to the end of the stay."""
    p = frames.parties
    acd = (p.filter(pl.col("PARENTLINKTYPE") == int(ParentLinkType.DISTRIBUTED))
           .join(stays.filter(~pl.col("VQ")).select("PARTYID"), left_on="PARENTPARTYID",
                 right_on="PARTYID")
           .select(STAY="PARENTPARTYID", AGENT_PARTY="PARTYID"))
    targets = (frames.virtual_queues
               .filter((pl.col("RESULT") == int(VqResult.DISTRIBUTED))
                       & pl.col("TARGETDN").is_not_null() & pl.col("TERMINATED").is_not_null())
               .join(stays.select("PARTYID"), on="PARTYID")
               .select(STAY="PARTYID", CALLID="CALLID", DN="TARGETDN", T="TERMINATED").sort("T"))
    reached = p.select(AGENT_PARTY="PARTYID", CALLID="CALLID", DN="ENDPOINTDN",
                       T="CREATED").sort("T")
    vq = (targets.join_asof(reached, on="T", by=["CALLID", "DN"], strategy="nearest",
                             check_sortedness=False)
          .filter(pl.col("AGENT_PARTY").is_not_null()).select("STAY", "AGENT_PARTY"))
    return pl.concat([acd, vq]).unique("STAY", keep="first", maintain_order=True)


def _acw_seconds(frames: HourFrames, hi) -> pl.DataFrame:
    """After-call work per party (that of the record where the agent entered ACW), up to `hi`."""
    acw = frames.intervals.filter(pl.col("ACW_PARTYID").is_not_null())
    until = pl.min_horizontal(pl.col("END").fill_null(pl.lit(hi)), pl.lit(hi))
    return (acw.with_columns(S=pl.max_horizontal(seconds(pl.col("START"), until), pl.lit(0.0)))
            .group_by(AGENT_PARTY="ACW_PARTYID").agg(ACW=pl.col("S").sum()))


def queue_kpis(frames: HourFrames, key: str, threshold: int) -> pl.DataFrame:
    """The hour's ETL_KPI_QUEUE rows (`threshold`: the service level's seconds)."""
    lo, hi = hour_window(key)
    stays = _stays(frames)
    first_connect = (frames.history.filter(pl.col("STATE") == int(PartyState.CONNECTED))
                     .group_by(AGENT_PARTY="PARTYID").agg(ANSWER=pl.col("ADDED").min()))
    released = frames.parties.select(AGENT_PARTY="PARTYID", RELEASED="TERMINATED")
    answers = (_answers(frames, stays).join(first_connect, on="AGENT_PARTY")
               .join(released, on="AGENT_PARTY", how="left")
               .join(_acw_seconds(frames, hi), on="AGENT_PARTY", how="left"))
    rows = stays.join(answers, left_on="PARTYID", right_on="STAY", how="left")

    def within(column: str) -> pl.Expr:
        return (pl.col(column) >= lo) & (pl.col(column) < hi)

    wait = seconds(pl.col("ENTERED"), pl.col("ANSWER"))
    answered, handled = within("ANSWER"), within("RELEASED") & pl.col("ANSWER").is_not_null()
    measures = rows.with_columns(
        OFFERED=within("ENTERED"),
        DISTRIBUTED=within("LEFT") & (pl.col("ENDED_BY") == int(CCEvent.EVENT_DIVERTED)),
        ABANDONED=within("LEFT") & (pl.col("ENDED_BY") == int(CCEvent.EVENT_ABANDONED)),
        ANSWERED=answered,
        ANSWERED_IN_THRESHOLD=answered & (wait <= threshold),
        HANDLED=handled,
        WAIT=pl.when(answered).then(wait).otherwise(0.0),
        HANDLE=pl.when(handled).then(seconds(pl.col("ANSWER"), pl.col("RELEASED"))
                                     + pl.col("ACW").fill_null(0.0)).otherwise(0.0))
    by_queue = (measures.group_by(KEY)
                .agg(*[pl.col(c).fill_null(False).sum().cast(pl.Int32) for c in COUNTS],
                     WAIT_SECONDS=pl.col("WAIT").fill_null(0.0).sum(),
                     HANDLE_SECONDS=pl.col("HANDLE").fill_null(0.0).sum(),
                     VQ=pl.col("VQ").any(), ENDPOINTID=pl.col("ENDPOINTID").drop_nulls().first())
                .filter(pl.sum_horizontal(COUNTS) > 0))
    names = frames.endpoints.select(ENDPOINTID="ID", QUEUE_NAME="NAME")
    decided = pl.col("ANSWERED") + pl.col("ABANDONED")
    out = (by_queue.join(names, on="ENDPOINTID", how="left").with_columns(
        HOUR=pl.lit(key),
        QUEUE_TYPE=pl.when("VQ").then(pl.lit(DnType.VIRT_ACD_QUEUE.name.lower()))
        .otherwise(pl.lit(DnType.ACD_QUEUE.name.lower())),
        ASA_SECONDS=pl.when(pl.col("ANSWERED") > 0)
        .then(pl.col("WAIT_SECONDS") / pl.col("ANSWERED")),
        AHT_SECONDS=pl.when(pl.col("HANDLED") > 0)
        .then(pl.col("HANDLE_SECONDS") / pl.col("HANDLED")),
        SERVICE_LEVEL=pl.when(decided > 0).then(pl.col("ANSWERED_IN_THRESHOLD") / decided),
        SL_THRESHOLD_SECONDS=pl.lit(threshold)))
    return (table("ETL_KPI_QUEUE").conform(out).with_columns(pl.col(pl.Float64).round(6))
            .sort("QUEUE", "SWITCHID"))
