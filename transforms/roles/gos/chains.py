"""Chain processing attempts from OCS reporting events (pure Polars): GO_CHAIN, GO_CHAINREC_HIST,
GO_CUSTOM_FIELDS, GO_FIELDHIST, GO_SEC_FIELDHIST and GOX_CHAIN_CALL (docs/semantics.md §14).

A chain processing attempt is a calling-list chain (`ChID`, its record `RecHandle`) from the
moment OCS schedules it (`ChainScheduled`, with every field value) to its end
(`ChainTerminated`): OCS names it with a GUID (`ChainGUID`); a record rescheduled or called back
comes back as a new attempt. Its call attempts (`CallAttID`) and dialed calls (`CallGUID`), and
the field values the desktop changes (`ChainUpdated`), are rows of the attempt, which depend only
on its own events (and on the campaign attempt it belongs to, for SESSID).
"""

from __future__ import annotations

import polars as pl

from transforms.idb import gsys, lineage, row_id, table, times
from transforms.idb.dictionary import CallResult, ChainState
from transforms.roles.gos.attempts import close_at_dss_end, go_events, status, with_attempts
from transforms.roles.result import RoleResult

CHAIN_TABLES = ["GO_CHAIN", "GO_CHAINREC_HIST", "GO_CUSTOM_FIELDS", "GO_FIELDHIST",
                "GO_SEC_FIELDHIST", "GOX_CHAIN_CALL"]
SCHEDULED, UPDATED, TERMINATED = "ChainScheduled", "ChainUpdated", "ChainTerminated"
# EvtCode -> the chain state it leaves (None: field changes, the state stays)
STATE_AFTER: dict[str, ChainState | None] = {
    SCHEDULED: ChainState.SCHEDULED,
    "ChainProcessing": ChainState.PROCESSING,
    "ChainProcessed": ChainState.PROCESSED,
    UPDATED: None,
    TERMINATED: ChainState.TERMINATED,
}
CHAIN_GROUP = ["app", "dss_id", "go_list_dbid", "go_chain_id"]
FIELDS_ATTRIBUTE = "RecordFields"
FIELD_SCHEMA = {"list_id": pl.Int64, "field": pl.String, "field_id": pl.Int32,
                "secure": pl.Boolean}


def chain_kvpairs(kvpairs: pl.DataFrame) -> pl.DataFrame:
    """The KV pairs the gos role reads: the field values of chain events."""
    return kvpairs.filter(pl.col("attribute") == FIELDS_ATTRIBUTE)


def chain_events(events: pl.DataFrame) -> pl.DataFrame:
    """The window's chain events, in order, each with its attempt (`chain`), the state it
    leaves the chain in, and `hist_seq`: the chain's history row it is or follows."""
    ev = with_attempts(go_events(events, list(STATE_AFTER)), CHAIN_GROUP, SCHEDULED,
                       (TERMINATED,), "go_chain_guid", "chain")
    state = pl.col("go_evt_code").replace_strict(
        {k: (None if v is None else int(v)) for k, v in STATE_AFTER.items()}, return_dtype=pl.Int32)
    changes = pl.col("go_evt_code") != UPDATED
    return ev.with_columns(
        state=state.forward_fill().over("chain"),
        record=pl.col("go_record_handle").drop_nulls().first().over("chain"),
        scheduled_at=pl.col("ts").filter(pl.col("go_evt_code") == SCHEDULED).first()
        .over("chain"),
        hist_seq=changes.cast(pl.Int32).cum_sum().over("chain"))


def build_chains(events: pl.DataFrame, kvpairs: pl.DataFrame, campaigns: pl.DataFrame,
                 partition: str = "", dss_ends: pl.DataFrame | None = None,
                 fields: pl.DataFrame | None = None) -> RoleResult:
    """`campaigns`: the window's campaign events with their attempt (`sess`), for SESSID;
    `fields`: the stored calling-list fields (ConfigSnapshot.list_fields); without them no
    field is stored."""
    ev = chain_events(events)
    if ev.height == 0:
        return RoleResult.empty(CHAIN_TABLES)
    ev = _with_session(ev, campaigns)
    chains = close_at_dss_end(_chains(ev), dss_ends, events["ts"].max())
    values = _field_values(ev, kvpairs, fields if fields is not None
                           else pl.DataFrame(schema=FIELD_SCHEMA))
    history = _field_history(values)
    return RoleResult({
        "GO_CHAIN": _chain_rows(chains, partition),
        "GO_CHAINREC_HIST": _record_history(ev, partition),
        "GO_CUSTOM_FIELDS": _custom_fields(history.filter(~pl.col("secure")), partition),
        "GO_FIELDHIST": _history_rows("GO_FIELDHIST", history.filter(~pl.col("secure")),
                                      partition),
        "GO_SEC_FIELDHIST": _history_rows("GO_SEC_FIELDHIST", history.filter(pl.col("secure")),
                                          partition),
        "GOX_CHAIN_CALL": _calls(ev, partition)},
        status(chains, "chain"), event_keys=ev.select("file_id", "line", key="chain"))


def _with_session(ev: pl.DataFrame, campaigns: pl.DataFrame) -> pl.DataFrame:
    """`sess`: the campaign attempt of the chain's group in effect at the chain's first event
    (the attempt's own name, which is the GUID the chain carries unless the ETL named the
    attempt), else the GUID the chain's events carry."""
    keys = ["app", "dss_id", "go_group_dbid", "go_campaign_dbid"]
    first = (ev.group_by("chain").agg(*[pl.col(k).first() for k in keys],
                                      _at=pl.col("ts").min()).sort("_at"))
    if campaigns.height:
        starts = (campaigns.group_by("sess").agg(*[pl.col(k).first() for k in keys],
                                                 _at=pl.col("ts").min())
                  .sort("_at").rename({"sess": "_sess"}))
        first = first.join_asof(starts, on="_at", by=keys, strategy="backward",
                                check_sortedness=False)   # both sorted by `_at` above
    else:
        first = first.with_columns(_sess=pl.lit(None, dtype=pl.String))
    return ev.join(first.select("chain", "_sess"), on="chain", how="left").with_columns(
        sess=pl.coalesce("_sess", pl.col("go_session").drop_nulls().first().over("chain"))
    ).drop("_sess")


def _chains(ev: pl.DataFrame) -> pl.DataFrame:
    ended = pl.col("go_evt_code") == TERMINATED
    return ev.group_by("chain").agg(
        sess=pl.col("sess").first(), campaign=pl.col("go_campaign_dbid").drop_nulls().first(),
        group=pl.col("go_group_dbid").drop_nulls().first(),
        list=pl.col("go_list_dbid").drop_nulls().first(),
        chain_id=pl.col("go_chain_id").drop_nulls().first(), state=pl.col("state").last(),
        created=pl.col("ts").first(), last=pl.col("ts").last(),
        terminated=pl.col("ts").filter(ended).first(), open=~ended.any(),
        dss_id=pl.col("dss_id").first(), src=pl.col("src").first(),
        src_last=pl.col("src").last())


def _chain_rows(chains: pl.DataFrame, partition: str) -> pl.DataFrame:
    # a terminated chain's state is null, as the IDB has it
    state = pl.when((pl.col("state") != int(ChainState.TERMINATED))
                    & pl.col("closed_by").is_null()).then(pl.col("state"))
    return table("GO_CHAIN").conform(chains.sort("chain").select(
        ID=row_id(pl.lit("GO_CHAIN"), pl.col("chain")), CHAINGUID=pl.col("chain"),
        SESSID=pl.col("sess"), CAMPAIGNID=pl.col("campaign"), GROUPID=pl.col("group"),
        CALLINGLISTID=pl.col("list"), CHAINID=pl.col("chain_id"), STATE=state,
        *times(CREATED=pl.col("created"), TERMINATED=pl.col("terminated"),
               LASTCHANGE=pl.max_horizontal("last", "terminated")),
        ETL_CLOSED_BY=pl.col("closed_by"),
        *gsys(pl.col("dss_id"), pl.col("created"), pl.col("last")),
        *lineage(pl.col("chain"), partition, pl.col("src"), pl.col("src_last"))))


def _record_history(ev: pl.DataFrame, partition: str) -> pl.DataFrame:
    """One row per state change (field changes are not one)."""
    rows = (ev.filter(pl.col("go_evt_code") != UPDATED)
            .with_columns(prev_state=pl.col("state").shift(1).over("chain"),
                          prev_ts=pl.col("ts").shift(1).over("chain")))
    result = pl.col("go_call_result")
    known = result.is_in([int(m) for m in CallResult])
    return table("GO_CHAINREC_HIST").conform(rows.select(
        ID=row_id(pl.lit("GO_CHAINREC_HIST"), pl.col("chain"), pl.col("hist_seq")),
        CHAINGUID=pl.col("chain"), RECORDHANDLE=pl.col("record"), SEQ=pl.col("hist_seq"),
        STATE=pl.col("state"), PREVSTATE=pl.col("prev_state"),
        CALLATTID=pl.col("go_call_attempt"),
        CALLRESULT=pl.when(known | result.is_null()).then(result)
        .otherwise(pl.lit(int(CallResult.UNKNOWN))),
        *times(PREVSENTER=pl.col("prev_ts"), ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("chain"), partition, pl.col("src"), pl.col("src"))))


def _field_values(ev: pl.DataFrame, kvpairs: pl.DataFrame, fields: pl.DataFrame) -> pl.DataFrame:
    """Every stored field value an event reports, with its event's chain, time and sequence
    (a field the configuration does not store is left out, as ICON leaves it)."""
    reported = chain_kvpairs(kvpairs).filter(pl.col("depth") == 2).select(
        "file_id", "line", field="key", value="value")
    return (ev.join(reported, on=["file_id", "line"], how="inner")
            .join(fields.select(pl.col("list_id").cast(pl.Int64), "field", "field_id", "secure"),
                  left_on=["go_list_dbid", "field"], right_on=["list_id", "field"], how="inner")
            .select("chain", "record", "field_id", "secure", "value", "ts", "hist_seq",
                    "scheduled_at", "go_call_attempt", "dss_id", "src", "file_id", "line")
            .sort("chain", "field_id", "ts", "file_id", "line"))


def _field_history(values: pl.DataFrame) -> pl.DataFrame:
    """The values that differ from the field's previous one (the first, at load, always), each
    with the value and time it replaced."""
    key = ["chain", "record", "field_id"]
    changed = pl.col("value").ne_missing(pl.col("value").shift(1).over(key))
    first = pl.int_range(pl.len()).over(key) == 0
    return (values.filter(changed | first)
            .with_columns(old=pl.col("value").shift(1).over(key),
                          prev_ts=pl.col("ts").shift(1).over(key),
                          seq=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(key),
                          loaded=pl.col("scheduled_at")))


def _history_rows(name: str, history: pl.DataFrame, partition: str) -> pl.DataFrame:
    return table(name).conform(history.select(
        ID=row_id(pl.lit(name), pl.col("chain"), pl.col("field_id"), pl.col("seq")),
        CHAINGUID=pl.col("chain"), RECORDHANDLE=pl.col("record"), FIELDID=pl.col("field_id"),
        OLDVALUE=pl.col("old"), NEWVALUE=pl.col("value"), SEQ=pl.col("seq"),
        CHAINHISTSEQ=pl.col("hist_seq"), CALLATTID=pl.col("go_call_attempt"),
        *times(PREVENTER=pl.col("prev_ts"), ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("chain"), partition, pl.col("src"), pl.col("src"))))


def _custom_fields(history: pl.DataFrame, partition: str) -> pl.DataFrame:
    """The current value of each field: its last change."""
    last = history.group_by("chain", "record", "field_id").agg(pl.all().sort_by("seq").last())
    return table("GO_CUSTOM_FIELDS").conform(last.sort("chain", "field_id").select(
        ID=row_id(pl.lit("GO_CUSTOM_FIELDS"), pl.col("chain"), pl.col("record"),
                  pl.col("field_id")),
        CHAINGUID=pl.col("chain"), RECORDHANDLE=pl.col("record"), FIELDID=pl.col("field_id"),
        VALUE=pl.col("value"), LASTCHAINUPDSEQ=pl.col("hist_seq"),
        *times(LASTCHANGED=pl.col("ts"), LOADED=pl.col("loaded")),
        *gsys(pl.col("dss_id"), pl.coalesce("loaded", "ts"), pl.col("ts")),
        *lineage(pl.col("chain"), partition, pl.col("src"), pl.col("src"))))


def _calls(ev: pl.DataFrame, partition: str) -> pl.DataFrame:
    """A dialed call, linked when an event first names it."""
    links = (ev.filter(pl.col("go_call_guid").is_not_null())
             .group_by("chain", "go_call_guid").agg(pl.all().first()))
    return table("GOX_CHAIN_CALL").conform(links.sort("chain", "ts").select(
        ID=row_id(pl.lit("GOX_CHAIN_CALL"), pl.col("chain"), pl.col("go_call_guid")),
        CALLID=pl.col("go_call_guid"), CHAINGUID=pl.col("chain"),
        CALLATTID=pl.col("go_call_attempt"), *times(ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("chain"), partition, pl.col("src"), pl.col("src"))))
