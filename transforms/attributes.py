"""Parse the indented lines of TLib blocks into attributes and KV-list members.

Forms (tserver-log-format.md §2.2-§2.5): `\tAttributeName\tvalue` at depth 1; KV-list members
`\t\t'key'\tvalue` at depth 2; nested lists `'key'(list) ` with their members one level deeper.

This runs on most lines of a T-Server log, so it is built for few operations per line: attribute
and member lines are told apart by their leading TABs, each kind is cut by one `split_exact` on
TAB, and a member finds its parent (its attribute, or its enclosing list) with a backward
`join_asof` on file position. Lines of any other shape (space-indented copies, values that contain
a TAB, `\t(error text)`, a list's first child on the list's own line) take a regex path.
"""

from __future__ import annotations

import polars as pl

MAX_DEPTH = 8
ATTRIBUTE_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
KV_LIST_HEADER = r"^\[(\d+)\]\s+([0-9a-fA-F]{2})\s+([0-9a-fA-F]{2})\s+([0-9a-fA-F]{2})\s+([0-9a-fA-F]{2})"
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
    # strip_chars is one pass; it only differs from removing exactly one quote for values that
    # themselves start or end with a quote, which T-Server does not print.
    value = pl.when(quoted).then(raw.str.strip_chars("'")).otherwise(raw)
    return value, vtype


def declared_pairs(value: pl.Expr) -> pl.Expr:
    """Top-level pair count from a KV-list header `[561] 00 14 00 00..` (bytes 0-1, big-endian)."""
    p = value.str.find("] ", literal=True)
    b0 = value.str.slice(p + 2, 2).str.to_integer(base=16, strict=False)
    b1 = value.str.slice(p + 5, 2).str.to_integer(base=16, strict=False)
    return (b0 * 256 + b1).cast(pl.Int32)


def _split(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """Add fields _f0.._f{n} (split at the first n TABs), materialized once."""
    names = [f"_f{k}" for k in range(n + 1)]
    parts = frame.select(pl.col("line").str.split_exact("\t", n)
                         .struct.rename_fields(names).alias("_s")).unnest("_s")
    return pl.concat([frame, parts], how="horizontal")


def _tab_depth(line: pl.Expr) -> pl.Expr:
    depth = pl.lit(0, dtype=pl.Int8)
    for level in range(1, MAX_DEPTH + 2):
        depth = depth + line.str.starts_with("\t" * level).cast(pl.Int8)
    return depth


def _fast_attributes(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`\tName\tvalue` lines -> (rows with name/raw, rows needing the regex path)."""
    f = _split(lines, 3)
    slow = ((pl.col("_f1") == "") | pl.col("_f2").is_null() | pl.col("_f3").is_not_null()
            | pl.col("_f1").str.starts_with("("))
    f = f.with_columns(_slow=slow)
    fast = f.filter(~pl.col("_slow")).select(
        *lines.columns, depth=pl.lit(1, dtype=pl.Int8), token=pl.col("_f1"), raw=pl.col("_f2"))
    return fast, f.filter(pl.col("_slow")).select(lines.columns)


def _fast_members(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`\t\t'key'\tvalue` and `\t\t'key'(list) ` lines (depth 2) -> (rows, rows for regex)."""
    f = _split(lines, 4)
    slow = ((pl.col("_f2") == "") | pl.col("_f4").is_not_null()
            | ~(pl.col("_f2").str.starts_with("'") & (pl.col("_f2").str.ends_with("'")
                                                      | pl.col("_f2").str.ends_with("(list)")
                                                      | pl.col("_f2").str.ends_with("(list) "))))
    f = f.with_columns(_slow=slow)
    fast = f.filter(~pl.col("_slow")).select(
        *lines.columns, depth=pl.lit(2, dtype=pl.Int8), token=pl.col("_f2"), raw=pl.col("_f3"))
    return fast, f.filter(pl.col("_slow")).select(lines.columns)


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
    columns to carry along (the message key); in file order. Attribute values stay as printed;
    KV values are unquoted and typed.
    """
    line = pl.col("line")
    two = line.str.starts_with("\t\t")
    one = line.str.starts_with("\t") & ~two
    attrs, slow_a = _fast_attributes(cont.filter(one))
    members, slow_m = _fast_members(cont.filter(two & ~line.str.starts_with("\t\t\t")))
    slow = pl.concat([slow_a, slow_m, cont.filter(~one & ~(two & ~line.str.starts_with("\t\t\t")))])
    if slow.height:
        slow = _slow_fields(slow.sort("i"))
        attrs = pl.concat([attrs, slow.filter(pl.col("depth") <= 1)]).sort("i")
        members = pl.concat([members, slow.filter(pl.col("depth") >= 2)]).sort("i")

    bad_parts = []
    names = attrs["token"].unique()
    valid = names.filter(names.str.contains(ATTRIBUTE_NAME) | (names == "(text)"))
    if valid.len() < names.len() or check_binary:
        binary = line.str.contains(CONTROL_CHARS) if check_binary else pl.lit(False)
        attrs = attrs.with_columns(reason=pl.when(binary).then(pl.lit("binary_garbage"))
                                   .when(~pl.col("token").is_in(valid.implode()))
                                   .then(pl.lit("malformed_attribute")))
        bad_parts.append(attrs.filter(pl.col("reason").is_not_null()))
        attrs = attrs.filter(pl.col("reason").is_null()).drop("reason")

    carried = [c for c in cont.columns if c not in ("i", "block", "file_id", "line_no", "line")]
    attr_out = attrs.select("block", *carried, "file_id", "line_no", name="token", value="raw")
    lists = attr_out["value"].str.starts_with("[")
    declared = pl.repeat(None, attr_out.height, dtype=pl.Int32, eager=True)
    if lists.any():  # only KV-list headers carry a declared pair count
        idx = lists.arg_true()
        counts = attr_out.filter(lists).select(declared_pairs(pl.col("value"))).to_series()
        declared = declared.scatter(idx, counts)
    attr_out = attr_out.with_columns(kv_declared=declared)
    members, bad_members = _place_members(members, attrs, check_binary)
    bad_parts.append(bad_members)
    bad = pl.concat([b.select(list(BAD_SCHEMA)).cast(BAD_SCHEMA) for b in bad_parts]).sort("i").drop("i") if bad_parts \
        else pl.DataFrame(schema=BAD_SCHEMA).drop("i")
    return attr_out, _with_inline_children(members, carried), bad


def _place_members(members: pl.DataFrame, attrs: pl.DataFrame, check_binary: bool
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Key, value and vtype of each member, its attribute and path (from the nearest earlier line
    one level up, which must be a list in the same block), and the lines that fail."""
    token = pl.col("token")
    is_list = token.str.ends_with("(list)") | token.str.ends_with("(list) ")
    members = members.with_columns(
        _is_list=is_list,
        key=pl.when(is_list).then(token.str.strip_chars_end(" ").str.strip_suffix("(list)"))
        .otherwise(token).str.strip_chars("'"),
    )
    # parent of a depth-2 member: the nearest earlier attribute line (it must be a KV list)
    level_up = attrs.select("i", _pb="block", _pattr="token",
                            _plist=pl.col("raw").str.starts_with("["), _ppath=pl.lit(""))
    placed = []
    for depth in range(2, int(members["depth"].max() or 1) + 1):
        rows = members.filter(pl.col("depth") == depth)
        if rows.height == 0:
            continue
        rows = rows.join_asof(level_up, on="i", strategy="backward", check_sortedness=False)
        rows = rows.with_columns(
            attribute=pl.col("_pattr"),
            path=pl.col("_ppath"),
            _parent_ok=(pl.col("_pb") == pl.col("block")) & pl.col("_plist").fill_null(False),
        )
        placed.append(rows)
        child_path = pl.when(pl.col("path") == "").then(pl.col("key")) \
            .otherwise(pl.concat_str(["path", "key"], separator="/"))
        level_up = rows.select("i", _pb="block", _pattr="attribute", _plist="_is_list",
                               _ppath=child_path)
    members = pl.concat(placed).sort("i") if len(placed) > 1 else placed[0] if placed else \
        members.with_columns(attribute=pl.lit(None, dtype=pl.String), path=pl.lit(""),
                             _parent_ok=pl.lit(False))
    binary = pl.col("line").str.contains(CONTROL_CHARS) if check_binary else pl.lit(False)
    reason = (pl.when(binary).then(pl.lit("binary_garbage"))
              .when(pl.col("depth") > MAX_DEPTH).then(pl.lit("kv_nesting_too_deep"))
              .when(pl.col("key").is_null() | (pl.col("key") == "")).then(pl.lit("malformed_kv_member"))
              .when(~pl.col("_parent_ok")).then(pl.lit("kv_member_outside_list")))
    members = members.with_columns(reason=reason)
    bad = members.filter(pl.col("reason").is_not_null())
    good = members.filter(pl.col("reason").is_null())
    value, vtype = typed_value(pl.col("raw"))
    good = good.with_columns(
        value=pl.when(pl.col("_is_list")).then(None).otherwise(value),
        vtype=pl.when(pl.col("_is_list")).then(pl.lit("list", dtype=VTYPE)).otherwise(vtype),
    )
    return good, bad


MEMBER_COLUMNS = ["block", "file_id", "line_no", "attribute", "path", "key", "value", "vtype",
                  "depth"]


def _with_inline_children(members: pl.DataFrame, carried: list[str]) -> pl.DataFrame:
    """`'key'(list) 'child'\tvalue`: some writers put a list's first child on the list's own line."""
    columns = MEMBER_COLUMNS[:1] + carried + MEMBER_COLUMNS[1:]
    result = members.select(columns)
    inline = members.filter(pl.col("_is_list") & pl.col("raw").is_not_null()
                            & (pl.col("raw").str.strip_chars() != ""))
    if inline.height == 0:
        return result
    child = pl.col("raw").str.strip_chars().str.extract_groups(KV_MEMBER)
    kids = inline.with_columns(_c=child).with_columns(
        path=pl.when(pl.col("path") == "").then(pl.col("key"))
        .otherwise(pl.concat_str(["path", "key"], separator="/")),
        key=pl.coalesce(pl.col("_c").struct.field("1"), pl.col("_c").struct.field("2")),
        _craw=pl.col("_c").struct.field("4"),
        depth=pl.col("depth") + 1,
    ).filter(pl.col("key").is_not_null())
    kvalue, kvtype = typed_value(pl.col("_craw"))
    kids = kids.with_columns(value=kvalue, vtype=kvtype).select(columns)
    return (pl.concat([result.with_row_index("_o"),
                       kids.with_columns(_o=pl.lit(0, dtype=pl.UInt32))])
            .sort("line_no", "file_id", maintain_order=True).drop("_o"))


def line_counts(attrs: pl.DataFrame, kvs: pl.DataFrame, bad: pl.DataFrame) -> pl.DataFrame:
    """Ledger rows (file_id, kind, len) for the continuation lines of TLib blocks.

    A list line with its first child inline yields two KV rows from one line; count lines."""
    return pl.concat([
        attrs.group_by("file_id").agg(kind=pl.lit("attribute"), len=pl.len()),
        kvs.select("file_id", "line_no").unique().group_by("file_id")
        .agg(kind=pl.lit("kv_member"), len=pl.len()),
        bad.group_by("file_id").agg(kind=pl.lit("quarantined"), len=pl.len()),
    ]).with_columns(pl.col("len").cast(pl.UInt32))
