"""Classify the top-level (non-indented) lines of a log and find where TLib blocks start.

Line shapes are in docs/log-format.md, "Top-level lines". Shapes are recognised with anchored,
capture-free regexes (fast), and fields are then cut at fixed positions; capturing regexes run
only on the few lines that have an unusual shape.
"""

from __future__ import annotations

import polars as pl

# @HH:MM:SS.ffff [0] 8.1.101.25 distribute_event: message EventReleased
AT_ANY = r"^@(\d{1,2}):(\d{2}):(\d{2})[.,](\d{1,6})\s"
# 2026-02-02T13:54:59.852 Trc 04112 The Log Output ...
ISO_FIXED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}[.,]\d{3}(\s|$)"
ISO_ANY = r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})[.,](\d{1,6})"
# 13:56:06.078: SIPCONN(1003): ... and 13:56:06.078 SIPCONN ...
TIME_FIXED = r"^\d{2}:\d{2}:\d{2}[.,]\d{3}([: ]|$)"
STD_FAST = r"^(?:Std|Trc|Int|Dbg|Alr|Unk|Non) \d{5}( |$)"
STD_EVENT = (r"^(?:Std|Trc|Int|Dbg|Alr|Unk|Non|Standard|Trace|Interaction|Debug|Alarm|Unknown|None)"
             r"\s+(?:\S+\s+\S+\s+\S+\s+)?(?:GCTI-\d{2}-)?(\d{5})\b")
REQUEST_RECEIVED = r"^(\w+) received from \[(\d+)\]\s*(?:\(\S+\s+(\S+)(?:\s+(\S+))?\))?"
# The usual shape of the above, `RequestX received from [12] (0000000c WDE_agent010 host:port)`:
# name and client are then the 1st and 6th space-separated words (what the regex captures).
REQUEST_USUAL = r"^\w+ received from \[\d+\] \([^\s()]+ [^\s()]+ [^\s()]+\)"
CLIENT_SIDE = r"(?:request to|received from) (\S+)(?:.*?)\smessage (\w+)\s*$"
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# an OCS reporting message to ICON: `<time> <any text> [GOMessageType] EventGOReportingData`
GO_MARK = "[GOMessageType] "
GO_MESSAGE = r"\[GOMessageType\] (\w+)\s*$"

KIND_HEADER = "header"
KIND_TLIB = "tlib_header"          # first line of a TLib block
KIND_TLIB_MESSAGE = "tlib_message"  # `message X` line completing a request / backup-sync header
KIND_STD = "std_event"
KIND_TEXT = "other"
KIND_BINARY = "binary"
DIRECTION_GO = "go"                  # an OCS reporting block (its lines one TAB deeper)


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

    The usual shapes (`@HH:MM:SS.ffff ... message X`, ISO 8601 + `Trc 04541 RequestX received
    from [n] (a b c)`, `message X`) are read by literal tests and fixed positions, each on the
    lines of its shape; capturing regexes run afterwards on the few lines of other shapes only
    (`_patch`).
    """
    frame = _usual_fields(top, check_binary)
    frame = _patch_unusual_stamps(frame)
    frame = _with_std_fields(frame)
    frame = _patch_unusual_requests(frame)
    return frame.lazy().select(*top.columns, *_kinds()).cast(RESULT_SCHEMA).collect()


def _usual_fields(top: pl.DataFrame, check_binary: bool) -> pl.DataFrame:
    """Each line shape's fields are computed on the lines of that shape only (`_patch`): a
    string parser inside when/then costs as much on the rows it leaves null as on the others."""
    line = pl.col("line")
    frame = top.with_columns(_at=~pl.col("is_header") & line.str.starts_with("@"),
                             _message=line.str.starts_with("message "))
    at, not_at = frame["_at"], ~frame["_at"]
    frame = _patch(
        frame, at,
        _at_pos=line.str.find(": message ", literal=True),
        _bsync=line.str.contains("[BSYNC]", literal=True),
        _to_client=line.str.contains("send_to_client", literal=True),
        _at_tod=_time_of_day(line.str.slice(1, 13)),
    )
    frame = _patch(frame, at, message=line.str.slice(pl.col("_at_pos") + 10).str.strip_chars_end())
    frame = _patch(
        frame, not_at,
        _iso=line.str.contains(ISO_FIXED),
        _iso_any=line.str.contains(ISO_ANY),
        _time=line.str.contains(TIME_FIXED),
        _client_like=(line.str.contains("request to ", literal=True)
                      | line.str.contains("received from ", literal=True)),
        _go_like=line.str.contains(GO_MARK, literal=True),
    )
    frame = frame.with_columns(pl.col("_bsync", "_to_client", "_iso", "_iso_any", "_time",
                                      "_client_like", "_go_like").fill_null(False))
    iso = frame["_iso"]
    frame = _patch(frame, iso, _stamp=line.str.slice(0, 23).str.replace("T", " ", literal=True)
                   .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False),
                   _rest=line.str.slice(24))
    rest = pl.col("_rest")
    frame = _patch(frame, iso, day=pl.col("_stamp").dt.date().cast(pl.Int32),
                   _iso_tod=pl.col("_stamp").dt.time().cast(pl.Int64) // 1000,
                   std_id=pl.when(rest.str.contains(STD_FAST)).then(rest.str.slice(4, 5)))
    frame = _patch(frame, frame["_time"], _time_tod=_time_of_day(line.str.slice(0, 12)))
    message_text = line.str.slice(8).str.strip_chars_end()
    frame = _patch(frame, frame["_message"],
                   message_line=pl.when(message_text.str.contains(r"^\w+$")).then(message_text))
    return frame.with_columns(
        tod_us=pl.when("_at").then("_at_tod").when("_iso").then("_iso_tod")
        .when("_time").then("_time_tod"),
        _binary=line.str.contains(CONTROL_CHARS) if check_binary else pl.lit(False),
    )


def _with_std_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """Standard event text, and request name and client of `Trc 04541` in its usual shape."""
    text = pl.when(pl.col("std_id").is_not_null()).then(
        pl.col("_rest").str.slice(10).str.strip_chars_start())
    request = pl.when(pl.col("std_id") == "04541").then(pl.col("_std_text"))
    words = pl.col("_words").struct
    return (frame.lazy()
            .with_columns(_std_text=text)
            .with_columns(_words=pl.when(request.str.contains(REQUEST_USUAL)).then(request)
                          .str.split_exact(" ", 5))
            .with_columns(_request_name=words.field("field_0"),
                          _request_client=words.field("field_5"))
            .drop("_words")
            .collect())


def _patch_unusual_stamps(frame: pl.DataFrame) -> pl.DataFrame:
    """1-digit hours and other fraction lengths (`@9:00:01.123`, `...T10:00:00.1234`), and
    standard events in the full or long-level form: the capturing regexes, on those lines."""
    odd_at = frame["_at"] & frame["tod_us"].is_null()
    if odd_at.any():
        parts = pl.col("line").str.extract_groups(AT_ANY)
        frame = _patch(frame, odd_at, tod_us=_tod(*(parts.struct.field(f) for f in "1234")))
    odd_iso = frame["_iso_any"] & ~frame["_iso"]
    if odd_iso.any():
        parts = pl.col("line").str.extract_groups(ISO_ANY)
        rest = pl.col("line").str.replace(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}[.,]\d+\s*", "")
        frame = _patch(frame, odd_iso, _rest=rest,
                       tod_us=_tod(*(parts.struct.field(f) for f in "4567")),
                       day=pl.date(*(_int(parts.struct.field(f)) for f in "123")).cast(pl.Int32))
        frame = _patch(frame, odd_iso, std_id=pl.when(pl.col("_rest").str.contains(STD_FAST))
                       .then(pl.col("_rest").str.slice(4, 5)))
    loose = frame["_iso_any"] & frame["std_id"].is_null()
    if loose.any():  # full-format or long level names
        frame = _patch(frame, loose, std_id=pl.col("_rest").str.extract(STD_EVENT, 1))
    return frame


def _patch_unusual_requests(frame: pl.DataFrame) -> pl.DataFrame:
    """Requests received in another shape, and client-side TLib headers: capturing regexes."""
    requests = (frame["std_id"] == "04541").fill_null(False)
    odd = requests & frame["_request_name"].is_null()
    if odd.any():
        parts = pl.col("_std_text").str.extract_groups(REQUEST_RECEIVED)
        frame = _patch(frame, odd, _request_name=parts.struct.field("1"),
                       _request_client=parts.struct.field("3"))
    go = frame["_go_like"] & frame["tod_us"].is_not_null()
    client = frame["_client_like"] & ~requests & ~go
    frame = frame.with_columns(_client_message=pl.lit(None, dtype=pl.String),
                               _client_app=pl.lit(None, dtype=pl.String),
                               _go_message=pl.lit(None, dtype=pl.String))
    if go.any():
        frame = _patch(frame, go, _go_message=pl.col("line").str.extract(GO_MESSAGE, 1))
    if client.any():
        parts = pl.col("line").str.extract_groups(CLIENT_SIDE)
        frame = _patch(frame, client, _client_message=parts.struct.field("2"),
                       _client_app=parts.struct.field("1"))
    return frame


def _kinds() -> list[pl.Expr]:
    at, header = pl.col("_at"), pl.col("is_header")
    request, client_side = pl.col("_request_name").is_not_null(), pl.col("_client_message").is_not_null()
    go = pl.col("_go_message").is_not_null()
    tlib_at = pl.col("tod_us").is_not_null() & (pl.col("_at_pos").is_not_null() | pl.col("_bsync"))
    return [
        pl.when(at).then(pl.when(tlib_at).then(pl.lit(KIND_TLIB)).otherwise(pl.lit(KIND_TEXT)))
        .when(header).then(pl.lit(KIND_HEADER))
        .when(request | client_side | go).then(pl.lit(KIND_TLIB))
        .when(pl.col("message_line").is_not_null()).then(pl.lit(KIND_TLIB_MESSAGE))
        .when(pl.col("std_id").is_not_null()).then(pl.lit(KIND_STD))
        .when(pl.col("_binary")).then(pl.lit(KIND_BINARY))
        .otherwise(pl.lit(KIND_TEXT)).alias("kind"),
        pl.when(at).then(pl.when(pl.col("_bsync")).then(pl.lit("bsync"))
                         .when(pl.col("_at_pos").is_null()).then(None)
                         .when(pl.col("_to_client")).then(pl.lit("reply"))
                         .otherwise(pl.lit("event")))
        .when(header).then(None)
        .when(request).then(pl.lit("request"))
        .when(go).then(pl.lit(DIRECTION_GO))
        .when(client_side).then(pl.lit("client")).alias("direction"),
        pl.when(at).then(pl.col("message"))
        .otherwise(pl.coalesce("_request_name", "_go_message", "_client_message")).alias("message"),
        "message_line",
        pl.coalesce("_request_client", "_client_app").alias("client"),
        "tod_us", "day", "std_id",
        ((pl.col("std_id") == "04120")
         & pl.col("_std_text").str.starts_with("Check point").fill_null(False)).alias("checkpoint"),
    ]


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
    the message); anywhere else it starts a block of its own (client-side form). "Right after"
    looks across a segment's header: a segment may roll over between the two lines (H11).
    """
    # the previous line that is not a segment header line
    previous = (pl.when(pl.col("kind") != KIND_HEADER).then(pl.int_range(pl.len()))
                .shift(1).forward_fill())

    def before(column: str) -> pl.Expr:
        return pl.col(column).gather(previous)

    prev_kind = before("kind")
    prev_message = before("message")
    continues_header = ((pl.col("kind") == KIND_TLIB_MESSAGE) & (prev_kind == KIND_TLIB)
                        & (before("direction").is_in(["request", "bsync"])))
    return (
        top.lazy()
        .with_columns(continues_header=continues_header.fill_null(False))
        .with_columns(
            starts_block=(pl.col("kind") == KIND_TLIB)
            | ((pl.col("kind") == KIND_TLIB_MESSAGE) & ~pl.col("continues_header")),
        )
        .with_columns(
            block=pl.when(pl.col("starts_block")).then(pl.col("i"))
            .when(pl.col("continues_header")).then(before("i"))
            .otherwise(pl.lit(-1, dtype=pl.Int64)),
            # a message line completing a header supplies the name when the header lacked one
            message=pl.when(pl.col("continues_header"))
            .then(pl.coalesce(prev_message, pl.col("message_line")))
            .otherwise(pl.coalesce("message", "message_line")),
            direction=pl.when(pl.col("kind") == KIND_TLIB_MESSAGE)
            .then(pl.when(pl.col("continues_header")).then(before("direction"))
                  .otherwise(pl.lit("client")))
            .otherwise(pl.col("direction")),
            kind=pl.when(pl.col("kind") == KIND_TLIB_MESSAGE).then(pl.lit(KIND_TLIB))
            .otherwise(pl.col("kind")),
        )
        .drop("continues_header", "starts_block", "message_line")
        .collect()
    )
