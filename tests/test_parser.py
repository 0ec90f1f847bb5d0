"""Parser behaviour on real samples and on hand-written logs (no simulator involved)."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from tests.logtext import call_event, event, header, kvlist
from transforms.parsing import ParseOptions, parse_to_parquet


def parse(tmp_path: Path, files: dict[str, str | bytes], workers: int = 1, **options):
    src = tmp_path / "logs"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text.encode() if isinstance(text, str) else text
        (src / name).write_bytes(data)
    out = tmp_path / "out"
    summary = parse_to_parquet([src], out, ParseOptions(**options), workers=workers)
    return summary, Parsed(out)


class Parsed:
    def __init__(self, out: Path):
        self.out = out

    def read(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.out / name / "*.parquet")

    @property
    def files(self) -> pl.DataFrame:
        return pl.read_parquet(self.out / "files.parquet")

    @property
    def events(self) -> pl.DataFrame:
        return self.read("events").sort("file_id", "line")


def line_count(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def assert_ledger_adds_up(parsed: Parsed, sources: dict[int, bytes]) -> None:
    files = parsed.files
    kinds = [c for c in files.columns if c.startswith("n_")]
    for row in files.iter_rows(named=True):
        assert sum(row[k] for k in kinds) == row["lines"], row
        if row["file_id"] in sources:
            assert row["lines"] == line_count(sources[row["file_id"]]), row["path"]


SIMPLE_LOG = header() + "2026-03-10T07:00:00.001 Std 04106 Log Messages file loaded\n" + \
    call_event("07:03:00.0200", "EventRinging", 1, "7011") + \
    call_event("07:03:04.0000", "EventEstablished", 2, "7011",
               extra=kvlist("AttributeUserData", [("Topic", "'billing'"), ("Priority", "3")])) + \
    "2026-03-10T08:00:00.002 Trc 04120 Check point 2026-03-10T08:00:00\n" + \
    call_event("08:05:00.0000", "EventReleased", 3, "7011",
               extra=kvlist("AttributeExtensions", [("ReleasingParty", "2")]))


def test_real_samples_parse_without_error_and_every_line_is_accounted(tmp_path, samples):
    files = sorted(p for p in samples.rglob("*") if p.is_file() and p.name != "README.md")
    out = tmp_path / "out"
    summary = parse_to_parquet(files, out, workers=1)
    parsed = Parsed(out)
    assert summary["files"] == len(files) == 4
    assert summary["quarantined_lines"] == 0
    assert_ledger_adds_up(parsed, {i: f.read_bytes() for i, f in enumerate(files)})
    events = parsed.events
    names = set(events["message"])
    assert {"EventAgentLogin", "EventRinging", "EventReleased", "RequestUpdateUserData",
            "RequestAttachUserData"} <= names
    sip = parsed.files.filter(pl.col("app") == "SIP_P").row(0, named=True)
    assert sip["n_header"] == 12 + 1 and sip["n_std_event"] == 32 and sip["events"] == 0


def test_space_indented_copy_reads_like_the_tab_indented_original(tmp_path, samples):
    tab = (samples / "real" /
           "urs-tlib-RequestUpdateUserData_tab-indented__github-paulharanjames-Blog.txt").read_text()
    spaced = tab.replace("\t", "    ")
    _, parsed = parse(tmp_path, {"tab.txt": tab, "spaced.txt": spaced})
    kv = parsed.read("kvpairs").sort("kv_line")
    by_file = [kv.filter(pl.col("file_id") == i).select("key", "value", "vtype", "depth", "path")
               for i in (0, 1)]
    assert by_file[0].height == 20
    assert by_file[0].equals(by_file[1])
    ev = parsed.events
    assert ev["conn_id"].to_list() == ["006c029a6685d004"] * 2
    assert ev["this_dn"].to_list() == ["9001"] * 2
    assert ev["direction"].to_list() == ["client", "client"]


def test_events_get_utc_times_typed_columns_and_their_lines(tmp_path):
    summary, parsed = parse(tmp_path, {"TS_TEST.20260310_070000_000.log": SIMPLE_LOG})
    ev = parsed.events
    assert ev["message"].to_list() == ["EventRinging", "EventEstablished", "EventReleased"]
    # local = UTC+1 (Time zone: -3600 seconds west)
    assert ev["ts"][0] == datetime(2026, 3, 10, 6, 3, 0, 20000, tzinfo=timezone.utc)
    assert ev["ts"][2] == datetime(2026, 3, 10, 7, 5, tzinfo=timezone.utc)
    assert ev["seq"].to_list() == [1, 2, 3]
    assert ev["call_type"].to_list() == [2, 2, 2]
    assert ev["call_uuid"][0] == "AM5D3AE9D90757BKTSVJTCIAR4000014"
    first = SIMPLE_LOG.splitlines().index("@07:03:00.0200 [0] 8.1.101.25 distribute_event: "
                                          "message EventRinging") + 1
    assert ev["line"][0] == first and ev["last_line"][0] == first + 5
    kv = parsed.read("kvpairs").sort("kv_line")
    assert kv.select("attribute", "key", "value", "vtype").rows() == [
        ("AttributeUserData", "Topic", "billing", "str"),
        ("AttributeUserData", "Priority", "3", "int"),
        ("AttributeExtensions", "ReleasingParty", "2", "int"),
    ]
    attrs = parsed.read("attributes")
    declared = attrs.filter(pl.col("name") == "AttributeUserData")["kv_declared"].to_list()
    assert declared == [2]
    assert summary["events"] == 3 and summary["quarantined_lines"] == 0
    assert_ledger_adds_up(parsed, {0: SIMPLE_LOG.encode()})


def test_positive_time_zone_west_of_utc(tmp_path):
    log = header(local="2026-03-10T02:00:00.000", tz_west=18000) + \
        call_event("02:30:00.0000", "EventRinging", 1, "7501")
    _, parsed = parse(tmp_path, {"TS_SOUTH.20260310_020000_000.log": log})
    assert parsed.events["ts"][0] == datetime(2026, 3, 10, 7, 30, tzinfo=timezone.utc)


def test_midnight_crossing_rolls_the_date_forward(tmp_path):
    log = header(local="2026-03-09T23:59:00.000") + \
        call_event("23:59:59.9000", "EventRinging", 1, "7011") + \
        call_event("00:00:00.1000", "EventEstablished", 2, "7011") + \
        call_event("00:30:00.0000", "EventReleased", 3, "7011") + \
        "2026-03-10T01:00:00.000 Trc 04120 Check point 2026-03-10T01:00:00\n" + \
        call_event("01:00:01.0000", "EventAgentLogout", 4, "7011")
    _, parsed = parse(tmp_path, {"TS_TEST.20260309_235900_000.log": log})
    ts = parsed.events["ts"].to_list()
    assert [t.isoformat() for t in ts] == [
        "2026-03-09T22:59:59.900000+00:00", "2026-03-09T23:00:00.100000+00:00",
        "2026-03-09T23:30:00+00:00", "2026-03-10T00:00:01+00:00"]


def test_small_chunks_give_the_same_events_as_one_chunk(tmp_path):
    _, whole = parse(tmp_path / "a", {"TS_TEST.20260310_070000_000.log": SIMPLE_LOG})
    _, chunked = parse(tmp_path / "b", {"TS_TEST.20260310_070000_000.log": SIMPLE_LOG},
                       chunk_bytes=200)
    assert whole.events.equals(chunked.events)
    kv = ["file_id", "line", "kv_line", "key", "value"]
    assert whole.read("kvpairs").select(kv).sort("kv_line").equals(
        chunked.read("kvpairs").select(kv).sort("kv_line"))
    assert whole.files.drop("path").equals(chunked.files.drop("path"))


@pytest.mark.parametrize("workers", [1, 2])
def test_block_split_across_two_segments_becomes_one_event(tmp_path, workers):
    body = call_event("07:03:04.0000", "EventEstablished", 2, "7011",
                      extra=kvlist("AttributeUserData", [("Topic", "'billing'"), ("Priority", "3")]))
    lines = body.splitlines(keepends=True)
    first = header(ordinal=1) + call_event("07:03:00.0200", "EventRinging", 1, "7011") + \
        "".join(lines[:4])
    second = header(local="2026-03-10T07:03:04.500", ordinal=2,
                    name="TS_TEST.20260310_070304_500.log") + "".join(lines[4:]) + \
        call_event("07:05:00.0000", "EventReleased", 3, "7011")
    names = {"TS_TEST.20260310_070000_000.log": first, "TS_TEST.20260310_070304_500.log": second}
    summary, parsed = parse(tmp_path, names, workers=workers)
    ev = parsed.events
    assert ev["message"].to_list() == ["EventRinging", "EventEstablished", "EventReleased"]
    split = ev.row(1, named=True)
    assert (split["file_id"], split["last_file_id"]) == (0, 1)
    assert split["call_uuid"] == "AM5D3AE9D90757BKTSVJTCIAR4000014"
    assert split["ts"] == datetime(2026, 3, 10, 6, 3, 4, tzinfo=timezone.utc)
    kv = parsed.read("kvpairs")
    assert kv.filter(pl.col("file_id") == 0)["key"].sort().to_list() == ["Priority", "Topic"]
    assert summary["quarantined_lines"] == 0
    assert_ledger_adds_up(parsed, {0: first.encode(), 1: second.encode()})


def test_gzip_reads_like_plain_and_a_truncated_archive_keeps_the_good_part(tmp_path):
    log = SIMPLE_LOG * 40
    _, plain = parse(tmp_path / "a", {"TS_TEST.20260310_070000_000.log": log})
    _, packed = parse(tmp_path / "b", {"TS_TEST.20260310_070000_000.log.gz": gzip.compress(log.encode())})
    assert plain.events.drop("file_id", "last_file_id").equals(
        packed.events.drop("file_id", "last_file_id"))
    damaged = gzip.compress(log.encode())
    summary, cut = parse(tmp_path / "c", {"TS_TEST.20260310_070000_000.log.gz": damaged[: len(damaged) // 2]})
    assert 0 < cut.events.height < plain.events.height
    problems = cut.files["problems"][0]
    assert "truncated gzip" in problems
    q = cut.read("quarantine")
    assert q["reason"].to_list() == ["truncated_line"]
    assert summary["quarantined_lines"] == 1


def test_crlf_line_ends_parse_like_lf(tmp_path):
    _, lf = parse(tmp_path / "a", {"TS_TEST.20260310_070000_000.log": SIMPLE_LOG})
    summary, crlf = parse(tmp_path / "b", {"TS_TEST.20260310_070000_000.log": SIMPLE_LOG.replace("\n", "\r\n")})
    assert lf.events.equals(crlf.events)
    assert crlf.files["crlf_lines"][0] == SIMPLE_LOG.count("\n")


def test_latin1_user_data_is_recoded_not_lost(tmp_path):
    text = SIMPLE_LOG.replace("'billing'", "'Caf\xe9'")
    data = text.encode("latin-1")
    summary, parsed = parse(tmp_path, {"TS_TEST.20260310_070000_000.log": data})
    kv = parsed.read("kvpairs").filter(pl.col("key") == "Topic")
    assert kv["value"].to_list() == ["Café"]
    assert parsed.files["recoded_lines"][0] == 1
    assert summary["quarantined_lines"] == 0


def test_bad_lines_are_quarantined_with_reason_and_secure_values_masked(tmp_path):
    log = header() + "\tAttributeOrphan\t1\n" + \
        call_event("07:03:00.0200", "EventRinging", 1, "7011",
                   extra=["\t\t'CustomerPIN'\t'4321'", "\t!!bad attribute!!"]) + \
        "binary\x00\x01garbage\n"
    summary, parsed = parse(tmp_path, {"TS_TEST.20260310_070000_000.log": log},
                            redact_keys=frozenset({"CustomerPIN"}))
    q = parsed.read("quarantine").sort("line")
    assert q["reason"].to_list() == ["orphan_continuation", "kv_member_outside_list",
                                     "malformed_attribute", "binary_garbage"]
    assert "4321" not in "".join(q["text"].to_list())
    assert "'CustomerPIN'\t'***'" in q["text"][1]
    assert summary["quarantined_lines"] == 4
    assert parsed.events.height == 1
    assert_ledger_adds_up(parsed, {0: log.encode()})


def test_a_file_that_is_not_a_log_is_quarantined_whole(tmp_path):
    junk = "".join(f"row {i}, some,csv,data\n" for i in range(50))
    summary, parsed = parse(tmp_path, {"notes.csv": junk})
    assert summary["quarantined_lines"] == 50 and summary["events"] == 0
    q = parsed.read("quarantine")
    assert q.select("line", "last_line", "reason").rows() == [(1, 50, "not_a_tserver_log")]
    assert "not a T-Server log" in parsed.files["problems"][0]


def test_nested_kv_lists_keep_their_path(tmp_path):
    extra = ["\tAttributeUserData\t[90] 00 02 03 00..",
             "\t\t'Outer'(list) ",
             "\t\t\t'Inner'\t'x'",
             "\t\t\t'Deeper'(list) ",
             "\t\t\t\t'Leaf'\t7",
             "\t\t'After'\t'y'"]
    log = header() + call_event("07:03:00.0200", "EventRinging", 1, "7011", extra=extra)
    summary, parsed = parse(tmp_path, {"TS_TEST.20260310_070000_000.log": log})
    kv = parsed.read("kvpairs").sort("kv_line")
    assert kv.select("path", "key", "value", "vtype").rows() == [
        ("", "Outer", None, "list"), ("Outer", "Inner", "x", "str"),
        ("Outer", "Deeper", None, "list"), ("Outer/Deeper", "Leaf", "7", "int"),
        ("", "After", "y", "str")]
    assert summary["quarantined_lines"] == 0


def test_requests_received_are_events_of_their_own(tmp_path):
    log = header() + (
        "2026-03-10T07:00:04.998 Trc 04541 RequestAgentLogin received from [12] "
        "(0000000c WDE_agent010 10.0.1.12:51234)\n"
        "message RequestAgentLogin\n"
        "\tAttributeThisDN\t'7010'\n\tAttributeReferenceID\t7\n") + \
        event("07:00:05.0000", "EventAgentLogin", 1, [("AttributeThisDN", "'7010'"),
                                                      ("AttributeReferenceID", "7")])
    _, parsed = parse(tmp_path, {"TS_TEST.20260310_070000_000.log": log})
    ev = parsed.events
    assert ev.select("direction", "message", "client", "reference_id").rows() == [
        ("request", "RequestAgentLogin", "WDE_agent010", 7), ("event", "EventAgentLogin", None, 7)]
    assert ev["ts"][0] == datetime(2026, 3, 10, 6, 0, 4, 998000, tzinfo=timezone.utc)


def test_a_list_with_its_first_child_on_its_own_line(tmp_path):
    # (this shape used to stop the parse with a ShapeError)
    extra = ["\tAttributeUserData\t[60] 00 02 00 00..",
             "\t\t'Skills'(list) Billing\t5",
             "\t\t'After'\t'y'"]
    log = header() + call_event("07:03:00.0200", "EventRinging", 1, "7011", extra=extra)
    summary, parsed = parse(tmp_path, {"TS_TEST.20260310_070000_000.log": log})
    kv = parsed.read("kvpairs").sort("kv_line", "depth")
    assert kv.select("path", "key", "value", "vtype", "depth").rows() == [
        ("", "Skills", None, "list", 2), ("Skills", "Billing", "5", "int", 3),
        ("", "After", "y", "str", 2)]
    # two KV rows from one line: the ledger counts the line once
    assert parsed.files["n_kv_member"][0] == 2
    assert summary["quarantined_lines"] == 0
    assert_ledger_adds_up(parsed, {0: log.encode()})


def test_reports_of_one_file_merge_in_either_order(tmp_path):
    from transforms.parsing import FileReport, merge_reports

    def own() -> FileReport:
        r = FileReport(0, tmp_path / "a.log", None, size_bytes=1234, compressed=True,
                       recoded_lines=2, crlf_lines=3, events=5)
        r.counts["attribute"] = 10
        return r

    def taken_over() -> FileReport:  # what the successor's job knows of the file: one block
        r = FileReport(0, tmp_path / "a.log", None, events=1)
        r.counts["attribute"] = 4
        return r

    for batches in ([[own()], [taken_over()]], [[taken_over()], [own()]]):
        (merged,) = merge_reports(batches)
        assert (merged.size_bytes, merged.compressed, merged.recoded_lines, merged.crlf_lines,
                merged.events, merged.lines) == (1234, True, 2, 3, 6, 14)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("cut", [3, 1], ids=["after its message line", "before its message line"])
def test_a_request_split_across_two_segments_is_one_request(tmp_path, workers, cut):
    """The segment rolls over inside a request (H11), even between its header and its `message`
    line: the next segment's header stands between them, and the request is still one event
    with its time and all its attributes."""
    request = ["2026-03-10T07:00:04.998 Trc 04541 RequestAgentLogin received from [12] "
               "(0000000c WDE_agent010 10.0.1.12:51234)\n", "message RequestAgentLogin\n",
               "\tAttributeThisDN\t'7010'\n", "\tAttributeReferenceID\t7\n"]
    first = header(ordinal=1) + call_event("07:00:01.0000", "EventRinging", 1, "7011") + \
        "".join(request[:cut])
    second = header(local="2026-03-10T07:00:05.000", ordinal=2,
                    name="TS_TEST.20260310_070005_000.log") + "".join(request[cut:]) + \
        event("07:00:05.0000", "EventAgentLogin", 2, [("AttributeThisDN", "'7010'"),
                                                      ("AttributeReferenceID", "7")])
    names = {"TS_TEST.20260310_070000_000.log": first, "TS_TEST.20260310_070005_000.log": second}
    summary, parsed = parse(tmp_path, names, workers=workers)
    ev = parsed.events
    assert ev.select("message", "direction", "client", "reference_id", "this_dn").rows() == [
        ("EventRinging", "event", None, None, "7011"),
        ("RequestAgentLogin", "request", "WDE_agent010", 7, "7010"),
        ("EventAgentLogin", "event", None, 7, "7010")]
    request = ev.row(1, named=True)
    assert (request["file_id"], request["last_file_id"]) == (0, 1)
    assert request["ts"] == datetime(2026, 3, 10, 6, 0, 4, 998000, tzinfo=timezone.utc)
    assert summary["quarantined_lines"] == 0
    assert_ledger_adds_up(parsed, {0: first.encode(), 1: second.encode()})


def test_control_characters_in_a_block_taken_over_from_the_previous_segment(tmp_path):
    first = header(ordinal=1) + call_event("07:03:00.0200", "EventRinging", 1, "7011",
                                           extra=["\tAttributeJunk\t\x01\x02"])
    second = header(local="2026-03-10T07:03:01.000", ordinal=2,
                    name="TS_TEST.20260310_070301_000.log") + \
        "\tAttributeOtherDN\t'7012'\n" + call_event("07:03:02.0000", "EventReleased", 2, "7011")
    names = {"TS_TEST.20260310_070000_000.log": first, "TS_TEST.20260310_070301_000.log": second}
    summary, parsed = parse(tmp_path, names)
    q = parsed.read("quarantine")
    assert q.select("file_id", "reason").rows() == [(0, "binary_garbage")]
    ev = parsed.events
    assert ev["message"].to_list() == ["EventRinging", "EventReleased"]
    assert ev["other_dn"][0] == "7012" and ev["last_file_id"][0] == 1
    assert_ledger_adds_up(parsed, {0: first.encode(), 1: second.encode()})


@pytest.mark.parametrize("start", [b"x\x01", b"x\x9c", b"(\xb5/\xfd"])
def test_a_chunk_that_begins_like_a_compressed_stream_keeps_its_lines(tmp_path, start):
    """Polars' line reader takes such bytes for a compressed stream (found by tests/test_fuzz.py):
    a plain file starting with them is still read line by line."""
    path = tmp_path / "TS_TEST.20260310_070000_000.log"
    path.write_bytes(start + b"\x00\x00 junk\nsecond line\n")
    summary = parse_to_parquet([path], tmp_path / "out")
    assert summary["lines"] == 2 and summary["quarantined_lines"] == 2
