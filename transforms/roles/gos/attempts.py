"""What campaign and chain processing attempts share: the OCS reporting events that make them,
their GUIDs, OCS's names for enumerations, and the closure at the end of a data source session
(docs/semantics.md §14)."""

from __future__ import annotations

from enum import IntEnum

import polars as pl

from transforms.idb import row_id

GO_REPORTING = "EventGOReportingData"
CLOSED_DSS_END = "dss_end"


def go_events(events: pl.DataFrame, codes: list[str]) -> pl.DataFrame:
    """The window's OCS reporting events of `codes`, in order."""
    return (events.filter((pl.col("message") == GO_REPORTING)
                          & pl.col("go_evt_code").is_in(codes))
            .with_columns(pl.col("dss_id").cast(pl.Int64))
            .sort("ts", "file_id", "line"))


def attempt_number(group: list[str], start_code: str, end_codes: tuple[str, ...],
                   guid: str) -> pl.Expr:
    """The attempt number of each event within its group (events in order): a new attempt
    begins at a `start_code` event, at the first event after an end, and where the GUID the
    events carry changes. (The look-back's index numbers its rows with the same expression.)"""
    code, name = pl.col("go_evt_code"), pl.col(guid)
    earlier = name.forward_fill().shift(1).over(group)
    begins = ((code == start_code)
              | code.shift(1).over(group).is_in(list(end_codes)).fill_null(False)
              | (name.is_not_null() & earlier.is_not_null() & (name != earlier)))
    return begins.fill_null(False).cast(pl.Int32).cum_sum().over(group)


def with_attempts(ev: pl.DataFrame, group: list[str], start_code: str,
                  end_codes: tuple[str, ...], guid: str, alias: str) -> pl.DataFrame:
    """`alias`: the attempt each event of `group` belongs to (`attempt_number`). An attempt
    that begins with its `start_code` event is named by the GUID its events carry (`guid`);
    one whose start is not in the data (older than the data, or in a data source session that
    broke) is named by the ETL from its group and first event (`etl-<n>`), since the GUID it
    carries may be that of the older attempt. A group key the log leaves out is a key too."""
    attempt = [*group, "_n"]
    ev = ev.with_columns(_n=attempt_number(group, start_code, end_codes, guid))
    ev = ev.with_columns(
        _first_ts=pl.col("ts").min().over(attempt),
        _guid=pl.when(pl.col("go_evt_code").first().over(attempt) == start_code)
        .then(pl.col(guid).drop_nulls().first().over(attempt)))
    keys = [pl.col(c).cast(pl.String).fill_null("") for c in group]
    minted = pl.concat_str([pl.lit("etl-"), row_id(*keys, pl.col("_first_ts").dt.epoch("us"))])
    return ev.with_columns(pl.coalesce("_guid", minted).alias(alias)).drop("_n", "_first_ts",
                                                                          "_guid")


def code(text: pl.Expr, enum: type[IntEnum]) -> pl.Expr:
    """OCS's printed name (`PredictiveWithSeizing`, `predictive with seizing`) -> the enum's code;
    an unknown name -> UNKNOWN, an absent one -> null."""
    names = {m.name.replace("_", "").lower(): int(m) for m in enum}
    folded = text.str.to_lowercase().str.replace_all(r"[\s_-]", "")
    return pl.when(text.is_not_null()).then(
        folded.replace_strict(names, default=int(enum.UNKNOWN), return_dtype=pl.Int32))


def close_at_dss_end(attempts: pl.DataFrame, dss_ends: pl.DataFrame | None,
                     horizon) -> pl.DataFrame:
    """`attempts` (open, last, terminated, src_last, dss_id): one still open when its data
    source session ended is closed then (never before its own last event), once the window's
    data reaches that moment (`horizon`), as gls closes login sessions; `closed_by` says so."""
    closed = pl.lit(None, dtype=pl.String).alias("closed_by")
    if dss_ends is None or dss_ends.height == 0 or horizon is None:
        return attempts.with_columns(closed)
    dtype = attempts["last"].dtype
    ends = dss_ends.select(pl.col("dss_id").cast(pl.Int64), _end=pl.col("end_ts").cast(dtype),
                           _end_src=pl.col("end_src").cast(pl.String)).unique("dss_id")
    attempts = attempts.join(ends, on="dss_id", how="left")
    close = (pl.col("open") & pl.col("_end").is_not_null()
             & (pl.col("_end") <= pl.lit(horizon).cast(dtype))).fill_null(False)
    return attempts.with_columns(
        terminated=pl.when(close).then(pl.max_horizontal("_end", "last"))
        .otherwise("terminated"),
        src_last=pl.when(close).then(pl.col("_end_src")).otherwise("src_last"),
        closed_by=pl.when(close).then(pl.lit(CLOSED_DSS_END)),
        open=pl.col("open") & ~close).drop("_end", "_end_src")


def status(attempts: pl.DataFrame, entity: str) -> pl.DataFrame:
    """The RoleResult status of attempts: open until they end; a closure without an event of
    its own settles at its moment."""
    return attempts.select(
        entity=entity, open="open", last_ts="last",
        settles_at=pl.when(pl.col("closed_by").is_not_null()).then(pl.col("terminated")))
