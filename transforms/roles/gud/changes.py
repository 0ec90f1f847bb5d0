"""Attached-data changes of each call, found by comparing every event's KV data with what the call
had before (docs/semantics.md §9, "Changes").

* UserData is a snapshot: T-Server prints the call's whole attached data on an event. A key that
  appears is an *add*, a key whose value differs is an *update*, a key that disappears is a
  *delete*. The per-party copies of one change (one EventAttachedDataChanged per party) compare
  equal to the snapshot before them, so they add nothing: one change is recorded once.
* Reasons and Extensions are per-event parameters, not the call's state: a key's first value is an
  add, a different later value an update; a key that an event does not carry is not deleted.

Values of type KV list are not recorded (the IDB columns hold one string) [INF].
"""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import KvValueType, UserDataChange, UserDataSource

SOURCE_ATTRIBUTES = {
    UserDataSource.USERDATA: "AttributeUserData",
    UserDataSource.REASONS: "AttributeReasons",
    UserDataSource.EXTENSIONS: "AttributeExtensions",
}
SOURCE_NAMES = {UserDataSource.USERDATA: "userdata", UserDataSource.REASONS: "reasons",
                UserDataSource.EXTENSIONS: "extensions"}

CHANGE_SCHEMA = {"call": pl.String, "ord": pl.UInt32, "source": pl.Int32, "key": pl.String,
                 "value": pl.String, "vtype": pl.Int32, "change": pl.Int32, "n": pl.UInt32}


def kv_type(vtype: pl.Expr) -> pl.Expr:
    """The parser's value type -> KvValueType (unquoted non-numbers print as strings)."""
    return (pl.when(vtype == "int").then(pl.lit(int(KvValueType.INT)))
            .when(vtype == "list").then(pl.lit(int(KvValueType.LIST)))
            .otherwise(pl.lit(int(KvValueType.STRING)))).cast(pl.Int32)


def members(ev: pl.DataFrame, kvpairs: pl.DataFrame) -> pl.DataFrame:
    """Top-level keys of UserData / Reasons / Extensions on the call events `ev` (call, ord,
    file_id, line): call, ord, source, key, value, vtype. A key printed twice in one list counts
    once (its first value)."""
    source = pl.col("attribute").replace_strict(
        {a: int(s) for s, a in SOURCE_ATTRIBUTES.items()}, default=None, return_dtype=pl.Int32)
    top = (kvpairs.filter(pl.col("attribute").is_in(list(SOURCE_ATTRIBUTES.values()))
                          & (pl.col("depth") == 2) & (pl.col("vtype") != "list"))
           .select("file_id", "line", "kv_line", source=source, key=pl.col("key"),
                   value=pl.col("value"), vtype=kv_type(pl.col("vtype"))))
    return (top.join(ev.select("file_id", "line", "call", "ord"), on=["file_id", "line"], how="inner")
            .sort("ord", "kv_line")
            .unique(["call", "ord", "source", "key"], keep="first", maintain_order=True)
            .select("call", "ord", "source", "key", "value", "vtype"))


def userdata_changes(ev: pl.DataFrame, kv: pl.DataFrame) -> pl.DataFrame:
    """Snapshot diff of AttributeUserData. `ev` needs `has_user_data` (the attribute was printed,
    possibly as an empty list: then every key was deleted)."""
    snaps = (ev.filter(pl.col("has_user_data")).select("call", "ord").unique().sort("call", "ord")
             .with_columns(prev_ord=pl.col("ord").shift(1).over("call"),
                           next_ord=pl.col("ord").shift(-1).over("call")))
    cur = kv.filter(pl.col("source") == int(UserDataSource.USERDATA)).join(
        snaps.select("call", "ord"), on=["call", "ord"], how="semi")
    before = cur.select("call", "key", prev_ord="ord", prev_value="value", _had=pl.lit(True))
    adds_updates = (cur.join(snaps.select("call", "ord", "prev_ord"), on=["call", "ord"])
                    .join(before, on=["call", "prev_ord", "key"], how="left")
                    .with_columns(change=pl.when(pl.col("_had").is_null())
                                  .then(pl.lit(int(UserDataChange.ADD)))
                                  .when(pl.col("value").ne_missing(pl.col("prev_value")))
                                  .then(pl.lit(int(UserDataChange.UPDATE)))))
    deletes = (cur.join(snaps.select("call", "ord", "next_ord"), on=["call", "ord"])
               .filter(pl.col("next_ord").is_not_null())
               .join(cur.select("call", "key", next_ord="ord"), on=["call", "next_ord", "key"],
                     how="anti")
               .with_columns(ord=pl.col("next_ord"), change=pl.lit(int(UserDataChange.DELETE))))
    cols = ["call", "ord", "source", "key", "value", "vtype", "change"]
    return pl.concat([adds_updates.filter(pl.col("change").is_not_null()).select(cols),
                      deletes.select(cols)], how="vertical_relaxed")


def parameter_changes(kv: pl.DataFrame) -> pl.DataFrame:
    """Reasons / Extensions: first value of a key is an add, a different later value an update."""
    params = kv.filter(pl.col("source") != int(UserDataSource.USERDATA)).sort("call", "ord")
    prev = pl.col("value").shift(1).over("call", "source", "key")
    first = pl.int_range(pl.len()).over("call", "source", "key") == 0
    return (params.with_columns(change=pl.when(first).then(pl.lit(int(UserDataChange.ADD)))
                                .when(pl.col("value").ne_missing(prev))
                                .then(pl.lit(int(UserDataChange.UPDATE))))
            .filter(pl.col("change").is_not_null())
            .select("call", "ord", "source", "key", "value", "vtype", "change"))


def call_changes(ev: pl.DataFrame, kvpairs: pl.DataFrame) -> pl.DataFrame:
    """Every attached-data change of every call in `ev`, in event order, numbered per key (`n`)."""
    kv = members(ev, kvpairs)
    changes = pl.concat([userdata_changes(ev, kv), parameter_changes(kv)], how="vertical_relaxed")
    return (changes.with_columns(pl.col("change").cast(pl.Int32))
            .sort("call", "ord", "source", "key")
            .with_columns(n=pl.int_range(pl.len(), dtype=pl.UInt32).over("call", "source", "key"))
            .cast(CHANGE_SCHEMA))
