"""Build the gud-role attached-data tables from a window of parsed events (pure Polars).

`build_gud(events, kvpairs, config, gcc, spec, default_history, partition)` reads the call
model of the same window (G_PARTY, G_PARTY_HISTORY, G_CALL_HISTORY of `build_gcc`'s result) for
the PartyID and CSeq of each change, so both roles agree on them; its entities are gcc's calls.

Rules (docs/semantics.md §9):
* which rows are kept: the key's `history` in the attached-data spec (`none|first|last|all`); keys
  of UserData that the spec does not name follow `adata-userdata-history` into the public table;
  Reasons/Extensions keys are only stored when the spec names them;
* the party: the first party of the call for data on the call's first event; ThirdPartyDN (else
  ThisDN) for EventAttachedDataChanged; ThisDN otherwise;
* CSEQ: one more than the call's last party/call history CSEQ at or before the change.
"""

from __future__ import annotations

import polars as pl

from transforms.config import HORIZONTAL, AdataSpec, ConfigSnapshot
from transforms.idb import gsys, lineage, row_id, table, times
from transforms.idb.dictionary import PartyHistoryChange, UserDataChange, UserDataSource
from transforms.roles.gcc.prep import call_events, prepare
from transforms.roles.gud.changes import SOURCE_NAMES, call_changes
from transforms.roles.result import RoleResult

GUD_TABLES = ["G_USERDATA_HISTORY", "G_SECURE_USERDATA_HISTORY", *HORIZONTAL.values()]
STORAGE_TABLE = {"public": "G_USERDATA_HISTORY", "secure": "G_SECURE_USERDATA_HISTORY"}


# the event columns the role reads (here, in gcc's `prepare` and the IDB helpers): a window of
# busy hours holds a fraction of the memory without the others
EVENT_COLUMNS = ("file_id", "line", "ts", "direction", "message", "seq", "conn_id", "call_uuid",
                 "call_type", "call_state", "this_dn", "third_party_dn", "agent_id",
                 "transfer_conn_id", "conference_conn_id", "previous_conn_id", "reference_id",
                 "ref_call_uuid", "orig_call_uuid", "route_type", "error_code", "media_type",
                 "user_data", "app", "src", "dss_id")


def build_gud(events: pl.DataFrame, kvpairs: pl.DataFrame, config: ConfigSnapshot,
              gcc: RoleResult, spec: AdataSpec = AdataSpec(),
              default_history: str = "none", partition: str = "") -> RoleResult:
    """`events` / `kvpairs`: the same window `build_gcc` saw (with `src`, `dss_id`); `gcc`: its
    result (or at least its rows of the window's calls). The calls' attached data is rewritten
    with the calls (gcc's status of the window's calls); nothing is carried of its own."""
    ev = call_events(prepare(events, kvpairs, config))
    status = gcc.status.filter(pl.col("entity").is_in(ev["call"].unique().implode()))
    if ev.height == 0:
        return RoleResult({name: table(name).empty() for name in GUD_TABLES}, status)
    ev = ev.with_columns(has_user_data=(pl.col("user_data").is_not_null()
                                        if "user_data" in ev.columns else pl.lit(False)))
    changes = call_changes(ev, kvpairs).join(
        ev.select("call", "ord", "ts", "src", "dss_id", "message", "this_dn", "third_party_dn"),
        on=["call", "ord"], how="left")
    changes = _attribute(changes, ev, gcc.tables)
    return RoleResult({**_vertical_tables(changes, spec, default_history, partition),
                       **_horizontal_tables(changes, spec, partition)}, status)


# -- party and CSeq --------------------------------------------------------------------------------

def _attribute(changes: pl.DataFrame, ev: pl.DataFrame, gcc: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Add party_id, dn, endpoint_id, agent_id and cseq to each change."""
    ord_of = ev.select(ETL_SOURCE="src", ord="ord").unique("ETL_SOURCE")
    party_hist = gcc["G_PARTY_HISTORY"].join(ord_of, on="ETL_SOURCE", how="inner")
    cseq_points = (pl.concat([party_hist.select(call="CALLID", ord="ord", cseq="CSEQ"),
                              gcc["G_CALL_HISTORY"].join(ord_of, on="ETL_SOURCE", how="inner")
                              .select(call="CALLID", ord="ord", cseq="CSEQ")])
                   .group_by("call", "ord").agg(pl.col("cseq").max()).sort("ord"))
    created = (party_hist.filter(pl.col("CHANGETYPE") == int(PartyHistoryChange.PARTY_CREATED))
               .select(call="CALLID", dn="ENDPOINTDN", ord="ord", party_id="PARTYID", _cseq="CSEQ"))
    first_party = (created.sort("_cseq").group_by("call").agg(_first_party=pl.col("party_id").first()))
    first_event = ev.group_by("call").agg(_first_ord=pl.col("ord").min())

    dn = (pl.when(pl.col("message") == "EventAttachedDataChanged")
          .then(pl.coalesce("third_party_dn", "this_dn")).otherwise(pl.col("this_dn")))
    out = (changes.with_columns(dn=dn).sort("ord")
           .join_asof(created.drop("_cseq").sort("ord"), on="ord", by=["call", "dn"],
                      strategy="backward", check_sortedness=False)
           .join(first_party, on="call", how="left").join(first_event, on="call", how="left")
           .with_columns(party_id=pl.when(pl.col("ord") == pl.col("_first_ord"))
                         .then(pl.col("_first_party")).otherwise(pl.col("party_id"))))
    parties = gcc["G_PARTY"].select(party_id="PARTYID", _party_dn="ENDPOINTDN",
                                    endpoint_id="ENDPOINTID", agent_id="AGENTID")
    out = (out.join(parties, on="party_id", how="left")
           .with_columns(dn=pl.coalesce("_party_dn", "dn"))
           .join_asof(cseq_points, on="ord", by="call", strategy="backward", check_sortedness=False)
           .with_columns(cseq=(pl.col("cseq").fill_null(0) + 1).cast(pl.Int32)))
    return out.drop("_first_party", "_first_ord", "_party_dn")


# -- vertical (history) tables ---------------------------------------------------------------------

def key_rules(spec: AdataSpec) -> pl.DataFrame:
    """(key, source, storage, history) of the spec's <public>/<secure> keys."""
    by_name = {name: int(src) for src, name in SOURCE_NAMES.items()}
    return pl.DataFrame(
        [(k.name, by_name[k.source], k.storage, k.history) for k in spec.vertical],
        schema={"key": pl.String, "source": pl.Int32, "storage": pl.String, "history": pl.String},
        orient="row")


def _vertical_tables(changes: pl.DataFrame, spec: AdataSpec, default_history: str,
                     partition: str) -> dict[str, pl.DataFrame]:
    rules = key_rules(spec)
    named = changes.join(rules, on=["key", "source"], how="inner")
    unnamed = (changes.filter(pl.col("source") == int(UserDataSource.USERDATA))
               .join(rules.select("key", "source").unique(), on=["key", "source"], how="anti")
               .with_columns(storage=pl.lit("public"), history=pl.lit(default_history)))
    rows = pl.concat([named, unnamed], how="vertical_relaxed").sort("call", "ord", "key")
    group = ["call", "source", "key", "storage"]
    has_value = pl.col("value").is_not_null() & (pl.col("value") != "") \
        & (pl.col("change") != int(UserDataChange.DELETE))
    first_value = has_value & (has_value.cum_sum().over(group) == 1)
    last = pl.int_range(pl.len()).over(group) == pl.len().over(group) - 1
    kept = rows.filter(
        (pl.col("history") == "all") | ((pl.col("history") == "first") & first_value)
        | ((pl.col("history") == "last") & last))
    out = {}
    for storage, name in STORAGE_TABLE.items():
        part = kept.filter(pl.col("storage") == storage).with_columns(
            ID=row_id(name, pl.col("call"), pl.col("source"), pl.col("key"), pl.col("n")),
            CALLID=pl.col("call"), PARTYID=pl.col("party_id"), ENDPOINTID=pl.col("endpoint_id"),
            ENDPOINTDN=pl.col("dn"), AGENTID=pl.col("agent_id"), KEYNAME=pl.col("key"),
            VALUE=pl.col("value"), CHANGETYPE=pl.col("change"), TYPE=pl.col("vtype"),
            SOURCE=pl.col("source"), CSEQ=pl.col("cseq"), *times(ADDED=pl.col("ts")),
            *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
            *lineage(pl.col("call"), partition, pl.col("src"), pl.col("src")))
        out[name] = table(name).conform(part)
    return out


# -- horizontal (one row per call) tables ----------------------------------------------------------

def _horizontal_tables(changes: pl.DataFrame, spec: AdataSpec, partition: str) -> dict[str, pl.DataFrame]:
    """`first`: the key's first non-empty value; `last`: its value at the call's end (or at the end
    of the data for a call still open), null when it was deleted."""
    out = {name: table(name).empty() for name in HORIZONTAL.values()}
    if not spec.horizontal:
        return out
    by_name = {name: int(src) for src, name in SOURCE_NAMES.items()}
    mapping = pl.DataFrame([(k.name, by_name[k.source], k.table, k.column, k.history)
                            for k in spec.horizontal],
                           schema={"key": pl.String, "source": pl.Int32, "table": pl.String,
                                   "column": pl.String, "history": pl.String}, orient="row")
    rows = changes.join(mapping, on=["key", "source"], how="inner").sort("call", "ord")
    group = ["call", "table", "column"]
    has_value = (pl.col("change") != int(UserDataChange.DELETE)) & pl.col("value").is_not_null() \
        & (pl.col("value") != "")
    picked = rows.group_by(group).agg(
        first=pl.col("value").filter(has_value).first(),
        last=pl.when(pl.col("change").last() == int(UserDataChange.DELETE)).then(None)
        .otherwise(pl.col("value").last()),
        history=pl.col("history").first(), ts0=pl.col("ts").min(), ts1=pl.col("ts").max(),
        src0=pl.col("src").sort_by("ord").first(), src1=pl.col("src").sort_by("ord").last(),
        dss_id=pl.col("dss_id").sort_by("ord").first())
    picked = picked.with_columns(value=pl.when(pl.col("history") == "first").then(pl.col("first"))
                                 .otherwise(pl.col("last")))
    for name in HORIZONTAL.values():
        part = picked.filter(pl.col("table") == name)
        if part.height == 0:
            continue
        span = part.group_by("call").agg(
            ts0=pl.col("ts0").min(), ts1=pl.col("ts1").max(),
            src0=pl.col("src0").sort_by("ts0").first(), src1=pl.col("src1").sort_by("ts1").last(),
            dss_id=pl.col("dss_id").sort_by("ts0").first())
        wide = part.pivot(on="column", index="call", values="value", aggregate_function="first")
        frame = wide.join(span, on="call").with_columns(
            ID=row_id(name, pl.col("call")), CALLID=pl.col("call"),
            *gsys(pl.col("dss_id"), pl.col("ts0"), pl.col("ts1")),
            *lineage(pl.col("call"), partition, pl.col("src0"), pl.col("src1")))
        out[name] = table(name).conform(frame)
    return out
