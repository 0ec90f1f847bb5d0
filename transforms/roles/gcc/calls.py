"""Calls and interaction records: G_CALL, G_CALL_HISTORY, G_IR, G_IR_HISTORY (+ the *_ACTIVE
copies), from the call events, the call relations and the party history."""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import (
    CallHistoryChange,
    CallState,
    IrHistoryChange,
    IrState,
    MediaType,
)

# sub-order of call records among the party records of the same event
SUB_CREATED, SUB_TRFAILED, SUB_MERGED, SUB_TERMINATED = -10, 5, 6, 10


def call_ends(ev: pl.DataFrame) -> pl.DataFrame:
    """Calls ended by the T-Server's EventCallDeleted."""
    return (ev.filter(pl.col("message") == "EventCallDeleted").sort("ord")
            .group_by("call", maintain_order=True)
            .agg(end_ts=pl.col("ts").first(), end_ord=pl.col("ord").first(),
                 end_src=pl.col("src").first(), end_dss_id=pl.col("dss_id").first(),
                 ctrl_party=pl.col("ctrl_party").first(), deleted=pl.lit(True),
                 closed_by=pl.lit(None, dtype=pl.String)))


def call_facts(ev: pl.DataFrame, relations: pl.DataFrame, ends: pl.DataFrame) -> pl.DataFrame:
    """One row per call with what G_CALL needs (before ids and time columns)."""
    facts = ev.sort("ord").group_by("call", maintain_order=True).agg(
        app=pl.col("app").first(), switch_id=pl.col("switch_id").first(),
        tenant_id=pl.col("tenant_id").first(), group=pl.col("group").first(),
        created_ts=pl.col("ts").first(), created_ord=pl.col("ord").first(),
        created_src=pl.col("src").first(), created_dss=pl.col("dss_id").first(),
        last_ts=pl.col("ts").last(), last_src=pl.col("src").last(),
        conn_id=pl.coalesce(
            pl.col("conn_id").filter(pl.col("message") == "EventCallCreated").first(),
            pl.col("conn_id").drop_nulls().first()),
        switch_call_id=pl.col("call_id").drop_nulls().first(),
        call_type=pl.col("call_type").drop_nulls().first(),
        ani=pl.col("ani").drop_nulls().first(), dnis=pl.col("dnis").drop_nulls().first(),
        media_type=pl.col("media_type").drop_nulls().first(),
    )
    return (facts.join(relations.drop("app"), on="call", how="left")
            .join(ends, on="call", how="left"))


def call_history(facts: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """Records of G_CALL_HISTORY before numbering: created, transfer failed, merged, terminated
    (a call that disappears by a merge ends with REFID = the surviving call)."""
    created = facts.select("call", ord="created_ord", sub=pl.lit(SUB_CREATED), ts="created_ts",
                           src="created_src", dss_id="created_dss",
                           change=pl.lit(int(CallHistoryChange.CALL_CREATED)),
                           ref=pl.lit(None, dtype=pl.String))
    failed = failures.join(facts.select("call"), on="call", how="semi").select(
        "call", "ord", sub=pl.lit(SUB_TRFAILED), ts="ts", src="src", dss_id="dss_id",
        change=pl.lit(int(CallHistoryChange.CALL_TRFAILED)), ref=pl.lit(None, dtype=pl.String))
    merged_calls = facts.filter(pl.col("merge_call").is_not_null())
    merged = merged_calls.select("call", ord="merge_ord", sub=pl.lit(SUB_MERGED), ts="merge_ts",
                                 src="last_src", dss_id="created_dss",
                                 change=pl.lit(int(CallHistoryChange.CALL_MERGED)),
                                 ref=pl.col("merge_call"))
    ended = facts.filter(pl.col("end_ts").is_not_null()).select(
        "call", ord="end_ord", sub=pl.lit(SUB_TERMINATED), ts="end_ts", src="end_src",
        dss_id="end_dss_id", change=pl.lit(int(CallHistoryChange.CALL_TERMINATED)),
        ref=pl.col("merge_call"))
    parts = [created, failed, merged, ended]
    return pl.concat([p.with_columns(pl.col("sub").cast(pl.Int32), pl.col("change").cast(pl.Int32),
                                     pl.col("ord").cast(pl.UInt32))
                      for p in parts], how="vertical_relaxed")


def number_cseq(party_hist: pl.DataFrame, call_hist: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CSEQ: one sequence per call over its call records and every party change."""
    keys = pl.concat([
        party_hist.select("call", "ord", "sub", _k=pl.lit("p"), _id=pl.col("party_id"),
                          _n=pl.col("pseq")),
        call_hist.select("call", "ord", "sub", _k=pl.lit("c"), _id=pl.lit(None, dtype=pl.String),
                         _n=pl.col("change")),
    ], how="vertical_relaxed").sort("call", "ord", "sub", "_k", "_id", "_n")
    keys = keys.with_columns(cseq=pl.int_range(1, pl.len() + 1).over("call").cast(pl.Int32))
    p = party_hist.join(keys.filter(pl.col("_k") == "p").select("call", "ord", "sub", party_id="_id",
                                                                pseq="_n", cseq="cseq"),
                        on=["call", "ord", "sub", "party_id", "pseq"], how="left")
    c = call_hist.join(keys.filter(pl.col("_k") == "c").select("call", "ord", "sub", change="_n",
                                                               cseq="cseq"),
                       on=["call", "ord", "sub", "change"], how="left")
    return p, c


def ir_records(facts: pl.DataFrame, cross_site: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One interaction record per call (IRID `IR<CallID>`); a merge (transfer/conference
    completion) or an inter-site link makes the merged call's IR a child of the other's
    (PARENTIRID) with an ir_merged record. `cross_site`: call, parent_call, ts, ord, src."""
    irs = facts.select(
        "call", "group", "switch_id", "created_ts", "created_ord", "created_src", "created_dss",
        "end_ts", "end_ord", "end_src", "end_dss_id", "last_ts", "last_src", "media_type",
        irid=pl.concat_str([pl.lit("IR"), pl.col("call")]))
    local = facts.filter(pl.col("merge_call").is_not_null()).select(
        "call", parent_call="merge_call", merge_ts="merge_ts", merge_ord="merge_ord",
        merge_src="last_src")
    remote = cross_site.select("call", "parent_call", merge_ts="ts", merge_ord="ord",
                               merge_src="src")
    merges = pl.concat([local, remote]).sort("merge_ord").unique("call", keep="first")
    irs = irs.join(merges, on="call", how="left").with_columns(
        parent_irid=pl.when(pl.col("parent_call").is_not_null())
        .then(pl.concat_str([pl.lit("IR"), pl.col("parent_call")])))
    history = pl.concat([
        irs.select("call", "irid", ts="created_ts", ord="created_ord", src="created_src",
                   dss_id="created_dss", change=pl.lit(int(IrHistoryChange.IR_CREATED))),
        irs.filter(pl.col("parent_irid").is_not_null()).select(
            "call", "irid", ts="merge_ts", ord="merge_ord", src="merge_src", dss_id="created_dss",
            change=pl.lit(int(IrHistoryChange.IR_MERGED))),
        irs.filter(pl.col("end_ts").is_not_null()).select(
            "call", "irid", ts="end_ts", ord="end_ord", src="end_src", dss_id="end_dss_id",
            change=pl.lit(int(IrHistoryChange.IR_TERMINATED))),
    ], how="vertical_relaxed")
    return irs, history


def state_of(ended: pl.Expr) -> pl.Expr:
    return pl.when(ended).then(int(CallState.TERMINATED)).otherwise(int(CallState.ACTIVE))


def ir_state_of(ended: pl.Expr) -> pl.Expr:
    return pl.when(ended).then(int(IrState.TERMINATED)).otherwise(int(IrState.ACTIVE))


def media(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null(int(MediaType.VOICE))
