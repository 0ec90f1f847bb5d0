"""Parse the indented lines of TLib blocks into attributes and KV-list members.

Forms (docs/log-format.md, "TLib blocks"): `\tAttributeName\tvalue` at depth 1; KV-list members
`\t\t'key'\tvalue` at depth 2; nested lists `'key'(list) ` with their members one level deeper.

This runs on most lines of a T-Server log, so it is built for few operations per line: all
continuation lines stay in one frame in file order; the leading TABs give the depth, and the rest
of the line is cut once at TAB into token and value (attribute name and value, or member key and
value). A member finds its parent (its attribute, or its enclosing list) by position: a forward
fill points every line at the nearest earlier attribute line. Lines of any other shape
(space-indented copies, values that contain a TAB, `\t(error text)`, a list's first child on the
list's own line) take a regex path, on those lines only.
"""

from __future__ import annotations

import polars as pl

MAX_DEPTH = 8
ATTRIBUTE_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
# 'key'(list) value | 'key'\tvalue | key value   (the key may contain spaces and quotes)
KV_MEMBER = r"^(?:'(.*?)'|([^\s'(][^\s(]*))(\(list\))?(?:[\t ]+(.*))?$"
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

VTYPES = ["str", "int", "list", "raw", "none"]
VTYPE = pl.Enum(VTYPES)

BAD_SCHEMA = {"i": pl.Int64, "file_id": pl.UInt32, "line_no": pl.UInt32, "reason": pl.String,
              "line": pl.String}


def typed_value(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(value, vtype): quoted strings lose their quotes; lists keep their `[n] ..` header.

    Decided from the first and last characters, so nothing here scans a whole value.
    """
    quoted = raw.str.starts_with("'") & raw.str.ends_with("'") & (raw.str.len_bytes() >= 2)
    vtype = (
        pl.when(raw.is_null() | (raw == "")).then(pl.lit("none", dtype=VTYPE))
        .when(quoted).then(pl.lit("str", dtype=VTYPE))
        .when(raw.cast(pl.Int64, strict=False).is_not_null()).then(pl.lit("int", dtype=VTYPE))
        .when(raw.str.starts_with("[") & raw.str.contains("]", literal=True))
        .then(pl.lit("list", dtype=VTYPE))
        .otherwise(pl.lit("raw", dtype=VTYPE))
    )
    value = pl.when(quoted).then(drop_quotes(raw)).otherwise(raw)
    return value, vtype


def drop_quotes(text: pl.Expr) -> pl.Expr:
    """`'value'` -> `value`: exactly one quote off each end (a value may itself begin or end
    with a quote: `''); DROP TABLE …'` keeps its own)."""
    return text.str.slice(1, text.str.len_chars() - 2)


def unquoted(text: pl.Expr) -> pl.Expr:
    """Quoted text without its quotes; anything else as it is."""
    quoted = text.str.starts_with("'") & text.str.ends_with("'") & (text.str.len_chars() >= 2)
    return pl.when(quoted).then(drop_quotes(text)).otherwise(text)


def declared_pairs(value: pl.Expr) -> pl.Expr:
    """Top-level pair count from a KV-list header `[561] 00 14 00 00..` (bytes 0-1, big-endian)."""
    p = value.str.find("] ", literal=True)
    b0 = value.str.slice(p + 2, 2).str.to_integer(base=16, strict=False)
    b1 = value.str.slice(p + 5, 2).str.to_integer(base=16, strict=False)
    return (b0 * 256 + b1).cast(pl.Int32)


def _split_fields(cont: pl.DataFrame) -> pl.DataFrame:
    """Depth (leading TABs), token and raw value of every continuation line, and `_slow` for the
    lines that are not one of the two usual shapes:

    * attribute `\tName\tvalue`: one leading TAB, one TAB after a name not starting with `(`;
    * KV member `\t\t'key'\tvalue` or `\t\t'key'(list) `: two leading TABs, a quoted key, at
      most one TAB after it.

    Cutting after the leading TABs puts token and value in the same two fields for both shapes
    (no per-row choice between fields). `_slow_fields` fills in the other lines."""
    line = pl.col("line")
    token, raw, extra = (pl.col("_s").struct.field(f"field_{k}") for k in range(3))
    depth = pl.col("depth")
    attribute = ((depth == 1) & (token.str.len_bytes() > 0) & raw.is_not_null() & extra.is_null()
                 & ~token.str.starts_with("("))
    member = ((depth == 2) & (token.str.len_bytes() > 0) & extra.is_null()
              & token.str.starts_with("'")
              & (token.str.ends_with("'") | token.str.ends_with("(list)")
                 | token.str.ends_with("(list) ")))
    return (
        cont.lazy()
        .with_columns(_body=line.str.strip_chars_start("\t"))
        # depth: how many leading TABs were cut off
        .with_columns(depth=(line.str.len_bytes() - pl.col("_body").str.len_bytes()).cast(pl.Int8),
                      _s=pl.col("_body").str.split_exact("\t", 2))
        .with_columns(token=token, raw=raw, _slow=~(attribute | member).fill_null(False))
        .drop("_body", "_s")
        .collect()
    )


def _tab_depth(line: pl.Expr) -> pl.Expr:
    depth = pl.lit(0, dtype=pl.Int8)
    for level in range(1, MAX_DEPTH + 2):
        depth = depth + line.str.starts_with("\t" * level).cast(pl.Int8)
    return depth


def _slow_fields(rows: pl.DataFrame) -> pl.DataFrame:
    """The regex path for lines of unusual shape: depth, token and raw as the fast paths give."""
    tabs = _tab_depth(pl.col("line"))
    lead = pl.col("line").str.len_bytes() - pl.col("line").str.strip_chars_start(" ").str.len_bytes()
    rows = (rows.with_columns(_tabs=tabs, _lead=lead)
            .with_columns(_unit=pl.when(pl.col("_tabs") == 0).then(pl.col("_lead")).min().over("block"))
            .with_columns(depth=pl.when(pl.col("_tabs") > 0).then(pl.col("_tabs"))
                          .otherwise((pl.col("_lead") / pl.col("_unit")).round(0))
                          .cast(pl.Int8)))
    body = pl.col("line").str.strip_chars_start(" \t")
    paren = body.str.starts_with("(") & body.str.ends_with(")")
    attr = body.str.extract_groups(r"^(\S+?)(?:\t+|\s+)(.*)$")
    member = body.str.extract_groups(KV_MEMBER)
    return rows.with_columns(
        token=pl.when(paren).then(pl.lit("(text)"))
        .when(pl.col("depth") == 1).then(pl.coalesce(attr.struct.field("1"), body))
        .otherwise(pl.when(member.struct.field("1").is_not_null())
                   .then(pl.concat_str([pl.lit("'"), member.struct.field("1"), pl.lit("'")]))
                   .otherwise(member.struct.field("2"))
                   + pl.when(member.struct.field("3").is_not_null()).then(pl.lit("(list)"))
                   .otherwise(pl.lit(""))),
        raw=pl.when(paren).then(body.str.slice(1, body.str.len_chars() - 2))
        .when(pl.col("depth") == 1).then(attr.struct.field("2"))
        .otherwise(member.struct.field("4")),
    ).drop("_tabs", "_lead", "_unit")


def parse_continuations(cont: pl.DataFrame, check_binary: bool = True
                        ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Split TLib continuation lines into (attributes, kvpairs, quarantined).

    `cont` columns: i (position), block (TLib block id), file_id, line_no, line, plus any
    columns to carry along (the event index); in file order. Attribute values stay as printed;
    KV values are unquoted and typed. kvpairs has `_kid` set on members read from a list's own
    line (`line_counts` counts lines, not members).
    """
    carried = [c for c in cont.columns if c not in ("i", "block", "file_id", "line_no", "line")]
    rows = _split_fields(cont)
    slow = rows["_slow"]
    if slow.any():  # unusual shapes: the regex path, on those rows only, written back in place
        slow_rows = _slow_fields(rows.filter(slow).drop("depth", "token", "raw"))
        rows = _scatter(rows, slow.arg_true(), slow_rows.select("depth", "token", "raw"))
    problems = _attribute_problems(rows, check_binary)
    is_attr = pl.col("depth") <= 1
    good_attr = is_attr if problems is None else is_attr & problems.is_null()
    is_member = pl.col("depth") >= 2
    # every line's nearest earlier good attribute line: the parent of a depth-2 member
    rows = rows.with_columns(_p=pl.when(good_attr).then(pl.int_range(pl.len(), dtype=pl.UInt32))
                             .forward_fill())
    parent = pl.col("_p").filter(is_member)
    attrs, members, bad_attrs = pl.collect_all([
        rows.lazy().filter(good_attr)
        .select(*carried, "file_id", "line_no", name="token", value="raw"),
        rows.lazy().select(
            *[pl.col(c).filter(is_member) for c in ("i", "block", *carried, "file_id",
                                                    "line_no", "line", "depth", "token", "raw")],
            attribute=pl.col("token").gather(parent),
            path=pl.when(parent.is_not_null()).then(pl.lit("")),  # null: no parent line at all
            _parent_ok=((pl.col("block").gather(parent) == pl.col("block").filter(is_member))
                        & pl.col("raw").gather(parent).str.starts_with("[").fill_null(False)),
        ),
        (rows.lazy().filter(is_attr & problems.is_not_null())
         .select("i", "file_id", "line_no", reason=problems, line="line")
         if problems is not None else pl.LazyFrame(schema=BAD_SCHEMA)),
    ])
    attrs = _with_declared_pairs(attrs)
    members = _place_members(members, check_binary)
    good, bad_members = pl.collect_all([
        members.lazy().filter(pl.col("reason").is_null()).pipe(_typed_members),
        members.lazy().filter(pl.col("reason").is_not_null()).select(list(BAD_SCHEMA)),
    ])
    bad = pl.concat([bad_attrs.cast(BAD_SCHEMA), bad_members.cast(BAD_SCHEMA)])
    if bad.height:
        bad = bad.sort("i")
    return attrs, _with_inline_children(good, carried), bad.drop("i")


def _with_declared_pairs(attrs: pl.DataFrame) -> pl.DataFrame:
    """`kv_declared` on KV-list headers (a few per event): computed on those rows only, since
    even on null-masked rows the string steps would cost as much as on all rows."""
    lists = attrs["value"].str.starts_with("[")
    declared = pl.repeat(None, attrs.height, dtype=pl.Int32, eager=True)
    if lists.any():
        counts = attrs.filter(lists).select(declared_pairs(pl.col("value"))).to_series()
        declared = declared.scatter(lists.arg_true(), counts)
    return attrs.with_columns(kv_declared=declared)


def _scatter(frame: pl.DataFrame, idx: pl.Series, values: pl.DataFrame) -> pl.DataFrame:
    """Write `values` (one row per index) into `frame` at row positions `idx`."""
    return frame.with_columns(frame[name].scatter(idx, values[name]) for name in values.columns)


def _attribute_problems(rows: pl.DataFrame, check_binary: bool) -> pl.Expr | None:
    """Why an attribute line is quarantined (null if it is fine; only read on attribute lines),
    or None when no attribute line can fail. Names are checked once per distinct name, so
    clean chunks skip the per-line test."""
    names = rows.select(pl.col("token").filter(pl.col("depth") <= 1).unique()).to_series()
    valid = names.filter(names.str.contains(ATTRIBUTE_NAME) | (names == "(text)"))
    if valid.len() == names.len() and not check_binary:
        return None
    binary = pl.col("line").str.contains(CONTROL_CHARS) if check_binary else pl.lit(False)
    return (pl.when(binary).then(pl.lit("binary_garbage"))
            .when(~pl.col("token").is_in(valid.implode())).then(pl.lit("malformed_attribute")))


def _place_members(members: pl.DataFrame, check_binary: bool) -> pl.DataFrame:
    """Key of each member, attribute, path and parent check of members below the shallowest
    level, and `reason` for the lines that fail.

    `attribute`, `path` and `_parent_ok` arrive set from each member's nearest earlier good
    attribute line, the parent of the shallowest members (depth 2 as a rule)."""
    token = pl.col("token")
    is_list = token.str.ends_with("(list)") | token.str.ends_with("(list) ")
    members = members.with_columns(
        _is_list=is_list,
        key=unquoted(pl.when(is_list).then(token.str.strip_chars_end(" ").str.strip_suffix("(list)"))
                     .otherwise(token)),
    )
    depths = members["depth"].unique().sort().to_list()
    if len(depths) > 1:
        members = _place_deeper(members, depths)
    binary = pl.col("line").str.contains(CONTROL_CHARS) if check_binary else pl.lit(False)
    reason = (pl.when(binary).then(pl.lit("binary_garbage"))
              .when(pl.col("depth") > MAX_DEPTH).then(pl.lit("kv_nesting_too_deep"))
              .when(pl.col("key").is_null() | (pl.col("key") == "")).then(pl.lit("malformed_kv_member"))
              .when(~pl.col("_parent_ok")).then(pl.lit("kv_member_outside_list")))
    return members.with_columns(reason=reason)


def _place_deeper(members: pl.DataFrame, depths: list[int]) -> pl.DataFrame:
    """Members below the shallowest level (rare): each level's parent is the nearest earlier
    member of the level above that has any members (a backward as-of join on position)."""
    def level_up(rows: pl.DataFrame) -> pl.DataFrame:
        child_path = pl.when(pl.col("path") == "").then(pl.col("key")) \
            .otherwise(pl.concat_str(["path", "key"], separator="/"))
        return rows.select("i", _pb="block", _pattr="attribute", _plist="_is_list",
                           _ppath=child_path)

    above = level_up(members.filter(pl.col("depth") == depths[0]))
    for depth in depths[1:]:
        idx = (members["depth"] == depth).arg_true()
        rows = members[idx].join_asof(above, on="i", strategy="backward", check_sortedness=False)
        rows = rows.with_columns(
            attribute=pl.col("_pattr"),
            path=pl.col("_ppath"),
            _parent_ok=(pl.col("_pb") == pl.col("block")) & pl.col("_plist").fill_null(False),
        )
        members = _scatter(members, idx, rows.select("attribute", "path", "_parent_ok"))
        above = level_up(rows)
    return members


def _typed_members(members: pl.LazyFrame) -> pl.LazyFrame:
    value, vtype = typed_value(pl.col("raw"))
    return members.with_columns(
        value=pl.when(pl.col("_is_list")).then(None).otherwise(value),
        vtype=pl.when(pl.col("_is_list")).then(pl.lit("list", dtype=VTYPE)).otherwise(vtype),
    )


MEMBER_COLUMNS = ["file_id", "line_no", "attribute", "path", "key", "value", "vtype", "depth"]


def _with_inline_children(members: pl.DataFrame, carried: list[str]) -> pl.DataFrame:
    """`'key'(list) 'child'\tvalue`: some writers put a list's first child on the list's own line."""
    columns = [*carried, *MEMBER_COLUMNS]
    result = members.select(*columns, _kid=pl.lit(False))
    inline = pl.when(pl.col("_is_list")).then(pl.col("raw")).str.strip_chars() != ""
    if not members.select(inline.any()).item():
        return result
    inline = members.filter(inline)
    child = pl.col("raw").str.strip_chars().str.extract_groups(KV_MEMBER)
    kids = inline.with_columns(_c=child).with_columns(
        path=pl.when(pl.col("path") == "").then(pl.col("key"))
        .otherwise(pl.concat_str(["path", "key"], separator="/")),
        key=pl.coalesce(pl.col("_c").struct.field("1"), pl.col("_c").struct.field("2")),
        _craw=pl.col("_c").struct.field("4"),
        depth=pl.col("depth") + 1,
    ).filter(pl.col("key").is_not_null())
    kvalue, kvtype = typed_value(pl.col("_craw"))
    kids = kids.with_columns(value=kvalue, vtype=kvtype).select(*columns, _kid=pl.lit(True))
    return pl.concat([result, kids]).sort("line_no", "file_id", maintain_order=True)


def line_counts(attrs: pl.DataFrame, kvs: pl.DataFrame, bad: pl.DataFrame) -> pl.DataFrame:
    """Ledger rows (file_id, kind, len) for the continuation lines of TLib blocks.

    A list line with its first child inline yields two KV rows from one line (`_kid` marks the
    second); count lines."""
    return pl.concat([
        attrs.group_by("file_id").agg(kind=pl.lit("attribute"), len=pl.len()),
        kvs.filter(~pl.col("_kid")).group_by("file_id").agg(kind=pl.lit("kv_member"), len=pl.len()),
        bad.group_by("file_id").agg(kind=pl.lit("quarantined"), len=pl.len()),
    ]).with_columns(pl.col("len").cast(pl.UInt32))
