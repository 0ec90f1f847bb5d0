"""Build the gcc-role IDB tables from a window of parsed events (pure Polars).

`build_gcc(events, kvpairs, config, ...)` returns every table of the call model for the calls in
the window, and which call groups are still open (their events are carried into the next
partition: docs/architecture.md). A call's rows depend only on its group's events, so a day built
hour by hour equals the day built at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from transforms.config import ConfigSnapshot, GccOptions
from transforms.idb import gsys, lineage, row_id, table, times
from transforms.idb.dictionary import DnType, MergeType, ParentLinkType, PartyRole
from transforms.roles.gcc import calls as C
from transforms.roles.gcc import iscc, links, parties, routing, stats, transfers
from transforms.roles.gcc.prep import call_events, prepare, route_requests, transfer_failures
from transforms.roles.result import RoleResult

CLOSED_LAST_PARTY, CLOSED_IDLE = "last_party_released", "idle_timeout"

GCC_TABLES = ["G_IR", "G_IR_ACTIVE", "G_IR_HISTORY", "G_CALL", "G_CALL_ACTIVE", "G_CALL_HISTORY",
              "G_PARTY", "G_PARTY_HISTORY", "G_CALL_STAT", "G_PARTY_STAT", "G_ROUTE_RESULT",
              "G_VIRTUAL_QUEUE", "G_IS_LINK", "G_IS_LINK_HISTORY", "GSYS_DNPREMOTELOCATION"]
# status: each call (ETL_ENTITY), the group it is built with (a call and its consultations,
# merged calls, the calls an ISCC link joins) and whether it is still open
STATUS_SCHEMA = {"entity": pl.String, "group": pl.String, "open": pl.Boolean,
                 "settles_at": pl.Datetime("us", "UTC"),
                 "last_ts": pl.Datetime("us", "UTC")}


# the event columns the role reads (transforms/roles/gcc and the IDB helpers it calls): a window
# of busy hours holds a fraction of the memory without the others
EVENT_COLUMNS = ("file_id", "line", "ts", "direction", "message", "seq", "conn_id", "call_uuid",
                 "call_id", "call_type", "call_state", "this_dn", "this_dn_role", "this_queue",
                 "other_dn", "other_dn_role", "third_party_dn", "agent_id", "transfer_conn_id",
                 "conference_conn_id", "previous_conn_id", "ani", "dnis", "reference_id",
                 "ctrl_party", "ref_call_uuid", "orig_call_uuid", "location",
                 "last_transfer_orig_dn", "last_transfer_home_location", "route_type",
                 "error_code", "media_type", "app", "src", "dss_id")


def build_gcc(events: pl.DataFrame, kvpairs: pl.DataFrame, config: ConfigSnapshot,
              partition: str = "", options: GccOptions = GccOptions(),
              monitored_switches: set[str] | None = None) -> RoleResult:
    """`events`: parsed events with `app`, `src` (file:line) and `dss_id`; `kvpairs`: their KV
    members. `monitored_switches`: switch names whose logs are loaded (the remote side of a link
    to any other switch is not monitored); default: the switches of the window's events.
    Entities are calls; a group still open carries all of its calls' events."""
    base = prepare(events, kvpairs, config)
    ev = call_events(base)
    if ev.height == 0:
        return RoleResult.empty(GCC_TABLES, STATUS_SCHEMA)
    relations = links.call_relations(ev)
    is_links = links.is_links(ev, kvpairs)
    grouped = links.groups(relations, is_links)
    ev = ev.join(grouped, on="call", how="left")
    relations = relations.join(grouped, on="call", how="left")

    endpoints = config.endpoints()
    acts = parties.actions(ev, endpoints, options.delivered_flag)
    ends = C.call_ends(ev)
    reporting = set(ev.filter(pl.col("message").is_in(["EventCallCreated", "EventCallDeleted"]))
                    ["app"].unique().to_list())
    ends = pl.concat([ends, _fallback_ends(acts, ends, reporting)], how="vertical_relaxed")
    ends = pl.concat([ends, _idle_ends(ev, ends, options.max_call_idle, events["ts"].max())],
                     how="vertical_relaxed")
    acts = parties.close_at_call_end(acts, ends)
    hist = parties.history(acts)
    facts = C.call_facts(ev, relations, ends)
    call_hist = C.call_history(facts, transfer_failures(base))
    hist, call_hist = C.number_cseq(hist, call_hist)
    transfers_ = transfers.transfers(hist, relations, options.sst_options)

    switch_names = config.switches()
    monitored = monitored_switches if monitored_switches is not None else set(
        switch_names.join(ev.select("app").unique(), on="app")["switch"].to_list())
    halves, moves = iscc.link_halves(is_links, facts)
    halves = iscc.merge_states(halves, monitored)
    cross = iscc.cross_site_parents(halves)
    irs, ir_hist = C.ir_records(facts, cross)

    logins = config.logins()
    tables = {
        **_call_tables(facts, call_hist, partition),
        **_ir_tables(irs, ir_hist, partition),
        **_party_tables(hist, relations, logins, partition, options, transfers_),
        "G_CALL_STAT": _call_stat_table(stats.call_stats(hist, ev, facts, transfers_), partition),
        "G_PARTY_STAT": _party_stat_table(stats.party_stats(hist), partition),
        **_routing_tables(hist, ev, kvpairs, base, endpoints, facts, partition),
        **_link_tables(halves, iscc.link_history(halves, moves), partition, monitored),
    }
    # a call's rows can change until the last event of its group, or until the data passes the
    # idle limit of a call of the group closed by silence (strictly: `_idle_ends`)
    idle = timedelta(seconds=options.max_call_idle, microseconds=1)
    status = facts.select(entity="call", group="group", open=pl.col("end_ts").is_null(),
                          last_ts=pl.col("last_ts").max().over("group"),
                          settles_at=pl.when(pl.col("closed_by") == CLOSED_IDLE)
                          .then(pl.col("end_ts") + idle).max().over("group"))
    open_groups = status.filter(pl.col("open")).select(key=pl.col("group")).unique().sort("key")
    event_groups = (base.select("file_id", "line", "call").join(grouped, on="call", how="inner")
                    .select("file_id", "line", key="group"))
    return RoleResult({name: table(name).conform(frame) for name, frame in tables.items()},
                      status, open_groups, event_groups)


def _fallback_ends(acts: pl.DataFrame, ends: pl.DataFrame, reporting: set[str]) -> pl.DataFrame:
    """A T-Server without call monitoring reports no EventCallDeleted: its call ends when the last
    monitored party has left (docs/semantics.md)."""
    cand = acts.filter(~pl.col("app").is_in(list(reporting)) & pl.col("internal"))
    if cand.height == 0:
        return ends.clear()
    last = cand.sort("ord", "sub").group_by("call", "dn", maintain_order=True).agg(pl.all().last())
    per_call = last.group_by("call").agg(
        _open=(~pl.col("act").is_in([parties.ACT_TERMINATE, parties.ACT_MOVE_OUT])).sum(),
        end_ts=pl.col("ts").max(), end_ord=pl.col("ord").max(),
        end_src=pl.col("src").sort_by("ord").last(), end_dss_id=pl.col("dss_id").sort_by("ord").last())
    return (per_call.filter(pl.col("_open") == 0)
            .with_columns(ctrl_party=pl.lit(None, dtype=pl.String), deleted=pl.lit(False),
                          closed_by=pl.lit(CLOSED_LAST_PARTY))
            .select(ends.columns))


def _idle_ends(ev: pl.DataFrame, ends: pl.DataFrame, max_idle: int,
               horizon: datetime | None) -> pl.DataFrame:
    """A call with no event for `max_idle` seconds of data (its end was lost in a window no log
    covers) ends at its last event (docs/semantics.md §3); without this it would stay open for
    ever. `horizon`: the last event of the window, of any kind (what the data has reached)."""
    if max_idle <= 0 or horizon is None:
        return ends.clear()
    last = (ev.join(ends.select("call"), on="call", how="anti").sort("ord")
            .group_by("call").agg(end_ts=pl.col("ts").last(), end_ord=pl.col("ord").last(),
                                  end_src=pl.col("src").last(), end_dss_id=pl.col("dss_id").last()))
    return (last.filter(pl.lit(horizon) - pl.col("end_ts") > timedelta(seconds=max_idle))
            .with_columns(ctrl_party=pl.lit(None, dtype=pl.String), deleted=pl.lit(False),
                          closed_by=pl.lit(CLOSED_IDLE))
            .select(ends.columns))


# -- table assembly ------------------------------------------------------------------------------

def _call_tables(facts: pl.DataFrame, call_hist: pl.DataFrame, partition: str) -> dict:
    ended = pl.col("end_ts").is_not_null()
    last_ts = pl.coalesce("end_ts", "merge_ts", "last_ts")
    rows = facts.with_columns(
        ID=row_id("G_CALL", pl.col("call")), CALLID=pl.col("call"), PARENTCALLID=pl.col("parent_call"),
        MERGECALLID=pl.col("merge_call"),
        MERGETYPE=pl.col("merge_type").fill_null(int(MergeType.NONE)),
        CONNID=pl.col("conn_id"),
        CONNIDNUM=pl.col("conn_id").str.to_integer(base=16, dtype=pl.UInt64, strict=False)
        .reinterpret(signed=True),
        SWITCHCALLID=pl.col("switch_call_id"), IRID=pl.concat_str([pl.lit("IR"), pl.col("call")]),
        CALLTYPE=pl.col("call_type"), STATE=C.state_of(ended), MEDIATYPE=C.media(pl.col("media_type")),
        SWITCHID=pl.col("switch_id"), TENANTID=pl.col("tenant_id"), ANI=pl.col("ani"),
        DNIS=pl.col("dnis"),
        *times(CREATED=pl.col("created_ts"), TERMINATED=pl.col("end_ts"), LASTCHANGE=last_ts),
        *gsys(pl.col("created_dss"), pl.col("created_ts"), last_ts),
        *lineage(pl.col("call"), partition, pl.col("created_src"),
                 pl.coalesce("end_src", "last_src")),
        ETL_CLOSED_BY=pl.col("closed_by"),
    )
    history = call_hist.with_columns(
        CHID=row_id("G_CALL_HISTORY", pl.col("call"), pl.col("cseq")), CALLID=pl.col("call"),
        CSEQ=pl.col("cseq"), CHANGETYPE=pl.col("change"), REFID=pl.col("ref"),
        *times(ADDED=pl.col("ts")), *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("call"), partition, pl.col("src"), pl.col("src")),
    )
    return {"G_CALL": rows, "G_CALL_ACTIVE": rows.filter(~ended), "G_CALL_HISTORY": history}


def _ir_tables(irs: pl.DataFrame, ir_hist: pl.DataFrame, partition: str) -> dict:
    ended = pl.col("end_ts").is_not_null()
    last_ts = pl.coalesce("end_ts", "merge_ts", "created_ts")
    rows = irs.with_columns(
        ID=row_id("G_IR", pl.col("irid")), IRID=pl.col("irid"), STATE=C.ir_state_of(ended),
        PARENTIRID=pl.col("parent_irid"), PARENTLINKTYPE=pl.lit(int(ParentLinkType.NONE)),
        ROOTCALLID=pl.col("call"), MEDIATYPE=C.media(pl.col("media_type")),
        *times(CREATED=pl.col("created_ts"), TERMINATED=pl.col("end_ts"), LASTCHANGE=last_ts),
        *gsys(pl.col("created_dss"), pl.col("created_ts"), last_ts),
        *lineage(pl.col("call"), partition, pl.col("created_src"),
                 pl.coalesce("end_src", "merge_src", "created_src")),
    )
    history = ir_hist.with_columns(
        IRHID=row_id("G_IR_HISTORY", pl.col("irid"), pl.col("change")), IRID=pl.col("irid"),
        XSEQ=pl.lit(0), CHANGETYPE=pl.col("change"), REFID=pl.lit(None, dtype=pl.String),
        *times(ADDED=pl.col("ts")), *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("call"), partition, pl.col("src"), pl.col("src")),
    )
    return {"G_IR": rows, "G_IR_ACTIVE": rows.filter(~ended), "G_IR_HISTORY": history}


def _party_tables(hist: pl.DataFrame, relations: pl.DataFrame, logins: pl.DataFrame,
                  partition: str, options: GccOptions, transfers_: pl.DataFrame) -> dict:
    links_ = parties.parents(hist, relations, options.lookup_queue_on_ringing, options.ring_divert,
                             transfers.transfer_parents(transfers_))
    ordered = hist.sort("party_id", "pseq")
    per_party = ordered.group_by("party_id", maintain_order=True).agg(
        call=pl.col("call").first(), dn=pl.col("dn").first(), switch_id=pl.col("switch_id").first(),
        tenant_id=pl.col("tenant_id").first(), internal=pl.col("internal").first(),
        endpoint_id=pl.col("endpoint_id").first(), endpoint_type=pl.col("endpoint_type").first(),
        role=pl.col("role").first(), agent_login=pl.col("agent_login").drop_nulls().first(),
        lt_home=pl.col("lt_home").first(), lt_orig=pl.col("lt_orig").first(),
        state=pl.col("state").last(), prev_state=pl.col("prev_state").last(),
        cc_event=pl.col("cc_event").last(), cause=pl.col("cause").last(),
        created=pl.col("ts").first(), last=pl.col("ts").last(),
        ended=(pl.col("change") == 2).any(), closed_by=pl.col("closed_by").last(),
        src=pl.col("src").first(), src_last=pl.col("src").last(), dss_id=pl.col("dss_id").first(),
    )
    per_party = (per_party.join(links_, on="party_id", how="left")
                 .join(logins.select("switch_id", agent_login="login_code", agent_id="agent_id"),
                       on=["switch_id", "agent_login"], how="left"))
    ended = pl.col("ended")
    party_rows = per_party.with_columns(
        ID=row_id("G_PARTY", pl.col("party_id")), PARTYID=pl.col("party_id"),
        PARTYGUID=pl.col("guid"), TYPE=parties.party_type(pl.col("internal")),
        PROLE=pl.col("role").fill_null(int(PartyRole.UNKNOWN)),
        PARENTPARTYID=pl.col("parent_party_id"),
        PARENTLINKTYPE=pl.col("parent_link_type").fill_null(int(ParentLinkType.NONE)),
        CALLID=pl.col("call"), STATE=pl.col("state"), PREVSTATE=pl.col("prev_state"),
        ENDPOINTDN=pl.col("dn"), ENDPOINTID=pl.col("endpoint_id"),
        ENDPOINTTYPE=pl.col("endpoint_type"), AGENTID=pl.col("agent_id"),
        SWITCHID=pl.col("switch_id"), TENANTID=pl.col("tenant_id"), CCEVENT=pl.col("cc_event"),
        CCEVENTCAUSE=pl.col("cause"),
        *times(CREATED=pl.col("created"), TERMINATED=pl.when(ended).then(pl.col("last")),
               LASTCHANGE=pl.col("last")),
        *gsys(pl.col("dss_id"), pl.col("created"), pl.col("last")),
        GSYS_EXT_VCH1=pl.col("lt_home"), GSYS_EXT_VCH2=pl.col("lt_orig"),
        *lineage(pl.col("call"), partition, pl.col("src"), pl.col("src_last")),
        ETL_CLOSED_BY=pl.col("closed_by"),
    )
    history = hist.with_columns(
        PHID=row_id("G_PARTY_HISTORY", pl.col("party_id"), pl.col("pseq")),
        PARTYID=pl.col("party_id"), PSEQ=pl.col("pseq").cast(pl.Int32), CSEQ=pl.col("cseq"),
        CHANGETYPE=pl.col("change"), CCEVENT=pl.col("cc_event"), CCEVENTCAUSE=pl.col("cause"),
        STATE=pl.col("state"), PREVSTATE=pl.col("prev_state"), CALLID=pl.col("call"),
        ENDPOINTDN=pl.col("dn"), *times(ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("call"), partition, pl.col("src"), pl.col("src")),
    )
    return {"G_PARTY": party_rows, "G_PARTY_HISTORY": history}


def _call_stat_table(s: pl.DataFrame, partition: str) -> pl.DataFrame:
    return s.with_columns(
        ID=row_id("G_CALL_STAT", pl.col("call")), CALLID=pl.col("call"), F_CONN=pl.col("f_conn"),
        F_CONN_EXTN=pl.col("f_conn_extn"), F_TE_ABND=pl.col("f_te_abnd"), CNT_HOLD=pl.col("cnt_hold"),
        CNT_DIVERT=pl.col("cnt_divert"), CNT_TRANSFER=pl.col("cnt_transfer"),
        CNT_CONFERENCE=pl.col("cnt_conference"), CNT_PARTIES=pl.col("cnt_parties"),
        *times(CREATED=pl.col("created_ts"), TERMINATED=pl.col("end_ts")),
        *gsys(pl.col("created_dss"), pl.col("created_ts"), pl.col("end_ts")),
        GSYS_EXT_VCH1=pl.col("vch1"), GSYS_EXT_VCH2=pl.col("vch2"),
        *lineage(pl.col("call"), partition, pl.col("created_src"), pl.col("end_src")),
    )


def _party_stat_table(s: pl.DataFrame, partition: str) -> pl.DataFrame:
    return s.with_columns(
        ID=row_id("G_PARTY_STAT", pl.col("party_id")), PARTYID=pl.col("party_id"),
        CALLID=pl.col("call"), TT_ALERTING=pl.col("tt_alerting"), TT_CONNECTED=pl.col("tt_connected"),
        TT_HOLD=pl.col("tt_hold"), TT_QUEUED=pl.col("tt_queued"), TT_ACW=pl.lit(None, dtype=pl.Int32),
        *times(CREATED=pl.col("created"), TERMINATED=pl.col("terminated")),
        *gsys(pl.col("dss_id"), pl.col("created"), pl.col("terminated")),
        GSYS_EXT_INT1=pl.col("releasing_party"),
        *lineage(pl.col("call"), partition, pl.col("src"), pl.col("src_last")),
    )


def _routing_tables(hist, ev, kvpairs, base, endpoints, facts, partition) -> dict:
    user_data = (kvpairs.filter((pl.col("attribute") == "AttributeUserData") & (pl.col("depth") == 2))
                 .join(ev.select("file_id", "line", "call", "ord"), on=["file_id", "line"], how="inner")
                 .select("call", "ord", "key", "value"))
    routes = routing.route_results(hist, user_data, route_requests(base))
    vq_config = endpoints.filter(pl.col("endpoint_type") == int(DnType.VIRT_ACD_QUEUE)) \
        .select("switch_id", "dn")
    apps = ev.select("app", "switch_id").unique()
    vq_by_ext = (kvpairs.filter((pl.col("attribute") == "AttributeExtensions") & (pl.col("key") == "VQID"))
                 .join(ev.filter(pl.col("message") == "EventQueued").select("file_id", "line", "app",
                                                                           dn="this_dn"),
                       on=["file_id", "line"], how="inner").select("app", "dn"))
    vq_dns = pl.concat([vq_config.join(apps, on="switch_id").select("app", "dn"), vq_by_ext]).unique()
    vqs = routing.vq_stays(hist, vq_dns)
    ir_of = facts.select("call", "conn_id", irid=pl.concat_str([pl.lit("IR"), pl.col("call")]))

    def common(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.join(ir_of, on="call", how="left").with_columns(
            ID=row_id(name, pl.col("party_id")), CALLID=pl.col("call"), CONNID=pl.col("conn_id"),
            PARTYID=pl.col("party_id"), IRID=pl.col("irid"), ENDPOINTID=pl.col("endpoint_id"),
            ENDPOINTDN=pl.col("dn"), RESULT=pl.col("result"), TARGETDN=pl.col("target"),
            *times(CREATED=pl.col("created"), TERMINATED=pl.col("terminated")),
            *gsys(pl.col("dss_id"), pl.col("created"), pl.coalesce("terminated", "created")),
            *lineage(pl.col("call"), partition, pl.col("src"), pl.coalesce("src_last", "src")),
        )

    route_rows = common(routes, "G_ROUTE_RESULT").with_columns(
        RTARGETRULESELECTED=pl.col("RTargetRuleSelected"),
        RTARGETOBJECTSELECTED=pl.col("RTargetObjectSelected"),
        RTARGETTYPESELECTED=pl.col("RTargetTypeSelected").cast(pl.Int32, strict=False),
        RTARGETAGENTSELECTED=pl.col("RTargetAgentSelected"),
        RTARGETPLACESELECTED=pl.col("RTargetPlaceSelected"),
        RSTRATEGYNAME=pl.col("RStrategyName"), ROUTETYPE=pl.col("route_type").cast(pl.Int32))
    return {"G_ROUTE_RESULT": route_rows, "G_VIRTUAL_QUEUE": common(vqs, "G_VIRTUAL_QUEUE")}


def _link_tables(halves, history, partition, monitored) -> dict:
    if halves.height == 0:
        return {name: table(name).empty() for name in
                ("G_IS_LINK", "G_IS_LINK_HISTORY", "GSYS_DNPREMOTELOCATION")}
    last = history.sort("ord").group_by("link_id", "app").agg(
        _last_ts=pl.col("ts").last(), _last_src=pl.col("src").last())
    rows = halves.join(last, on=["link_id", "app"], how="left").with_columns(
        ID=row_id("G_IS_LINK", pl.col("link_id"), pl.col("app")), LINKID=pl.col("link_id"),
        CALLID=pl.col("holder"), ISLINKTYPE=pl.col("link_type"), REMOTELOCATION=pl.col("location"),
        STATE=pl.col("state"), MERGESTATE=pl.col("merge_state"), SWITCHID=pl.col("switch_id"),
        *times(INITIATED=pl.col("ts"), TERMINATED=pl.col("end_ts"), LASTCHANGE=pl.col("_last_ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("_last_ts")),
        GSYS_EXT_VCH1=pl.col("seq").cast(pl.String),
        *lineage(pl.col("call"), partition, pl.col("src"), pl.col("_last_src")),
    )
    first_call = halves.select("link_id", "app", _entity="call")
    hist_rows = history.join(first_call, on=["link_id", "app"], how="left").with_columns(
        ID=row_id("G_IS_LINK_HISTORY", pl.col("link_id"), pl.col("app"), pl.col("seq")),
        LINKID=pl.col("link_id"), SEQ=pl.col("seq"), CHANGETYPE=pl.col("change"),
        STATE=pl.col("state"), CALLID=pl.col("call"), PREVCALLID=pl.col("prev_call"),
        SWITCHID=pl.col("switch_id"), *times(ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("_entity"), partition, pl.col("src"), pl.col("src")),
    )
    remote = (halves.filter(~pl.col("location").is_in(list(monitored)))
              .select(REMOTELOCATION=pl.col("location")).unique()
              .with_columns(ID=row_id("GSYS_DNPREMOTELOCATION", pl.col("REMOTELOCATION"))))
    return {"G_IS_LINK": rows, "G_IS_LINK_HISTORY": hist_rows, "GSYS_DNPREMOTELOCATION": remote}
