"""How calls relate: consultation parent, merge target, inter-site links, and the groups of calls
that must be built (and carried between partitions) together.

* consultation: EventCallCreated `OrigCallUUID`, or TransferConnID / ConferenceConnID naming the
  primary call's ConnID on the consultation call's events (docs/semantics.md §4);
* merge: EventPartyChanged with PreviousConnID (the consultation call whose parties move into
  this call), or EventCallDeleted with RefCallUUID;
* inter-site: the same IS-Link id in `AttributeISLinkList` on two T-Servers (docs/semantics.md §6).
"""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import IsLinkType, MergeType, TCallState

MAX_ROUNDS = 64


def conn_owner(ev: pl.DataFrame) -> pl.DataFrame:
    """(app, conn_id) -> call."""
    return (ev.filter(pl.col("conn_id").is_not_null() & pl.col("call_uuid").is_not_null())
            .group_by("app", "conn_id").agg(owner=pl.col("call").first()))


def call_relations(ev: pl.DataFrame) -> pl.DataFrame:
    """One row per call: parent_call, consult_kind (transfer/conference), merge_call, merge_type,
    merge_ts, merge_ord (the first merge signal)."""
    owners = conn_owner(ev)
    calls = ev.group_by("call").agg(app=pl.col("app").first())
    by_orig = (ev.filter(pl.col("orig_call_uuid").is_not_null())
               .group_by("call").agg(_p1=pl.col("orig_call_uuid").first()))
    by_conn = (ev.filter(pl.col("transfer_conn_id").is_not_null() | pl.col("conference_conn_id").is_not_null())
               .with_columns(_pconn=pl.coalesce("transfer_conn_id", "conference_conn_id"),
                             _kind=pl.when(pl.col("conference_conn_id").is_not_null())
                             .then(pl.lit(int(MergeType.CONFERENCE)))
                             .otherwise(pl.lit(int(MergeType.TRANSFER))))
               .join(owners, left_on=["app", "_pconn"], right_on=["app", "conn_id"], how="left")
               .filter(pl.col("owner") != pl.col("call"))
               .group_by("call").agg(_p2=pl.col("owner").first(), consult_kind=pl.col("_kind").first()))
    moved = (ev.filter((pl.col("message") == "EventPartyChanged") & pl.col("previous_conn_id").is_not_null())
             .join(owners, left_on=["app", "previous_conn_id"], right_on=["app", "conn_id"], how="inner")
             .filter(pl.col("owner") != pl.col("call"))
             .select(pl.col("owner").alias("call"), _target=pl.col("call"), _ts=pl.col("ts"),
                     _ord=pl.col("ord"), _state=pl.col("call_state")))
    deleted = (ev.filter((pl.col("message") == "EventCallDeleted") & pl.col("ref_call_uuid").is_not_null()
                         & (pl.col("ref_call_uuid") != pl.col("call")))
               .select("call", _target=pl.col("ref_call_uuid"), _ts=pl.col("ts"), _ord=pl.col("ord"),
                       _state=pl.lit(None, dtype=pl.Int64)))
    merges = (pl.concat([moved, deleted]).sort("_ord")
              .group_by("call", maintain_order=True)
              .agg(merge_call=pl.col("_target").first(), merge_ts=pl.col("_ts").first(),
                   merge_ord=pl.col("_ord").first(),
                   _mstate=pl.col("_state").drop_nulls().first()))
    out = (calls.join(by_orig, on="call", how="left").join(by_conn, on="call", how="left")
           .join(merges, on="call", how="left")
           .with_columns(parent_call=pl.coalesce("_p1", "_p2"))
           .with_columns(merge_type=pl.when(pl.col("merge_call").is_null()).then(None)
                         .when(pl.col("_mstate") == int(TCallState.CONFERENCED))
                         .then(pl.lit(int(MergeType.CONFERENCE)))
                         .when(pl.col("_mstate") == int(TCallState.TRANSFERRED))
                         .then(pl.lit(int(MergeType.TRANSFER)))
                         .otherwise(pl.coalesce("consult_kind", pl.lit(int(MergeType.TRANSFER))))))
    return out.select("call", "app", "parent_call", "consult_kind", "merge_call", "merge_type",
                      "merge_ts", "merge_ord")


def is_links(ev: pl.DataFrame, kvpairs: pl.DataFrame) -> pl.DataFrame:
    """IS-Link reports: (app, call, link_id, location, link_type, ts, ord, src) from the
    `AttributeISLinkList` of EventCallDataChanged (one nested list per link)."""
    kv = kvpairs.filter(pl.col("attribute") == "AttributeISLinkList")
    if kv.height == 0:
        return pl.DataFrame(schema={"app": pl.String, "call": pl.String, "link_id": pl.String,
                                    "location": pl.String, "link_type": pl.Int32,
                                    "ts": pl.Datetime("us", "UTC"), "ord": pl.UInt32,
                                    "src": pl.String, "dss_id": pl.Int64, "seq": pl.UInt64,
                                    "switch_id": pl.Int32})
    members = (kv.filter(pl.col("depth") == 3)
               .with_columns(link_id=pl.col("path").str.split("/").list.first())
               .group_by("file_id", "line", "link_id")
               .agg(location=pl.col("value").filter(pl.col("key").str.to_lowercase()
                                                    .str.starts_with("loc")).first(),
                    _type=pl.col("value").filter(pl.col("key") == "type").first()))
    heads = kv.filter(pl.col("depth") == 2).select("file_id", "line", link_id="key")
    links = heads.join(members, on=["file_id", "line", "link_id"], how="left")
    kinds = {"source": IsLinkType.SOURCE, "target": IsLinkType.TARGET,
             "bidirectional": IsLinkType.BIDIRECTIONAL, "unidirectional": IsLinkType.UNIDIRECTIONAL}
    # the event's own AttributeLocation column would shadow the link's `location`
    return (ev.filter(pl.col("message") == "EventCallDataChanged").drop("location", strict=False)
            .join(links, on=["file_id", "line"], how="inner")
            .select("app", "call", "link_id", "location",
                    link_type=pl.col("_type").replace_strict({k: int(v) for k, v in kinds.items()},
                                                             default=None, return_dtype=pl.Int32),
                    ts="ts", ord="ord", src="src", dss_id="dss_id", seq="seq", switch_id="switch_id"))


def groups(relations: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """call -> group (the smallest CallUUID of its connected component of consultation, merge and
    inter-site relations). Components are small, so label propagation converges in a few rounds."""
    edges = pl.concat([
        relations.filter(pl.col("parent_call").is_not_null()).select(a="call", b="parent_call"),
        relations.filter(pl.col("merge_call").is_not_null()).select(a="call", b="merge_call"),
        links.select("link_id", "call").unique()
        .join(links.select("link_id", b="call").unique(), on="link_id")
        .filter(pl.col("call") != pl.col("b")).select(a="call", b="b"),
    ])
    edges = pl.concat([edges, edges.select(a="b", b="a")]).unique()
    label = relations.select("call", group=pl.col("call"))
    extra = edges.select(call="a").unique().join(label, on="call", how="anti") \
        .with_columns(group=pl.col("call"))
    label = pl.concat([label, extra])
    for _ in range(MAX_ROUNDS):
        neighbour = (edges.join(label, left_on="b", right_on="call")
                     .group_by("a").agg(_min=pl.col("group").min()))
        new = (label.join(neighbour, left_on="call", right_on="a", how="left")
               .with_columns(group=pl.min_horizontal("group", "_min")).drop("_min"))
        if new.sort("call").equals(label.sort("call")):
            return new
        label = new
    return label
