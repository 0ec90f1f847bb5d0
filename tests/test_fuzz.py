"""The parser under random and mutated segments (hypothesis): real-looking segments cut and
merged, bit-flipped, with huge values, binary, other encodings, CRs and NULs, and plain random
bytes. Whatever the input: no exception, every line in the ledger exactly once (the kinds add up
to the lines of the input), every quarantined line with its record.

`ICON_FUZZ_EXAMPLES` sets how many segments (default 300: seconds in CI). The campaign that
docs/reliability.md reports ran `make fuzz` (two processes of 50,000 segments, other seeds).
"""

from __future__ import annotations

import codecs
import gzip
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import badinput as bi
from tests.logtext import kvlist
from transforms.parsing import Parser, iter_line_chunks

EXAMPLES = int(os.environ.get("ICON_FUZZ_EXAMPLES", "300"))
FOLDER = Path(tempfile.mkdtemp(prefix="icon-fuzz-"))


def _seeds() -> list[bytes]:
    """Real-looking segments of the corpus: calls with attached data, a block split in two, a
    header-less tail, client-side request lines."""
    s = bi.Seq()
    app = "TS_FUZZ"
    calls = bi.head(app) + "".join(
        bi.call(s, app, k, f"72{k:02d}", 60 * k, [("Topic", f"'t{k}'"), ("N", str(k))])
        for k in range(1, 6))
    nested = bi.head(app) + bi.ev(s, "07:10:00.0000", "EventEstablished", "7301", bi.uuid(app, 9),
                                  bi.conn(app, 9), extra=kvlist("AttributeUserData", [
                                      ("Outer", "'x'"), ("List", "(list)")]))
    client = ("12:00:01.123 Trc 04541 RequestMakeCall received from 7 (0000003e URS)\n"
              "message RequestMakeCall\n\tAttributeThisDN\t'7001'\n\tAttributeReferenceID\t5\n"
              "12:00:01.200 Std 04120 Check point 2026-03-10T12:00:01\n")
    return [calls.encode(), nested.encode(), (bi.head(app) + client).encode(), client.encode()]


SEEDS = _seeds()


@st.composite
def segments(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut_merge", "huge", "binary",
                                     "latin1", "crlf", "nul", "utf16"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=64))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif kind == "cut_merge":       # a piece of another segment, at a line start or not
            other = draw(st.sampled_from(SEEDS))
            lo = draw(st.integers(0, len(other)))
            data[at:at] = other[lo:lo + draw(st.integers(1, 2000))]
        elif kind == "huge":
            data[at:at] = b"\tAttributeUserData\t'" + b"v" * draw(st.integers(1000, 200_000)) + b"'\n"
        elif kind == "binary":
            data[at:at] = bytes(draw(st.lists(st.integers(0, 255), max_size=300)))
        elif kind == "latin1":
            data[at:at] = "Café Straße ÆØÅ\n".encode("latin-1")
        elif kind == "crlf":
            data = bytearray(bytes(data).replace(b"\n", b"\r\n", draw(st.integers(1, 50))))
        elif kind == "nul":
            data[at:at] = b"\x00" * draw(st.integers(1, 20))
        elif kind == "utf16":
            data = bytearray(codecs.BOM_UTF16_LE + bytes(data).decode("latin-1").encode("utf-16-le"))
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        packed = gzip.compress(bytes(data), mtime=0)
        data = bytearray(packed[: draw(st.integers(0, len(packed)))])   # whole or cut
    return bytes(data)


def input_lines(path: Path, data: bytes) -> int:
    """Lines of the input: newlines, plus an unterminated last line; a compressed or UTF-16
    file as the reader decodes it."""
    if data.startswith((b"\x1f\x8b", codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return sum(chunk.lines.height for chunk in iter_line_chunks(path))
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example])
@given(st.one_of(segments(), st.binary(max_size=4000)))
def test_any_segment_is_parsed_or_quarantined_line_by_line(data):
    path = FOLDER / "TS_FUZZ.20260310_070000_000.log"
    path.write_bytes(data)
    records: list[int] = []

    def sink(out) -> None:
        q = out.quarantine
        if q.height:
            records.append(int((q["last_line"].cast(int) - q["line"].cast(int) + 1).sum()))

    reports = Parser(sink).parse([(1, path)])
    assert sum(r.lines for r in reports) == input_lines(path, data)
    assert sum(records) == sum(r.counts.get("quarantined", 0) for r in reports)
    assert all(r.events <= r.lines for r in reports)
