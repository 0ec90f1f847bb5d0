"""Transfers and diversions as the call model sees them, under ICON's `[gts]` switch-behaviour
options (docs/semantics.md §3 "Parents", §5, "Options that change the call model").

* `transfers`: every EventReleased with CallState Transferred, classified as part of a two-step
  transfer or as a single-step transfer, and whether a single-step transfer is *recognised*
  (`sst-options`) and which party it reached.
* `ring_divert_parents`: the distributed parent a party gets from the EventDiverted /
  EventRouteUsed that named its DN as ThirdPartyDN (`ring-divert = 1`).

Both read only the party history of the window's call groups (whole frames, no per-call loops),
so a call's result depends only on its own group, as everywhere in the call model.
"""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import CCEvent, DnType, PartyHistoryChange, TCallState

CREATED = int(PartyHistoryChange.PARTY_CREATED)
TERMINATED = int(PartyHistoryChange.PARTY_TERMINATED)
# sst-options = 0: the events that complete the recognition of a single-step transfer
SST_MATCHING = [int(CCEvent.EVENT_RINGING), int(CCEvent.EVENT_QUEUED)]
DIVERSIONS = [int(CCEvent.EVENT_DIVERTED), int(CCEvent.EVENT_ROUTE_USED)]

TRANSFER_SCHEMA = {"call": pl.String, "ord": pl.UInt32, "party_id": pl.String, "dn": pl.String,
                   "third_dn": pl.String, "two_step": pl.Boolean, "recognised": pl.Boolean,
                   "reached": pl.String}


def _created(hist: pl.DataFrame) -> pl.DataFrame:
    """Party instances: call, dn, party_id, creation order and event, end order (or null)."""
    ends = hist.filter(pl.col("change") == TERMINATED).select("party_id", _end=pl.col("ord"))
    return (hist.filter(pl.col("change") == CREATED)
            .select("call", "dn", "party_id", "internal", _c=pl.col("ord"), _cc=pl.col("cc_event"))
            .join(ends, on="party_id", how="left")
            .sort("_c"))


def transfers(hist: pl.DataFrame, relations: pl.DataFrame, sst_options: int = 0) -> pl.DataFrame:
    """One row per transferring party's EventReleased (CallState Transferred): `two_step` when
    the releasing DN took part in a consultation call of this call that is merged into it or
    still going on at the release (the completion of a two-step or mute transfer); otherwise a
    single-step transfer, `recognised` per `sst-options`:

    * 0: the EventReleased names ThirdPartyDN X and the next party created for X in the same call
      after it was created by EventRinging or EventQueued;
    * 1: the EventReleased alone.

    `reached`: the party of X a recognised single-step transfer reached (the next party created
    for X in the call after the release, null when there is none)."""
    released = hist.filter((pl.col("change") == TERMINATED)
                           & (pl.col("cc_event") == int(CCEvent.EVENT_RELEASED))
                           & (pl.col("cause") == int(TCallState.TRANSFERRED)))
    released = released.select("call", "ord", "party_id", "dn", "third_dn").sort("ord")
    if released.height == 0:
        return pl.DataFrame(schema=TRANSFER_SCHEMA)

    # two-step: the releasing DN is in a consultation call of this call (before the release) that
    # is merged into this call or still has party activity after the release
    consults = relations.filter(pl.col("parent_call").is_not_null()).select(
        _consult="call", call="parent_call", _merge="merge_call")
    consult_last = hist.group_by("call").agg(_last=pl.col("ord").max()).rename({"call": "_consult"})
    in_consult = hist.group_by("call", "dn").agg(_first=pl.col("ord").min()).rename(
        {"call": "_consult"})
    two_step = (released.select("call", "ord", "dn")
                .join(consults, on="call", how="inner")
                .join(in_consult, on=["_consult", "dn"], how="inner")
                .join(consult_last, on="_consult", how="left")
                .filter((pl.col("_first") < pl.col("ord"))
                        & ((pl.col("_merge") == pl.col("call")) | (pl.col("_last") > pl.col("ord"))))
                .select("call", "ord", "dn").unique().with_columns(two_step=pl.lit(True)))

    # the next party created for ThirdPartyDN in the same call after the release
    created = _created(hist).select("call", "dn", _c="_c", _cc="_cc", reached="party_id")
    nxt = released.join_asof(created, left_on="ord", right_on="_c", by_left=["call", "third_dn"],
                             by_right=["call", "dn"], strategy="forward",
                             allow_exact_matches=False, check_sortedness=False)
    out = (nxt.join(two_step, on=["call", "ord", "dn"], how="left")
           .with_columns(two_step=pl.col("two_step").fill_null(False)))
    matched = (pl.col("third_dn").is_not_null() & pl.col("reached").is_not_null()
               & pl.col("_cc").is_in(SST_MATCHING))
    single = ~pl.col("two_step")
    recognised = pl.col("two_step") | (pl.lit(True) if sst_options == 1 else matched)
    return out.with_columns(recognised=recognised.fill_null(False)).with_columns(
        reached=pl.when(single & pl.col("recognised") & pl.col("third_dn").is_not_null())
        .then(pl.col("reached")),
    ).select(list(TRANSFER_SCHEMA))


def transfer_parents(recognised: pl.DataFrame) -> pl.DataFrame:
    """party_id (reached by a recognised single-step transfer) -> parent (the transferring
    party)."""
    return (recognised.filter(pl.col("reached").is_not_null())
            .sort("ord").unique("reached", keep="first", maintain_order=True)
            .select(party_id="reached", parent="party_id"))


def ring_divert_parents(hist: pl.DataFrame) -> pl.DataFrame:
    """`ring-divert = 1`: party_id -> parent, for a party created by EventRinging (or an External
    party) whose DN an EventDiverted / EventRouteUsed of the same call named as ThirdPartyDN.

    A diversion belongs to the instance of the named DN that is open when it happens (EventRinging
    before EventDiverted), else to the next one created after it (the usual order). When several
    diversions name the same party, a DN that is not a virtual queue wins (the routing point or
    ACD queue the call really left; a VQ's EventDiverted only reports URS's distribution), then
    the diversion nearest to the party's creation in event order."""
    diverted = hist.filter((pl.col("change") == TERMINATED) & pl.col("cc_event").is_in(DIVERSIONS)
                           & pl.col("third_dn").is_not_null()).select(
        "call", third_dn="third_dn", _d=pl.col("ord"), _from=pl.col("party_id"),
        _vq=(pl.col("endpoint_type") == int(DnType.VIRT_ACD_QUEUE)).fill_null(False)).sort("_d")
    inst = _created(hist)
    if diverted.height == 0 or inst.height == 0:
        return pl.DataFrame(schema={"party_id": pl.String, "parent": pl.String})
    right = inst.select("call", "dn", "_c", "_end", _p="party_id")
    back = diverted.join_asof(right, left_on="_d", right_on="_c", by_left=["call", "third_dn"],
                              by_right=["call", "dn"], strategy="backward", check_sortedness=False)
    open_at = pl.col("_p").is_not_null() & (pl.col("_end").is_null() | (pl.col("_end") > pl.col("_d")))
    back = back.select("call", "third_dn", "_d", "_from", "_vq",
                       _open=pl.when(open_at).then(pl.col("_p")))
    fwd = diverted.join_asof(right.select("call", "dn", "_c", _next="_p"), left_on="_d",
                             right_on="_c", by_left=["call", "third_dn"], by_right=["call", "dn"],
                             strategy="forward", check_sortedness=False)
    pairs = back.join(fwd.select("call", "_d", "third_dn", "_next"), on=["call", "_d", "third_dn"],
                      how="left").select("_d", "_from", "_vq",
                                         party_id=pl.coalesce("_open", "_next"))
    targets = inst.filter((pl.col("_cc") == int(CCEvent.EVENT_RINGING)) | ~pl.col("internal")) \
        .select("party_id", "_c")
    return (pairs.join(targets, on="party_id", how="inner")
            .filter(pl.col("_from") != pl.col("party_id"))
            .with_columns(_dist=(pl.col("_d").cast(pl.Int64) - pl.col("_c").cast(pl.Int64)).abs())
            .sort("party_id", "_vq", "_dist", "_d")
            .unique("party_id", keep="first", maintain_order=True)
            .select("party_id", parent="_from"))
