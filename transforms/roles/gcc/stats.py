"""G_PARTY_STAT and G_CALL_STAT: summaries written when a party / a call is complete
(docs/semantics.md §5)."""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import CCEvent, DnType, PartyHistoryChange, PartyState, TCallState

US = 1_000_000


def party_stats(hist: pl.DataFrame) -> pl.DataFrame:
    """Time in each state, whole seconds summed over the party's intervals, for ended parties."""
    h = hist.sort("party_id", "pseq").with_columns(
        _next=pl.col("ts").shift(-1).over("party_id"))
    h = h.with_columns(_dur=(pl.col("_next") - pl.col("ts")).dt.total_microseconds().fill_null(0))

    def total(state: PartyState) -> pl.Expr:
        return (pl.col("_dur").filter(pl.col("state") == int(state)).sum() // US).cast(pl.Int32)

    ended = h.filter(pl.col("change") == int(PartyHistoryChange.PARTY_TERMINATED)).select(
        "party_id", "releasing_party")
    return (h.group_by("party_id").agg(
        call=pl.col("call").first(),
        tt_alerting=total(PartyState.ALERTING), tt_connected=total(PartyState.CONNECTED),
        tt_hold=total(PartyState.HOLD), tt_queued=total(PartyState.QUEUED),
        created=pl.col("ts").first(), terminated=pl.col("ts").last(),
        src=pl.col("src").first(), src_last=pl.col("src").last(),
        dss_id=pl.col("dss_id").first())
        .join(ended, on="party_id", how="inner"))


def call_stats(hist: pl.DataFrame, ev: pl.DataFrame, facts: pl.DataFrame,
               transfers: pl.DataFrame) -> pl.DataFrame:
    """Flags and counters of ended calls, and who released them: GSYS_EXT_VCH1 = the raw
    AttributeCtrlParty of EventCallDeleted ('' when absent), GSYS_EXT_VCH2 = the PartyID of the
    party on that DN when there is one. `transfers` (transfers.transfers): CNT_TRANSFER counts
    the recognised ones (two-step, or single-step as `sst-options` recognises them)."""
    internal = pl.col("internal")
    extension = pl.col("endpoint_type").is_in([int(DnType.EXTENSION), int(DnType.ACD_POSITION)])
    established = (pl.col("state") == int(PartyState.CONNECTED)) & \
        (pl.col("cc_event") == int(CCEvent.EVENT_ESTABLISHED))
    per_call = hist.group_by("call").agg(
        f_conn=established.any().cast(pl.Int16),
        f_conn_extn=(established & internal & extension).any().cast(pl.Int16),
        cnt_hold=(internal & (pl.col("state") == int(PartyState.HOLD))
                  & (pl.col("cc_event") == int(CCEvent.EVENT_HELD))).sum().cast(pl.Int32),
        cnt_divert=(internal & (pl.col("change") == int(PartyHistoryChange.PARTY_TERMINATED))
                    & (pl.col("cc_event") == int(CCEvent.EVENT_DIVERTED))).sum().cast(pl.Int32),
        cnt_parties=pl.col("party_id").n_unique().cast(pl.Int32),
    )
    releases = ev.filter(pl.col("message") == "EventReleased").group_by("call").agg(
        _conferences=(pl.col("call_state") == int(TCallState.CONFERENCED)).sum())
    recognised = transfers.filter(pl.col("recognised")).group_by("call").agg(_transfers=pl.len())
    abandoned = ev.filter(pl.col("message") == "EventAbandoned").select("call").unique() \
        .with_columns(_abnd=pl.lit(1, dtype=pl.Int16))
    done = facts.filter(pl.col("end_ts").is_not_null())
    # the releasing party: the last party of the call on the DN named by CtrlParty
    on_dn = hist.sort("ord").group_by("call", "dn").agg(_rel_party=pl.col("party_id").last())
    out = (done.select("call", "created_ts", "end_ts", "ctrl_party", "merge_call", "created_src",
                       "end_src", "created_dss")
           .join(per_call, on="call", how="left").join(releases, on="call", how="left")
           .join(recognised, on="call", how="left")
           .join(abandoned, on="call", how="left")
           .join(on_dn, left_on=["call", "ctrl_party"], right_on=["call", "dn"], how="left"))
    # a consultation call that disappears into its parent reports no transfer of its own
    merged = pl.col("merge_call").is_not_null()
    return out.with_columns(
        f_te_abnd=pl.col("_abnd").fill_null(0),
        cnt_transfer=pl.when(merged).then(0).otherwise(pl.col("_transfers").fill_null(0)).cast(pl.Int32),
        cnt_conference=pl.when(merged).then(0).otherwise(pl.col("_conferences").fill_null(0)).cast(pl.Int32),
        vch1=pl.col("ctrl_party").fill_null(""),
        vch2=pl.col("_rel_party"),
    )
