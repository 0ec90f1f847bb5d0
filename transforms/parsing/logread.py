"""Read a log file (plain or gzip) as chunks of decoded lines, with bounded memory.

Each chunk is a Polars frame with one row per line (`line`, `line_no`, `recoded`). Chunks are cut
at line boundaries, so no line is ever split; how many bytes a chunk holds bounds peak memory, not
the size of the file.
"""

from __future__ import annotations

import codecs
import itertools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

DEFAULT_CHUNK_BYTES = 48 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# what Polars' line reader takes for a compressed stream: gzip, zlib (each compression level), zstd
COMPRESSED_MAGICS = (GZIP_MAGIC, b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda",
                     b"\x28\xb5\x2f\xfd")
# Binary garbage test, run once per chunk on the raw bytes so that clean chunks skip it per line:
# deleting every allowed byte leaves only control characters (much faster than a regex scan).
ALLOWED_BYTES = b"\t\n\r" + bytes(range(32, 127)) + bytes(range(128, 256))


class LogReadError(Exception):
    """A file cannot be read at all (missing, unreadable, corrupt container)."""


@dataclass
class LineChunk:
    lines: pl.DataFrame  # line: str, line_no: u32 (1-based), recoded: bool
    first_line_no: int
    is_last: bool
    crlf_lines: int
    recoded_lines: int
    read_error: str | None = None
    has_control_chars: bool = False


def iter_raw_blocks(path: Path, block_bytes: int) -> Iterator[tuple[bytes, str | None, bool]]:
    """Yield (bytes, error, is_last) blocks of the decompressed content; the last block (possibly
    empty) has `is_last` set.

    A plain file's last block is recognised by a short read, so a file smaller than a block is one
    block and is parsed in one go (no extra round for an empty tail). gzip is decompressed with
    zlib directly so that a truncated or corrupt archive still yields everything before the
    damage, followed by one block carrying the error text.
    """
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise LogReadError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with f:
        head = f.read(2)
        f.seek(0)
        blocks = _inflate(f, block_bytes) if head == GZIP_MAGIC else _plain(f, block_bytes)
        yield from _as_utf8(blocks)


def _plain(f, block_bytes: int) -> Iterator[tuple[bytes, str | None, bool]]:
    while True:
        block = f.read(block_bytes)
        if len(block) < block_bytes:  # a regular file reads short only at its end
            yield block, None, True
            return
        yield block, None, False


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _as_utf8(blocks: Iterator[tuple[bytes, str | None, bool]]) -> Iterator[tuple[bytes, str | None, bool]]:
    """A log saved as UTF-16 (it starts with a byte order mark) is re-encoded as UTF-8, block by
    block; anything else passes through untouched."""
    first = next(blocks, None)
    if first is None:
        return
    if not first[0].startswith(UTF16_BOMS):
        yield first
        yield from blocks
        return
    decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
    for block, error, last in itertools.chain([first], blocks):
        yield decoder.decode(block, final=last).encode("utf-8"), error, last


def _inflate(f, block_bytes: int) -> Iterator[tuple[bytes, str | None, bool]]:
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip header, max window
    out = bytearray()
    while True:
        # Small raw reads so that damage loses at most 64 KB of compressed input.
        raw = f.read(64 * 1024)
        if not raw:
            if not inflater.eof:
                out += inflater.flush()
                yield bytes(out), "truncated gzip stream (archive ends before its end marker)", True
            else:
                yield bytes(out), None, True
            return
        saved = inflater.copy()
        try:
            out += inflater.decompress(raw)
        except zlib.error as exc:
            out += _salvage(saved, raw)
            yield bytes(out), f"corrupt gzip data: {exc}", True
            return
        if inflater.eof:
            # Another gzip member may follow (concatenated archives); anything else is junk.
            member_end = f.tell() - len(inflater.unused_data)
            f.seek(member_end)
            nxt = f.read(2)
            if nxt == GZIP_MAGIC:
                f.seek(member_end)
                inflater = zlib.decompressobj(wbits=47)
            elif (nxt + f.read(4096)).strip(b"\0"):
                yield bytes(out), "trailing garbage after the gzip stream", True
                return
            else:
                f.seek(0, 2)
        if len(out) >= block_bytes:
            yield bytes(out), None, False
            out = bytearray()


def _salvage(inflater, raw: bytes) -> bytes:
    """Decompress `raw` in small steps up to the damaged byte, keeping what came before it."""
    good = bytearray()
    for i in range(0, len(raw), 512):
        try:
            good += inflater.decompress(raw[i:i + 512])
        except zlib.error:
            break
    return bytes(good)


def decode_lines(data: bytes) -> tuple[pl.Series, pl.Series]:
    """Split bytes into lines; UTF-8 fast path, per-line latin-1 fallback.

    The slow path runs only for chunks that are not valid UTF-8 (legacy code pages in user data),
    which is why a Python loop is acceptable there.
    """
    # Polars decompresses bytes that begin like a gzip, zlib or zstd stream: such a chunk (a
    # line that happens to start with those bytes) is split here instead (found by fuzzing)
    if not data.startswith(COMPRESSED_MAGICS):
        try:
            lines = pl.read_lines(data).to_series()
            return lines, _no_recode(lines.len())
        except pl.exceptions.ComputeError:
            pass
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    texts: list[str] = []
    recoded: list[bool] = []
    for item in raw:
        try:
            texts.append(item.decode("utf-8"))
            recoded.append(False)
        except UnicodeDecodeError:
            texts.append(item.decode("latin-1"))
            recoded.append(True)
    return pl.Series("line", texts, dtype=pl.String), pl.Series("recoded", recoded, dtype=pl.Boolean)


def _no_recode(n: int) -> pl.Series:
    return pl.repeat(False, n, dtype=pl.Boolean, eager=True).alias("recoded")


CUT_LINE = "file ends in the middle of a line (cut while being written?)"


def iter_line_chunks(path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[LineChunk]:
    """Yield the file's lines in chunks of about `chunk_bytes` bytes, cut at newlines.

    The last chunk has `is_last` set; `read_error` on it says why reading stopped early.
    """
    next_line_no = 1
    pending = b""
    for block, error, last in iter_raw_blocks(path, chunk_bytes):
        data = pending + block if pending else block
        eof = last or error is not None
        if not eof:
            cut = data.rfind(b"\n")
            if cut < 0:  # one very long line: keep accumulating
                pending = data
                continue
            pending, data = data[cut + 1:], data[: cut + 1]
        elif error is None and data and not data.endswith(b"\n"):
            # a writer that died (or a file copied while being written) leaves half a line
            error = CUT_LINE
        chunk = _make_chunk(data, next_line_no, eof, error)
        yield chunk
        next_line_no += chunk.lines.height
        if eof:
            return


def _make_chunk(data: bytes, first_line_no: int, is_last: bool, error: str | None) -> LineChunk:
    if not data:
        frame = pl.DataFrame(schema={"line": pl.String, "line_no": pl.UInt32, "recoded": pl.Boolean})
        return LineChunk(frame, first_line_no, is_last, 0, 0, error)
    lines, recoded = decode_lines(data)
    # counting a two-byte pattern is slow; most logs have no CR at all (a one-byte search)
    n_crlf = data.count(b"\r\n") if b"\r" in data else 0
    if n_crlf:  # read_lines may or may not drop the CR; make sure it is gone
        lines = lines.str.strip_suffix("\r")
    n = lines.len()
    frame = pl.DataFrame({
        "line": lines,
        "line_no": pl.int_range(first_line_no, first_line_no + n, dtype=pl.UInt32, eager=True),
        "recoded": recoded,
    })
    has_control = bool(data.translate(None, ALLOWED_BYTES))
    return LineChunk(frame, first_line_no, is_last, n_crlf, int(recoded.sum()), error, has_control)


def read_head(path: Path, max_bytes: int = 64 * 1024) -> list[str]:
    """The first lines of a file (for the header and for sniffing), decoded leniently."""
    data = b""
    for block, error, last in iter_raw_blocks(path, max_bytes):
        data += block
        if len(data) >= max_bytes or error or last:
            break
    data = data[:max_bytes]
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if len(data) == max_bytes:
        lines = lines[:-1]  # last one may be cut
    return [ln.rstrip("\r") for ln in lines]
