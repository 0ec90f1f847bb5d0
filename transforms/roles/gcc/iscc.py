"""Inter-site (ISCC) links: G_IS_LINK, G_IS_LINK_HISTORY, GSYS_DNPREMOTELOCATION and the
cross-site merge that puts the calls of both sites in one interaction hierarchy.

A link is reported (AttributeISLinkList of EventCallDataChanged) against one call per site; it
moves with that call when the call is merged into another (EventCallDeleted with RefCallUUID), and
ends when the call holding it ends (docs/semantics.md §6). Halves with the same link id on two
switches pair up. A half whose remote switch is monitored but whose other half never appears is
flagged DANGLING and left as it is: it is never relabelled inbound or outbound.
"""

from __future__ import annotations

import polars as pl

from transforms.idb.dictionary import IsLinkChange, IsLinkMergeState, IsLinkState, IsLinkType


def link_halves(links: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """One row per (link, switch): the first report, the call holding the link now (after merges)
    and when the link moved or ended. `facts`: call facts with merge_call/merge_ts/end_ts."""
    first = (links.sort("ord").group_by("link_id", "app", maintain_order=True)
             .agg(pl.all().first()))
    hops = facts.select("call", "merge_call", "merge_ts", "merge_ord", "last_src")
    # follow merges: a link moves to the call its call merged into
    holder = first.select("link_id", "app", holder=pl.col("call"))
    moves = []
    for _ in range(8):
        step = holder.join(hops, left_on="holder", right_on="call", how="inner").filter(
            pl.col("merge_call").is_not_null())
        if step.height == 0:
            break
        moves.append(step.select("link_id", "app", prev_call="holder", call="merge_call",
                                 ts="merge_ts", ord="merge_ord", src="last_src"))
        holder = holder.join(step.select("link_id", "app", _next="merge_call"),
                             on=["link_id", "app"], how="left").with_columns(
            holder=pl.coalesce("_next", "holder")).drop("_next")
    ends = facts.select(holder="call", end_ts="end_ts", end_ord="end_ord", end_src="end_src")
    halves = (first.join(holder, on=["link_id", "app"], how="left")
              .join(ends, on="holder", how="left"))
    move_frame = pl.concat(moves) if moves else pl.DataFrame(
        schema={"link_id": pl.String, "app": pl.String, "prev_call": pl.String, "call": pl.String,
                "ts": pl.Datetime("us", "UTC"), "ord": pl.UInt32, "src": pl.String})
    return halves, move_frame


def merge_states(halves: pl.DataFrame, monitored_switches: set[str]) -> pl.DataFrame:
    """MERGESTATE per half, and the remote locations that are not monitored."""
    pairs = halves.group_by("link_id").agg(_sites=pl.col("app").n_unique())
    return halves.join(pairs, on="link_id", how="left").with_columns(
        merge_state=pl.when(pl.col("_sites") >= 2).then(int(IsLinkMergeState.MERGED))
        .when(~pl.col("location").is_in(list(monitored_switches)))
        .then(int(IsLinkMergeState.UNMONITORED))
        .when(pl.col("end_ts").is_not_null()).then(int(IsLinkMergeState.DANGLING))
        .otherwise(int(IsLinkMergeState.PENDING)).cast(pl.Int32),
        state=pl.when(pl.col("end_ts").is_not_null()).then(int(IsLinkState.TERMINATED))
        .otherwise(int(IsLinkState.ACTIVE)).cast(pl.Int32),
    ).drop("_sites")


def cross_site_parents(halves: pl.DataFrame) -> pl.DataFrame:
    """For each paired link: the target site's call joins the source site's hierarchy (its IR
    becomes a child of the IR of the call holding the source half). Rows: call, parent_call, ts,
    ord, src (when the second half was reported)."""
    paired = halves.filter(pl.col("merge_state") == int(IsLinkMergeState.MERGED))
    source = paired.filter(pl.col("link_type") != int(IsLinkType.TARGET)).select(
        "link_id", parent_call="holder", _sts="ts", _sord="ord")
    target = paired.filter(pl.col("link_type") == int(IsLinkType.TARGET)).select(
        "link_id", "call", "ts", "ord", "src")
    joined = target.join(source, on="link_id", how="inner")
    later = pl.col("_sord") > pl.col("ord")
    return joined.select(
        "call", "parent_call",
        ts=pl.when(later).then(pl.col("_sts")).otherwise(pl.col("ts")),
        ord=pl.when(later).then(pl.col("_sord")).otherwise(pl.col("ord")), src="src")


def link_history(halves: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    added = halves.select("link_id", "app", "switch_id", "dss_id", ts="ts", ord="ord", src="src",
                          call="call", prev_call=pl.lit(None, dtype=pl.String),
                          change=pl.lit(int(IsLinkChange.ADDED)),
                          state=pl.lit(int(IsLinkState.ACTIVE)))
    moved = moves.join(halves.select("link_id", "app", "switch_id", "dss_id"), on=["link_id", "app"]) \
        .select("link_id", "app", "switch_id", "dss_id", "ts", "ord", "src", "call", "prev_call",
                change=pl.lit(int(IsLinkChange.MOVED)), state=pl.lit(int(IsLinkState.ACTIVE)))
    deleted = halves.filter(pl.col("end_ts").is_not_null()).select(
        "link_id", "app", "switch_id", "dss_id", ts="end_ts", ord="end_ord", src="end_src",
        call="holder", prev_call=pl.lit(None, dtype=pl.String),
        change=pl.lit(int(IsLinkChange.DELETED)), state=pl.lit(int(IsLinkState.TERMINATED)))
    rows = pl.concat([added, moved, deleted], how="vertical_relaxed").sort("link_id", "app", "ord")
    return rows.with_columns(seq=pl.int_range(1, pl.len() + 1).over("link_id", "app").cast(pl.Int32))
