"""Classify the top-level (non-indented) lines of a log and find where TLib blocks start.

Line shapes are in tserver-log-format.md §1.3 and §2.1. Shapes are recognised with anchored,
capture-free regexes (fast), and fields are then cut at fixed positions; capturing regexes run
only on the few lines that have an unusual shape.
"""

from __future__ import annotations

import polars as pl

# @HH:MM:SS.ffff [0] 8.1.101.25 distribute_event: message EventReleased
AT_FIXED = r"^@\d{2}:\d{2}:\d{2}\.\d{4}\s"
AT_ANY = r"^@(\d{1,2}):(\d{2}):(\d{2})[.,](\d{1,6})\s"
# 2026-02-02T13:54:59.852 Trc 04112 The Log Output ...
ISO_FIXED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}[.,]\d{3}(\s|$)"
ISO_ANY = r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})[.,](\d{1,6})"
# 13:56:06.078: SIPCONN(1003): ... and 13:56:06.078 SIPCONN ...
TIME_FIXED = r"^\d{2}:\d{2}:\d{2}[.,]\d{3}([: ]|$)"
STD_EVENT = (r"^(?:Std|Trc|Int|Dbg|Alr|Unk|Non|Standard|Trace|Interaction|Debug|Alarm|Unknown|None)"
             r"\s+(?:\S+\s+\S+\s+\S+\s+)?(?:GCTI-\d{2}-)?(\d{5})\b")
REQUEST_RECEIVED = r"^(\w+) received from \[(\d+)\]\s*(?:\(\S+\s+(\S+)(?:\s+(\S+))?\))?"
MESSAGE_LINE = r"^message (\w+)\s*$"
CLIENT_SIDE = r"(?:request to|received from) (\S+)(?:.*?)\smessage (\w+)\s*$"
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

KIND_HEADER = "header"
KIND_TLIB = "tlib_header"          # first line of a TLib block
KIND_TLIB_MESSAGE = "tlib_message"  # `message X` line completing a request / backup-sync header
KIND_STD = "std_event"
KIND_TEXT = "other"
KIND_BINARY = "binary"

DIRECTIONS = ["event", "reply", "request", "bsync", "client"]


def _int(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int64, strict=False)


def _micros(frac: pl.Expr) -> pl.Expr:
    """'5939' (0.1 ms) and '852' (ms) are both fractions of a second."""
    return _int(frac.str.pad_end(6, "0").str.slice(0, 6))


def _tod(h: pl.Expr, m: pl.Expr, s: pl.Expr, frac: pl.Expr) -> pl.Expr:
    return (_int(h) * 3600 + _int(m) * 60 + _int(s)) * 1_000_000 + _micros(frac)


def _time_of_day(text: pl.Expr) -> pl.Expr:
    """µs since midnight of 'HH:MM:SS.ffff' (any fraction length)."""
    return text.str.to_time("%H:%M:%S%.f", strict=False).cast(pl.Int64) // 1000


RESULT_SCHEMA = {"kind": pl.String, "direction": pl.String, "message": pl.String,
                 "message_line": pl.String, "client": pl.String, "tod_us": pl.Int64,
                 "day": pl.Int32, "std_id": pl.String, "checkpoint": pl.Boolean}


def classify_top(top: pl.DataFrame, check_binary: bool = True) -> pl.DataFrame:
    """Add kind, direction, message, client, tod_us (time of day, µs), day (days since 1970 for
    lines that print a date), std_id and checkpoint to the top-level lines in `top`
    (columns `i`, `line`, `is_header`, in file order).

    TLib event headers (`@...`) are the bulk of a T-Server log's top-level lines, so they take a
    short path of literal tests; the other shapes are parsed on their own (smaller) subset.
    """
    line = pl.col("line")
    is_at = ~pl.col("is_header") & line.str.starts_with("@")
    at_rows = top.filter(is_at)
    others = top.filter(~is_at)
    parts = [_classify_at(at_rows), _classify_other(others, check_binary)]
    out = pl.concat([p.select(top.columns + list(RESULT_SCHEMA)).cast(RESULT_SCHEMA) for p in parts])
    return out.sort("i") if at_rows.height and others.height else out


def _classify_at(rows: pl.DataFrame) -> pl.DataFrame:
    line = pl.col("line")
    at_pos = line.str.find(": message ", literal=True)
    bsync = line.str.contains("[BSYNC]", literal=True)
    rows = rows.with_columns(tod_us=_time_of_day(line.str.slice(1, 13)))
    odd = rows["tod_us"].is_null()
    if odd.any():  # 1-digit hours, other fraction lengths: the capturing regex, on those only
        fixed = rows.filter(~odd)
        rows = pl.concat([fixed, rows.filter(odd).with_columns(tod_us=_at_any_tod())]).sort("i")
    return rows.with_columns(
        day=pl.lit(None, dtype=pl.Int32),
        message=line.str.slice(at_pos + 10).str.strip_chars_end(),
        message_line=pl.lit(None, dtype=pl.String),
        client=pl.lit(None, dtype=pl.String),
        std_id=pl.lit(None, dtype=pl.String),
        checkpoint=pl.lit(False),
    ).with_columns(
        kind=pl.when(pl.col("tod_us").is_not_null() & (at_pos.is_not_null() | bsync))
        .then(pl.lit(KIND_TLIB)).otherwise(pl.lit(KIND_TEXT)),
        direction=pl.when(bsync).then(pl.lit("bsync"))
        .when(at_pos.is_null()).then(None)
        .when(line.str.contains("send_to_client", literal=True)).then(pl.lit("reply"))
        .otherwise(pl.lit("event")),
    )


def _at_any_tod() -> pl.Expr:
    parts = pl.col("line").str.extract_groups(AT_ANY)
    return _tod(parts.struct.field("1"), parts.struct.field("2"), parts.struct.field("3"),
                parts.struct.field("4"))


STD_FAST = r"^(?:Std|Trc|Int|Dbg|Alr|Unk|Non) \d{5}( |$)"


def _classify_other(rows: pl.DataFrame, check_binary: bool) -> pl.DataFrame:
    """Standard log events (incl. `Trc 04541 RequestX received from ...`), `message X` lines,
    client-side TLib headers, traces and free text. The usual ISO 8601 + `Trc 04541` shape is cut
    at fixed positions; regexes run on the lines that do not fit it."""
    line = pl.col("line")
    stamp = line.str.slice(0, 23).str.replace("T", " ", literal=True).str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f", strict=False)
    base = rows.with_columns(
        _iso=line.str.contains(ISO_FIXED),
        _iso_any=line.str.contains(ISO_ANY),
    ).with_columns(
        _rest=pl.when(pl.col("_iso")).then(line.str.slice(24)),
        tod_us=pl.when(pl.col("_iso")).then(stamp.dt.time().cast(pl.Int64) // 1000)
        .when(line.str.contains(TIME_FIXED)).then(_time_of_day(line.str.slice(0, 12))),
        day=pl.when(pl.col("_iso")).then(stamp.dt.date().cast(pl.Int32)),
    )
    odd = base["_iso_any"] & ~base["_iso"]
    if odd.any():  # other fraction lengths or a space between date and time
        parts = line.str.extract_groups(ISO_ANY)
        fixed = base.filter(odd).with_columns(
            _rest=line.str.replace(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}[.,]\d+\s*", ""),
            tod_us=_tod(parts.struct.field("4"), parts.struct.field("5"),
                        parts.struct.field("6"), parts.struct.field("7")),
            day=pl.date(_int(parts.struct.field("1")), _int(parts.struct.field("2")),
                        _int(parts.struct.field("3"))).cast(pl.Int32))
        base = pl.concat([base.filter(~odd), fixed]).sort("i")
    rest = pl.col("_rest")
    base = base.with_columns(
        std_id=pl.when(rest.str.contains(STD_FAST)).then(rest.str.slice(4, 5)))
    loose = base["_iso_any"] & base["std_id"].is_null()
    if loose.any():  # full-format or long level names
        base = _patch(base, loose, std_id=rest.str.extract(STD_EVENT, 1))
    base = base.with_columns(
        _std_text=pl.when(pl.col("std_id").is_not_null()).then(
            rest.str.slice(10).str.strip_chars_start()),
        _request_name=pl.lit(None, dtype=pl.String), _request_client=pl.lit(None, dtype=pl.String),
        _client_message=pl.lit(None, dtype=pl.String), _client_app=pl.lit(None, dtype=pl.String),
        message_line=pl.when(line.str.starts_with("message ")).then(
            line.str.slice(8).str.strip_chars_end()),
    )
    requests = (base["std_id"] == "04541").fill_null(False)
    if requests.any():
        parts = pl.col("_std_text").str.extract_groups(REQUEST_RECEIVED)
        base = _patch(base, requests, _request_name=parts.struct.field("1"),
                      _request_client=parts.struct.field("3"))
    client = base.select(line.str.contains("request to ", literal=True)
                         | line.str.contains("received from ", literal=True)).to_series() & ~requests
    if client.any():
        parts = line.str.extract_groups(CLIENT_SIDE)
        base = _patch(base, client, _client_message=parts.struct.field("2"),
                      _client_app=parts.struct.field("1"))
    binary = line.str.contains(CONTROL_CHARS) if check_binary else pl.lit(False)
    return base.with_columns(
        message_line=pl.when(pl.col("message_line").str.contains(r"^\w+$"))
        .then(pl.col("message_line")),
    ).with_columns(
        kind=pl.when(pl.col("is_header")).then(pl.lit(KIND_HEADER))
        .when(pl.col("_request_name").is_not_null()).then(pl.lit(KIND_TLIB))
        .when(pl.col("_client_message").is_not_null()).then(pl.lit(KIND_TLIB))
        .when(pl.col("message_line").is_not_null()).then(pl.lit(KIND_TLIB_MESSAGE))
        .when(pl.col("std_id").is_not_null()).then(pl.lit(KIND_STD))
        .when(binary).then(pl.lit(KIND_BINARY))
        .otherwise(pl.lit(KIND_TEXT)),
        direction=pl.when(pl.col("is_header")).then(None)
        .when(pl.col("_request_name").is_not_null()).then(pl.lit("request"))
        .when(pl.col("_client_message").is_not_null()).then(pl.lit("client")),
        message=pl.coalesce("_request_name", "_client_message"),
        client=pl.coalesce("_request_client", "_client_app"),
        checkpoint=(pl.col("std_id") == "04120")
        & pl.col("_std_text").str.starts_with("Check point").fill_null(False),
    )


def _patch(frame: pl.DataFrame, mask: pl.Series, **exprs: pl.Expr) -> pl.DataFrame:
    """Evaluate `exprs` only on the rows of `mask` and write the results back in place."""
    idx = mask.arg_true()
    values = frame.filter(mask).select(**exprs)
    return frame.with_columns(
        frame[name].cast(values[name].dtype).scatter(idx, values[name]) if name in frame.columns
        else pl.repeat(None, frame.height, dtype=values[name].dtype, eager=True)
        .scatter(idx, values[name]).alias(name)
        for name in exprs)


def assign_blocks(top: pl.DataFrame) -> pl.DataFrame:
    """Give every top-level line its TLib block id (`block`, the row index `i` of the block's first
    line) or -1 when it is not part of a TLib block.

    A `message X` line right after a request/backup-sync header completes that header (it names
    the message); anywhere else it starts a block of its own (client-side form).
    """
    prev_kind = pl.col("kind").shift(1)
    prev_message = pl.col("message").shift(1)
    continues_header = ((pl.col("kind") == KIND_TLIB_MESSAGE) & (prev_kind == KIND_TLIB)
                        & (pl.col("direction").shift(1).is_in(["request", "bsync"])))
    return (
        top.lazy()
        .with_columns(continues_header=continues_header.fill_null(False))
        .with_columns(
            starts_block=(pl.col("kind") == KIND_TLIB)
            | ((pl.col("kind") == KIND_TLIB_MESSAGE) & ~pl.col("continues_header")),
        )
        .with_columns(
            block=pl.when(pl.col("starts_block")).then(pl.col("i"))
            .when(pl.col("continues_header")).then(pl.col("i").shift(1))
            .otherwise(pl.lit(-1, dtype=pl.Int64)),
            # a message line completing a header supplies the name when the header lacked one
            message=pl.when(pl.col("continues_header"))
            .then(pl.coalesce(prev_message, pl.col("message_line")))
            .otherwise(pl.coalesce("message", "message_line")),
            direction=pl.when(pl.col("kind") == KIND_TLIB_MESSAGE)
            .then(pl.when(pl.col("continues_header")).then(pl.col("direction").shift(1))
                  .otherwise(pl.lit("client")))
            .otherwise(pl.col("direction")),
            kind=pl.when(pl.col("kind") == KIND_TLIB_MESSAGE).then(pl.lit(KIND_TLIB))
            .otherwise(pl.col("kind")),
        )
        .drop("continues_header", "starts_block", "message_line")
        .collect()
    )
