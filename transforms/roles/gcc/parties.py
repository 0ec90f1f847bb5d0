"""Parties: every call x endpoint association, and every change of its state.

The events become *party actions* (docs/semantics.md, "Party state machine"): what an event does
to the party of its ThisDN, and to an External party named by OtherDN. Actions are then numbered
with window functions only:

* a party *instance* starts at the first action for a (call, DN) and after each termination, so a
  DN that leaves a call and comes back is a new party;
* PSEQ counts changes within a party, CSEQ changes within the call (with the call's own records);
* a transfer/conference completion (EventPartyChanged) ends the party in the consultation call
  and starts one in the surviving call with a new PARTYID and the same PARTYGUID.
"""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import (
    CCEvent,
    DnType,
    ParentLinkType,
    PartyHistoryChange,
    PartyRole,
    PartyState,
    PartyType,
    TCallState,
)
from transforms.roles.gcc import transfers

ACT_UPDATE, ACT_TERMINATE, ACT_MOVE_IN, ACT_MOVE_OUT = "update", "terminate", "move_in", "move_out"

THIS_DN_STATE = {
    "EventRinging": PartyState.ALERTING, "EventDialing": PartyState.CONNECTED,
    "EventEstablished": PartyState.CONNECTED, "EventHeld": PartyState.HOLD,
    "EventRetrieved": PartyState.CONNECTED, "EventQueued": PartyState.QUEUED,
    "EventRouteRequest": PartyState.ROUTING,
}
THIS_DN_TERMINATES = ["EventDiverted", "EventRouteUsed", "EventAbandoned", "EventReleased"]
QUEUE_TYPES = [int(DnType.ACD_QUEUE), int(DnType.VIRT_ACD_QUEUE)]
RP_TYPES = [int(DnType.ROUTING_POINT), int(DnType.VIRT_ROUTING_POINT), int(DnType.EXT_ROUTING_POINT)]

ACTION_COLUMNS = ["call", "group", "app", "switch_id", "tenant_id", "dn", "ord", "sub", "ts", "act",
                  "state", "cc_event", "cause", "role", "via_queue", "agent_login",
                  "releasing_party", "lt_home", "lt_orig", "src", "dss_id", "merge_cause",
                  "third_dn", "reference_id", "_ext"]


def _cc_event(message: pl.Expr) -> pl.Expr:
    codes = {m.name: int(m) for m in CCEvent}
    names = {"".join(w.capitalize() for w in k.split("_")): v for k, v in codes.items()}
    return message.replace_strict(names, default=None, return_dtype=pl.Int32)


def actions(ev: pl.DataFrame, endpoints: pl.DataFrame, delivered_flag: int = 0) -> pl.DataFrame:
    """Party actions of the window's call events (`ev` carries `group`)."""
    common = [pl.col("call"), pl.col("group"), pl.col("app"), pl.col("switch_id"),
              pl.col("tenant_id"), pl.col("ord"), pl.col("ts"), pl.col("src"), pl.col("dss_id")]
    cc = _cc_event(pl.col("message"))

    # -- the ThisDN party ------------------------------------------------------------------
    state_of = {k: int(v) for k, v in THIS_DN_STATE.items()}
    this_dn = ev.filter(pl.col("this_dn").is_not_null()
                        & (pl.col("message").is_in(list(THIS_DN_STATE) + THIS_DN_TERMINATES)))
    this_rows = this_dn.select(
        *common, dn=pl.col("this_dn"), sub=pl.lit(0, dtype=pl.Int32),
        act=pl.when(pl.col("message").is_in(THIS_DN_TERMINATES)).then(pl.lit(ACT_TERMINATE))
        .otherwise(pl.lit(ACT_UPDATE)),
        state=pl.col("message").replace_strict(state_of, default=int(PartyState.NULL),
                                               return_dtype=pl.Int32),
        cc_event=cc, cause=pl.col("call_state").cast(pl.Int32),
        role=pl.col("this_dn_role").cast(pl.Int32).fill_null(
            pl.when(pl.col("message") == "EventDialing").then(int(PartyRole.ORIGINATION))
            .otherwise(int(PartyRole.DESTINATION))),
        via_queue=pl.when((pl.col("message") == "EventRinging")
                          & (pl.col("this_queue") != pl.col("this_dn"))).then(pl.col("this_queue")),
        agent_login=pl.col("agent_id"), releasing_party=pl.col("releasing_party"),
        lt_home=pl.col("last_transfer_home_location"), lt_orig=pl.col("last_transfer_orig_dn"),
        merge_cause=pl.lit(None, dtype=pl.Int32), third_dn=pl.col("third_party_dn"),
        reference_id=pl.col("reference_id"), _ext=pl.lit(False),
    )

    # -- moves: EventPartyChanged ends the party in the consultation call, starts one here ------
    owners = (ev.filter(pl.col("conn_id").is_not_null() & pl.col("call_uuid").is_not_null())
              .group_by("app", "conn_id").agg(_from=pl.col("call").first()))
    changed = (ev.filter((pl.col("message") == "EventPartyChanged") & pl.col("this_dn").is_not_null())
               .join(owners, left_on=["app", "previous_conn_id"], right_on=["app", "conn_id"],
                     how="left")
               .filter(pl.col("_from").is_not_null() & (pl.col("_from") != pl.col("call"))))
    move_common = dict(dn=pl.col("this_dn"), cc_event=cc, cause=pl.col("call_state").cast(pl.Int32),
                       role=pl.col("this_dn_role").cast(pl.Int32).fill_null(int(PartyRole.DESTINATION)),
                       via_queue=pl.lit(None, dtype=pl.String), agent_login=pl.col("agent_id"),
                       releasing_party=pl.lit(None, dtype=pl.Int32),
                       lt_home=pl.col("last_transfer_home_location"),
                       lt_orig=pl.col("last_transfer_orig_dn"),
                       merge_cause=pl.col("call_state").cast(pl.Int32),
                       third_dn=pl.col("third_party_dn"), reference_id=pl.col("reference_id"),
                       _ext=pl.lit(False))
    group_of = ev.select("call", "group").unique()
    move_out = changed.select(
        pl.col("_from").alias("call"), *[c for c in common if c.meta.output_name() != "call"],
        sub=pl.lit(0, dtype=pl.Int32), act=pl.lit(ACT_MOVE_OUT),
        state=pl.lit(int(PartyState.NULL), dtype=pl.Int32), **move_common)
    move_in = changed.select(
        *common, sub=pl.lit(1, dtype=pl.Int32), act=pl.lit(ACT_MOVE_IN),
        state=pl.lit(None, dtype=pl.Int32), **move_common)

    # -- External parties named by OtherDN --------------------------------------------------
    ext = _external_actions(ev, common, cc, delivered_flag)
    rows = pl.concat([r.select(ACTION_COLUMNS) for r in (this_rows, move_out, move_in, ext)],
                     how="vertical_relaxed").with_columns(closed_by=pl.lit(None, dtype=pl.String))
    # a moved-out party belongs to the consultation call's group (the same group by construction)
    rows = rows.drop("group").join(group_of, on="call", how="left")
    monitored = (ev.filter(pl.col("this_dn").is_not_null())
                 .select("group", "app", dn="this_dn").unique().with_columns(_mon=pl.lit(True)))
    configured = endpoints.select("switch_id", "dn", "endpoint_id", "endpoint_type")
    rows = (rows.join(monitored, on=["group", "app", "dn"], how="left")
                .join(configured, on=["switch_id", "dn"], how="left")
                .with_columns(internal=pl.col("_mon").fill_null(False) | pl.col("endpoint_id").is_not_null())
                .drop("_mon"))
    # OtherDN-derived rows only stand for parties that nobody else reports
    return rows.filter(~(pl.col("_ext") & pl.col("internal"))).drop("_ext").sort("call", "dn", "ord", "sub")


def _external_actions(ev: pl.DataFrame, common: list[pl.Expr], cc: pl.Expr,
                      delivered_flag: int) -> pl.DataFrame:
    """Parties that get no events of their own: the customer of an inbound call (from OtherDN with
    role Origination, else ANI), the far end of a dialled call, a party added to or deleted from a
    conference without being monitored."""
    base = dict(cause=pl.col("call_state").cast(pl.Int32), via_queue=pl.lit(None, dtype=pl.String),
                agent_login=pl.lit(None, dtype=pl.String), releasing_party=pl.lit(None, dtype=pl.Int32),
                lt_home=pl.lit(None, dtype=pl.String), lt_orig=pl.lit(None, dtype=pl.String),
                merge_cause=pl.lit(None, dtype=pl.Int32), third_dn=pl.lit(None, dtype=pl.String),
                reference_id=pl.lit(None, dtype=pl.Int64), _ext=pl.lit(True))
    parts = []
    # the caller of an inbound call joins at the call's first event, connected
    first = ev.sort("ord").group_by("call", maintain_order=True).agg(
        _first=pl.col("ord").first(),
        _caller=pl.coalesce(pl.col("other_dn").filter(pl.col("other_dn_role") == int(PartyRole.ORIGINATION)).first(),
                            pl.col("ani").drop_nulls().first()),
        _inbound=(pl.col("call_type") == 2).any())
    callers = (ev.join(first, left_on=["call", "ord"], right_on=["call", "_first"])
               .filter(pl.col("_inbound") & pl.col("_caller").is_not_null()))
    parts.append(callers.select(*common, dn=pl.col("_caller"), sub=pl.lit(-1, dtype=pl.Int32),
                                act=pl.lit(ACT_UPDATE), state=pl.lit(int(PartyState.CONNECTED)),
                                cc_event=cc, role=pl.lit(int(PartyRole.ORIGINATION)), **base))
    other = ev.filter(pl.col("other_dn").is_not_null())
    dial_msg = "EventDialing" if delivered_flag == 0 else "EventNetworkReached"
    rules = [  # (message, new state or terminate, role)
        (dial_msg, PartyState.ALERTING, PartyRole.DESTINATION),
        ("EventNetworkReached", PartyState.ALERTING, PartyRole.DESTINATION),
        ("EventEstablished", PartyState.CONNECTED, PartyRole.DESTINATION),
        ("EventDestinationBusy", PartyState.FAIL, PartyRole.DESTINATION),
        ("EventPartyAdded", PartyState.CONNECTED, PartyRole.NEW_PARTY),
        ("EventPartyDeleted", None, PartyRole.DELETED_PARTY),
    ]
    for message, state, role in rules:
        rows = other.filter(pl.col("message") == message)
        if message == "EventEstablished":  # only parties already seen as a dialled far end
            rows = rows.filter(pl.col("call_type").is_in([1, 3, 4]))
        parts.append(rows.select(
            *common, dn=pl.col("other_dn"), sub=pl.lit(2, dtype=pl.Int32),
            act=pl.lit(ACT_TERMINATE if state is None else ACT_UPDATE),
            state=pl.lit(int(state if state is not None else PartyState.NULL)),
            cc_event=cc, role=pl.lit(int(role)), **base))
    return pl.concat([p.with_columns(pl.col("state").cast(pl.Int32), pl.col("role").cast(pl.Int32))
                      for p in parts], how="vertical_relaxed")


def close_at_call_end(rows: pl.DataFrame, call_ends: pl.DataFrame) -> pl.DataFrame:
    """Parties still open when their call ends (EventCallDeleted, or the fallback end) end with it;
    `call_ends`: call, end_ts, end_ord, end_src, end_dss_id."""
    last = rows.sort("ord", "sub").group_by("call", "dn", maintain_order=True).agg(
        pl.all().last())
    open_ = last.filter(~pl.col("act").is_in([ACT_TERMINATE, ACT_MOVE_OUT]))
    ends = call_ends.rename({"closed_by": "_rule"}) if "closed_by" in call_ends.columns \
        else call_ends.with_columns(_rule=pl.lit(None, dtype=pl.String))
    closing = open_.join(ends, on="call", how="inner").filter(pl.col("end_ord") >= pl.col("ord"))
    closing = closing.with_columns(
        ord=pl.col("end_ord"), sub=pl.lit(9, dtype=pl.Int32), ts=pl.col("end_ts"),
        act=pl.lit(ACT_TERMINATE), state=pl.lit(int(PartyState.NULL), dtype=pl.Int32),
        cc_event=pl.lit(int(CCEvent.EVENT_CALL_DELETED), dtype=pl.Int32),
        cause=pl.lit(None, dtype=pl.Int32), src=pl.col("end_src"), dss_id=pl.col("end_dss_id"),
        releasing_party=pl.lit(None, dtype=pl.Int32), via_queue=pl.lit(None, dtype=pl.String),
        third_dn=pl.lit(None, dtype=pl.String), reference_id=pl.lit(None, dtype=pl.Int64),
        closed_by=pl.coalesce(pl.col("_rule"), pl.lit("call_deleted")),
    ).select(rows.columns)
    return pl.concat([rows, closing]).sort("call", "dn", "ord", "sub")


def history(rows: pl.DataFrame) -> pl.DataFrame:
    """Number the actions into party history rows (before CSEQ): party key, PSEQ, state,
    previous state, change type; drops actions that change nothing."""
    terminal = pl.col("act").is_in([ACT_TERMINATE, ACT_MOVE_OUT])
    rows = rows.with_columns(_term=terminal)
    prev_term = pl.col("_term").shift(1).over("call", "dn")
    rows = rows.with_columns(_create=prev_term.is_null() | prev_term.fill_null(False))
    rows = rows.with_columns(instance=pl.col("_create").cast(pl.Int32).cum_sum().over("call", "dn"))
    # created-and-ended by one event (e.g. EventAbandoned of a party never seen ringing): record the
    # creation in the state the event implies, then the end
    both = rows.filter(pl.col("_create") & pl.col("_term"))
    implied = (pl.when(pl.col("endpoint_type").is_in(QUEUE_TYPES)).then(int(PartyState.QUEUED))
               .when(pl.col("endpoint_type").is_in(RP_TYPES)).then(int(PartyState.ROUTING))
               .when(pl.col("cc_event") == int(CCEvent.EVENT_ABANDONED)).then(int(PartyState.ALERTING))
               .when(pl.col("cc_event") == int(CCEvent.EVENT_DIVERTED)).then(int(PartyState.QUEUED))
               .when(pl.col("cc_event") == int(CCEvent.EVENT_ROUTE_USED)).then(int(PartyState.ROUTING))
               .otherwise(int(PartyState.CONNECTED)))
    opening = both.with_columns(_term=pl.lit(False), act=pl.lit(ACT_UPDATE), sub=pl.col("sub") - 1,
                                state=implied.cast(pl.Int32))
    rows = pl.concat([rows.with_columns(_create=pl.col("_create") & ~pl.col("_term")),
                      opening.with_columns(_create=pl.lit(True))]).sort("call", "dn", "ord", "sub")
    # a party moving in keeps the state it had in the consultation call (its state just before
    # the move-out row of the same event)
    rows = rows.with_columns(_before=pl.col("state").shift(1).over("call", "dn", "instance"))
    moved_state = (rows.filter(pl.col("act") == ACT_MOVE_OUT)
                   .select("ord", "dn", _moved=pl.col("_before")).unique(["ord", "dn"]))
    rows = (rows.join(moved_state, on=["ord", "dn"], how="left")
            .with_columns(state=pl.when(pl.col("act") == ACT_MOVE_IN)
                          .then(pl.coalesce("_moved", pl.lit(int(PartyState.CONNECTED))))
                          .otherwise(pl.col("state")).cast(pl.Int32))
            .drop("_moved", "_before")
            .sort("call", "dn", "ord", "sub"))
    rows = rows.with_columns(_prev=pl.col("state").shift(1).over("call", "dn", "instance"))
    noop = ~pl.col("_create") & ~pl.col("_term") & (pl.col("state") == pl.col("_prev"))
    rows = rows.filter(~noop).with_columns(
        prev_state=pl.col("state").shift(1).over("call", "dn", "instance"),
        change=pl.when(pl.col("_create")).then(int(PartyHistoryChange.PARTY_CREATED))
        .when(pl.col("_term")).then(int(PartyHistoryChange.PARTY_TERMINATED))
        .otherwise(int(PartyHistoryChange.PARTY_STATECHANGED)).cast(pl.Int32),
    )
    rows = rows.with_columns(pseq=pl.int_range(1, pl.len() + 1).over("call", "dn", "instance"))
    return _identify(rows)


def _identify(rows: pl.DataFrame) -> pl.DataFrame:
    """PARTYID = `<CallID>.<n>`, n the party's rank of creation in its call."""
    created = (rows.filter(pl.col("change") == int(PartyHistoryChange.PARTY_CREATED))
               .sort("call", "ord", "sub", "dn")
               .with_columns(_n=pl.int_range(1, pl.len() + 1).over("call"))
               .select("call", "dn", "instance",
                       party_id=pl.concat_str([pl.col("call"), pl.col("_n").cast(pl.String)],
                                              separator=".")))
    return rows.join(created, on=["call", "dn", "instance"], how="left")


def parents(hist: pl.DataFrame, relations: pl.DataFrame, lookup_queue_on_ringing: int = 1,
            ring_divert: int = 0, single_step: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per party: PARTYGUID, PARENTPARTYID, PARENTLINKTYPE. In order of precedence (the first
    rule that gives a party a parent wins; docs/semantics.md §3 "Parents"):

    1. moved in by a transfer/conference: parent = the party it was in the consultation call,
       link transferred/conferenced, same PARTYGUID;
    2. reached by a recognised single-step transfer (`single_step`: party_id -> parent, from
       `transfers.transfer_parents`): parent = the transferring party, link transferred;
    3. `lookup_queue_on_ringing = 1`: reached through a queue, routing point or VQ named by
       EventRinging's ThisQueue: parent = that DN's party, link distributed;
    4. `ring_divert = 1`: a ringing (or External) party whose DN an EventDiverted /
       EventRouteUsed of the same call named as ThirdPartyDN, before or after the ringing:
       parent = the diverting party, link distributed;
    5. the consultation leg of a party (its EventDialing in a consultation call): parent = its
       party in the primary call, link consultation."""
    first = hist.filter(pl.col("change") == int(PartyHistoryChange.PARTY_CREATED)).select(
        "party_id", "call", "dn", "ord", "sub", "act", "via_queue", "cc_event", "merge_cause")
    # moves: pair each move-in with the move-out of the same event and DN
    outs = hist.filter(pl.col("act") == ACT_MOVE_OUT).select("ord", "dn", _from="party_id")
    moved = first.filter(pl.col("act") == ACT_MOVE_IN).join(outs, on=["ord", "dn"], how="left")
    moved = moved.select("party_id", parent=pl.col("_from"),
                         link=pl.when(pl.col("merge_cause") == int(TCallState.CONFERENCED))
                         .then(int(ParentLinkType.CONFERENCED)).otherwise(int(ParentLinkType.TRANSFERRED)))
    starts = first.select("call", "dn", "ord", "party_id").sort("ord")
    no_links = pl.DataFrame(schema={"party_id": pl.String, "parent": pl.String, "link": pl.Int32})
    sst = no_links if single_step is None else single_step.select(
        "party_id", "parent", link=pl.lit(int(ParentLinkType.TRANSFERRED), dtype=pl.Int32))
    ringing = first.filter(pl.col("via_queue").is_not_null()
                           & pl.lit(lookup_queue_on_ringing == 1)).sort("ord")
    dist = ringing.join_asof(starts.rename({"party_id": "_p", "dn": "via_queue"}),
                             on="ord", by=["call", "via_queue"], strategy="backward",
                             check_sortedness=False)
    dist = dist.filter(pl.col("_p").is_not_null()).select(
        "party_id", parent=pl.col("_p"), link=pl.lit(int(ParentLinkType.DISTRIBUTED)))
    consult = (first.filter(pl.col("cc_event") == int(CCEvent.EVENT_DIALING))
               .join(relations.select("call", "parent_call"), on="call", how="inner")
               .filter(pl.col("parent_call").is_not_null()).sort("ord"))
    cons = consult.join_asof(starts.rename({"party_id": "_p", "call": "parent_call"}),
                             on="ord", by=["parent_call", "dn"], strategy="backward",
                             check_sortedness=False)
    cons = cons.filter(pl.col("_p").is_not_null()).select(
        "party_id", parent=pl.col("_p"), link=pl.lit(int(ParentLinkType.CONSULTATION)))
    diverted = no_links if ring_divert != 1 else transfers.ring_divert_parents(hist).with_columns(
        link=pl.lit(int(ParentLinkType.DISTRIBUTED), dtype=pl.Int32))
    links = pl.concat([frame.with_columns(pl.col("link").cast(pl.Int32))
                       for frame in (moved, sst, dist, diverted, cons)],
                      how="vertical_relaxed").unique("party_id", keep="first", maintain_order=True)
    out = first.select("party_id").join(links, on="party_id", how="left")
    # PARTYGUID follows moves back to the party's first association
    guid = out.select("party_id", guid=pl.col("party_id"))
    moves = moved.select("party_id", _prev="parent")
    for _ in range(16):
        step = (guid.join(moves, on="party_id", how="left")
                .join(guid.rename({"party_id": "_prev", "guid": "_pg"}), on="_prev", how="left")
                .with_columns(guid=pl.coalesce("_pg", "guid")).select("party_id", "guid"))
        if step.sort("party_id").equals(guid.sort("party_id")):
            break
        guid = step
    return out.join(guid, on="party_id", how="left").rename(
        {"parent": "parent_party_id", "link": "parent_link_type"})


def party_type(internal: pl.Expr) -> pl.Expr:
    return pl.when(internal).then(int(PartyType.INTERNAL)).otherwise(int(PartyType.EXTERNAL))
