"""G_ROUTE_RESULT (routing-point stays) and G_VIRTUAL_QUEUE (virtual-queue stays).

The route result is read from the user data the router attached (`RTarget*Selected`, report_targets)
as it stood when the call left the routing point; the closing event gives the outcome
(docs/semantics.md §6)."""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import CCEvent, DnType, PartyHistoryChange, RouteResult, VqResult
from transforms.roles.gcc.prep import REPLY_WITHIN

RTARGET_KEYS = {"RTargetRuleSelected": "RTARGETRULESELECTED",
                "RTargetObjectSelected": "RTARGETOBJECTSELECTED",
                "RTargetTypeSelected": "RTARGETTYPESELECTED",
                "RTargetAgentSelected": "RTARGETAGENTSELECTED",
                "RTargetPlaceSelected": "RTARGETPLACESELECTED",
                "RStrategyName": "RSTRATEGYNAME"}
RP_TYPES = [int(DnType.ROUTING_POINT), int(DnType.VIRT_ROUTING_POINT)]


def _stays(hist: pl.DataFrame, is_kind: pl.Expr) -> pl.DataFrame:
    parties = hist.filter(is_kind)
    first = parties.filter(pl.col("change") == int(PartyHistoryChange.PARTY_CREATED)).select(
        "party_id", "call", "dn", "endpoint_id", created="ts", src="src", dss_id="dss_id",
        created_ord="ord")
    last = parties.filter(pl.col("change") == int(PartyHistoryChange.PARTY_TERMINATED)).select(
        "party_id", terminated="ts", end_ord="ord", end_event="cc_event", target="third_dn",
        reference_id="reference_id", src_last="src")
    return first.join(last, on="party_id", how="left")


def _with_route_type(stays: pl.DataFrame, requests: pl.DataFrame) -> pl.DataFrame:
    """`route_type` of the RequestRouteCall a stay's end answers: the latest request of its
    T-Server and ReferenceID before the end, within REPLY_WITHIN (the same in any window)."""
    ended = stays.filter(pl.col("end_ord").is_not_null() & pl.col("reference_id").is_not_null())
    rest = stays.join(ended.select("party_id"), on="party_id", how="anti")
    answered = (ended.with_columns(pl.col("end_ord").cast(pl.UInt32)).sort("end_ord")
                .join_asof(requests.rename({"ord": "_ord", "ts": "_ts"})
                           .with_columns(pl.col("_ord").cast(pl.UInt32)),
                           left_on="end_ord", right_on="_ord", by=["app", "reference_id"],
                           strategy="backward", check_sortedness=False)
                .with_columns(route_type=pl.when(pl.col("terminated") - pl.col("_ts") <= REPLY_WITHIN)
                              .then(pl.col("route_type")))
                .drop("_ord", "_ts"))
    return pl.concat([answered, rest.with_columns(route_type=pl.lit(None, dtype=pl.Int64))],
                     how="diagonal_relaxed")


def route_results(hist: pl.DataFrame, user_data: pl.DataFrame, route_types: pl.DataFrame) -> pl.DataFrame:
    """One row per routing-point party. `user_data`: call, ord, key, value (every UserData
    member of the call's events); `route_types`: the RequestRouteCall of the window
    (`prep.route_requests`)."""
    is_rp = pl.col("endpoint_type").is_in(RP_TYPES) | (
        pl.col("endpoint_type").is_null() & (pl.col("cc_event") == int(CCEvent.EVENT_ROUTE_REQUEST)))
    rp_ids = hist.filter(is_rp).select("party_id").unique()
    stays = _stays(hist.join(rp_ids, on="party_id", how="semi"), pl.lit(True))
    stays = stays.join(hist.select("party_id", "app").unique("party_id"), on="party_id", how="left")
    stays = _with_route_type(stays, route_types)
    # the latest value of each RTarget key at or before the end of the stay
    keys = user_data.filter(pl.col("key").is_in(list(RTARGET_KEYS)))
    seen = (stays.select("party_id", "call", "end_ord").join(keys, on="call", how="inner")
            .filter(pl.col("ord") <= pl.col("end_ord").fill_null(2**31))
            .sort("ord").group_by("party_id", "key").agg(pl.col("value").last()))
    wide = (seen.pivot(on="key", on_columns=list(RTARGET_KEYS), index="party_id", values="value")
            if seen.height else pl.DataFrame({"party_id": []}, schema={"party_id": pl.String}))
    for key in RTARGET_KEYS:
        if key not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias(key))
    ended_by = pl.col("end_event")
    return stays.join(wide, on="party_id", how="left").with_columns(
        result=pl.when(pl.col("terminated").is_null()).then(None)
        .when((ended_by == int(CCEvent.EVENT_ROUTE_USED)) & pl.col("reference_id").is_not_null())
        .then(int(RouteResult.ROUTED))
        .when(ended_by == int(CCEvent.EVENT_ROUTE_USED)).then(int(RouteResult.DEFAULT_ROUTED))
        .when(ended_by == int(CCEvent.EVENT_ABANDONED)).then(int(RouteResult.ABANDONED))
        .otherwise(int(RouteResult.CLEARED)).cast(pl.Int32),
        target=pl.when(ended_by == int(CCEvent.EVENT_ROUTE_USED)).then(pl.col("target")),
    )


def vq_stays(hist: pl.DataFrame, vq_dns: pl.DataFrame) -> pl.DataFrame:
    """One row per virtual-queue party. `vq_dns`: app, dn of virtual queues (configuration type
    VirtACDQueue, or DNs whose EventQueued carries the router's `VQID` extension)."""
    parties = hist.join(vq_dns, on=["app", "dn"], how="semi")
    stays = _stays(parties, pl.lit(True))
    ended_by = pl.col("end_event")
    return stays.with_columns(
        result=pl.when(pl.col("terminated").is_null()).then(None)
        .when(ended_by == int(CCEvent.EVENT_DIVERTED)).then(int(VqResult.DISTRIBUTED))
        .when(ended_by == int(CCEvent.EVENT_ABANDONED)).then(int(VqResult.ABANDONED))
        .otherwise(int(VqResult.CLEARED)).cast(pl.Int32),
        target=pl.when(ended_by == int(CCEvent.EVENT_DIVERTED)).then(pl.col("target")),
    )
