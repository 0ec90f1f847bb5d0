"""The bad-input corpus (issue 7): every case is generated here, small and seeded, so the repository
holds no binary files. `write_corpus(folder)` writes one replica folder in which each case is the
log of its own T-Server application (its own switch), with its own CallUUIDs, so that the cases
do not meet; `tests/test_bad_input.py` runs the folder through `icon-etl load` once and checks the
outcome of each case (docs/reliability.md, "Bad input").

Times: local 07:00-08:00 on 2026-03-10 at UTC+1 (the UTC hour 06:00) unless a case says otherwise.

Below the cases: helpers the reliability tests share (run `icon-etl` as a user would, read the
IDB, the segment registry, the parse cache's quarantine records and reports).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tests.logtext import event, header, kvlist
from transforms.datafolder import DataFolder, entry_report
from transforms.parsing import parquet_sink

DAY = "2026-03-10"


@dataclass
class Case:
    name: str
    app: str
    what: str                       # the input
    outcome: str                    # the expected outcome (docs/reliability.md has each case)
    files: dict[str, bytes] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)   # label -> CallUUID


def uuid(app: str, n: int = 1) -> str:
    return f"UU{app[3:]}{n:03d}".ljust(32, "0")


def conn(app: str, n: int = 1) -> str:
    return f"{sum(map(ord, app)) & 0xffff:04x}{n:012x}"


def segment_name(app: str, hhmmss: str = "070000") -> str:
    return f"{app}.{DAY.replace('-', '')}_{hhmmss}_000.log"


def head(app: str, local: str = "07:00:00.000", tz_west: int = -3600, ordinal: int = 1,
         hhmmss: str = "070000") -> str:
    return header(app=app, local=f"{DAY}T{local}", tz_west=tz_west, ordinal=ordinal,
                  name=segment_name(app, hhmmss))


def same_process(segment_header: str, earlier: str) -> str:
    """A later segment of the same T-Server process: its `Start time` is the earlier one's."""
    start = next(line for line in earlier.splitlines() if line.startswith("Start time"))
    return "\n".join(start if line.startswith("Start time") else line
                     for line in segment_header.split("\n"))


class Seq:
    """AttributeEventSequenceNumber of one application, contiguous."""

    def __init__(self):
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def ev(seq: Seq, time: str, name: str, dn: str, call_uuid: str, conn_id: str,
       extra: list[str] | None = None, other: str | None = None) -> str:
    attrs = [("AttributeThisDN", f"'{dn}'"), ("AttributeConnID", conn_id),
             ("AttributeCallUUID", f"'{call_uuid}'"), ("AttributeCallType", "2")]
    if other:
        attrs.append(("AttributeOtherDN", f"'{other}'"))
    text = event(time, name, seq(), attrs)
    return text + ("\n".join(extra) + "\n" if extra else "")


def clock(seconds: float, base: int = 7) -> str:
    """Local time of day `seconds` after `base`:00:00, as TLib headers print it."""
    s = int(seconds)
    frac = round((seconds - s) * 10000)
    return f"{base + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:04d}"


def call(seq: Seq, app: str, n: int, dn: str, start: float,
         data: list[tuple[str, str]] | None = None, released: bool = True, base: int = 7) -> str:
    """Ringing, Established (with attached data), Released at `start` (seconds after
    `base`:00 local), +4 s, +90 s."""
    u, c = uuid(app, n), conn(app, n)
    text = ev(seq, clock(start, base), "EventRinging", dn, u, c)
    text += ev(seq, clock(start + 4, base), "EventEstablished", dn, u, c,
               extra=kvlist("AttributeUserData", data) if data else None)
    if released:
        text += ev(seq, clock(start + 90, base), "EventReleased", dn, u, c)
    return text


def login(seq: Seq, time: str, name: str, dn: str, agent: str) -> str:
    return event(time, name, seq(), [("AttributeThisDN", f"'{dn}'"),
                                     ("AttributeAgentID", f"'{agent}'"),
                                     ("AttributeAgentWorkMode", "1")])


# -- the cases ---------------------------------------------------------------------------------

def truncated_mid_message() -> Case:
    app, s = "TS_TRUNC", Seq()
    text = head(app) + call(s, app, 1, "7101", 300) + (
        "@07:10:00.0000 [0] 8.1.101.25 distribute_event: message EventRinging\n"
        f"\tAttributeEventSequenceNumber\t{s():016x}\n"
        "\tAttributeThisDN\t'7102'\n"
        "\tAttributeConnID\t006c0")            # the writer died here: no newline, no CallUUID
    return Case("truncated_mid_message", app, "a plain segment cut in the middle of a TLib block",
                "the complete call loads; the cut block should be quarantined (truncated_line)",
                {segment_name(app): text.encode()}, {"complete": uuid(app, 1)})


def _many_calls(app: str, n: int) -> str:
    s = Seq()
    return head(app) + "".join(call(s, app, k, f"72{k:02d}", 85 * k, [("Topic", f"'t{k}'")])
                               for k in range(1, n + 1))


def gzip_truncated() -> Case:
    app = "TS_GZCUT"
    packed = gzip.compress(_many_calls(app, 40).encode(), mtime=0)
    return Case("gzip_truncated", app, "a .gz segment cut at half its size",
                "the calls before the cut load; the cut line is quarantined (truncated_line); "
                "problem 'truncated gzip stream'",
                {segment_name(app) + ".gz": packed[: len(packed) // 2]},
                {"first": uuid(app, 1), "last": uuid(app, 40)})


def gzip_corrupt() -> Case:
    app = "TS_GZBAD"
    packed = bytearray(gzip.compress(_many_calls(app, 40).encode(), mtime=0))
    at = len(packed) // 2
    packed[at:at + 64] = bytes(random.Random(7).randrange(256) for _ in range(64))
    return Case("gzip_corrupt", app, "a .gz segment with 64 damaged bytes in the middle",
                "the calls before the damage load; problem 'corrupt gzip data'",
                {segment_name(app) + ".gz": bytes(packed)},
                {"first": uuid(app, 1), "last": uuid(app, 40)})


def gzip_garbage() -> Case:
    app = "TS_GZJUNK"
    junk = b"\x1f\x8b" + bytes(random.Random(8).randrange(256) for _ in range(4000))
    return Case("gzip_garbage", app, "a .gz file whose body is not deflate data",
                "nothing loads from it; problem 'corrupt gzip data'; the run completes",
                {segment_name(app) + ".gz": junk})


def binary_garbage() -> Case:
    app = "TS_BIN"
    rnd = random.Random(9)
    junk = bytes(rnd.randrange(256) for _ in range(8192))
    return Case("binary_garbage", app, "a segment name holding 8 KB of random bytes",
                "quarantined whole (not a T-Server log); nothing loads; the run completes",
                {segment_name(app): junk})


def not_a_log() -> Case:
    rows = "".join(f"{k},agent{k:03d},'x';DROP TABLE G_CALL;--\n" for k in range(50))
    return Case("not_a_log", "-", "a CSV file in the log folder",
                "quarantined whole, one record lines 1-50 (not_a_tserver_log); problem "
                "'not a T-Server log'",
                {"inventory.csv": rows.encode()})


def encodings() -> Case:
    app, s = "TS_ENC", Seq()
    text = ("\ufeff" + head(app)).encode("utf-8")                 # a UTF-8 byte order mark
    text += call(s, app, 1, "7301", 300, [("Utf8", "'Zoë Ærø'")]).encode("utf-8")
    text += call(s, app, 2, "7302", 600, [("Latin1", "'Café'"), ("Stra\xdfe", "'Gasse'")]) \
        .encode("latin-1")                                        # one call from a legacy system
    text += call(s, app, 3, "7303", 900, [("Utf8", "'naïve'")]).encode("utf-8")
    return Case("encodings", app, "UTF-8 BOM, then UTF-8 and latin-1 user data in one file",
                "every value loads as the text it was (UTF-8 kept, latin-1 recoded), "
                "recoded lines counted",
                {segment_name(app): text},
                {"utf8": uuid(app, 1), "latin1": uuid(app, 2), "utf8_again": uuid(app, 3)})


def utf16() -> Case:
    app, s = "TS_UTF16", Seq()
    text = head(app) + call(s, app, 1, "7311", 300)
    return Case("utf16", app, "a whole segment saved as UTF-16 (an editor's 'Unicode')",
                "nothing loads; its lines are quarantined; the run completes",
                {segment_name(app): text.encode("utf-16")})


def crlf() -> Case:
    app, s = "TS_CRLF", Seq()
    text = head(app) + call(s, app, 1, "7401", 300, [("Topic", "'windows'")])
    mixed = call(s, app, 2, "7402", 600, [("Topic", "'mixed'")])
    data = text.replace("\n", "\r\n") + mixed
    return Case("crlf", app, "CRLF line ends, then LF lines in the same file",
                "loads like LF; no value ends in CR", {segment_name(app): data.encode()},
                {"crlf": uuid(app, 1), "lf": uuid(app, 2)})


def split_block() -> Case:
    app, s = "TS_SPLIT", Seq()
    u, c = uuid(app, 1), conn(app, 1)
    first = head(app) + ev(s, "07:05:00.0000", "EventRinging", "7501", u, c)
    block = ev(s, "07:05:04.0000", "EventEstablished", "7501", u, c,
               extra=kvlist("AttributeUserData", [("Topic", "'split'"), ("Priority", "3")]))
    lines = block.splitlines(keepends=True)
    first += "".join(lines[:4])
    second = same_process(head(app, local="07:05:04.500", ordinal=2, hhmmss="070504"), first) \
        + "".join(lines[4:]) + ev(s, "07:06:30.0000", "EventReleased", "7501", u, c)
    return Case("split_block", app, "a TLib block cut by segment rollover (rest after the next "
                "header)", "one event, one call, its attached data loaded; nothing quarantined",
                {segment_name(app): first.encode(), segment_name(app, "070504"): second.encode()},
                {"split": u})


def duplicate_segment() -> Case:
    app, s = "TS_DUP", Seq()
    text = (head(app) + call(s, app, 1, "7601", 300, [("Topic", "'once'")])).encode()
    return Case("duplicate_segment", app, "the same segment twice under two names",
                "registered as a duplicate, parsed once, rows not doubled",
                {segment_name(app): text, segment_name(app).replace(".log", " (copy).log"): text},
                {"dup": uuid(app, 1)})


def partial_copy() -> Case:
    app = "TS_PCOPY"
    text = _many_calls(app, 30).encode()
    packed = gzip.compress(text, mtime=0)
    copy = segment_name(app).replace(".log", "_copy.log.gz")
    return Case("partial_copy", app, "a segment and a .gz copy of it cut at two thirds (a "
                "rotated segment copied while still being written)",
                "every call loads once, from the segment; the copy is listed as a partial copy "
                "with 'truncated gzip stream'",
                {segment_name(app): text, copy: packed[: len(packed) * 2 // 3]},
                {"first": uuid(app, 1), "last": uuid(app, 30)})


def log_and_gz_pair() -> Case:
    app = "TS_PAIR"
    text = _many_calls(app, 5).encode()
    return Case("log_and_gz_pair", app, "the same segment as .log and as .log.gz",
                "read once (the .gz is a copy); every call loads once",
                {segment_name(app): text, segment_name(app) + ".gz": gzip.compress(text, mtime=0)},
                {"first": uuid(app, 1), "last": uuid(app, 5)})


def recompressed_copy() -> Case:
    app = "TS_RECOMP"
    text = _many_calls(app, 5).encode()
    return Case("recompressed_copy", app, "one segment compressed twice (levels 9 and 1: other "
                "bytes, same log) under two names", "read once; every call loads once",
                {segment_name(app) + ".gz": gzip.compress(text, 9, mtime=0),
                 segment_name(app).replace(".log", " (1).log") + ".gz":
                     gzip.compress(text, 1, mtime=0)},
                {"first": uuid(app, 1), "last": uuid(app, 5)})


def overlapping_copies() -> Case:
    app = "TS_OVERLAP"
    text = _many_calls(app, 30).encode()
    cut = text.index(b"@", len(text) * 4 // 5)        # the longer copy ends between two blocks
    longer = gzip.compress(text[:cut], mtime=0)
    return Case("overlapping_copies", app, "the segment itself lost; two partial copies of it, "
                "one to 60 % (plain, cut mid-line) and one to 80 % (.gz)",
                "the longer copy is read, the shorter is its partial copy; the calls the longer "
                "one holds load once",
                {segment_name(app).replace(".log", "_a.log"): text[: len(text) * 3 // 5],
                 segment_name(app).replace(".log", "_b.log") + ".gz": longer},
                {"first": uuid(app, 1), "in_longer": uuid(app, 20), "lost": uuid(app, 30)})


RELOGGED = 6        # calls of the first segment logged again in the second


def relogged_after_restart() -> Case:
    app, s = "TS_RELOG", Seq()
    calls = [call(s, app, k, f"75{k:02d}", 85 * k) for k in range(1, 31)]
    first = head(app) + "".join(calls[:20])
    second = same_process(head(app, local="07:30:00.000", ordinal=2, hhmmss="073000"), first) \
        + "".join(calls[20 - RELOGGED:])
    return Case("relogged_after_restart", app, f"a collector restarted and logged the last "
                f"{RELOGGED} calls of a segment again at the start of the next one",
                f"every call loads once; the {RELOGGED * 3} events logged twice are counted "
                f"in ETL_RECONCILE.REPEATED and listed among the input problems",
                {segment_name(app): first.encode(), segment_name(app, "073000"): second.encode()},
                {"first": uuid(app, 1), "relogged": uuid(app, 20), "last": uuid(app, 30)})


def out_of_order_and_repeated() -> Case:
    app, s = "TS_ORDER", Seq()
    u, c = uuid(app, 1), conn(app, 1)
    ringing = ev(s, "07:05:00.0000", "EventRinging", "7701", u, c)
    established = ev(s, "07:05:04.0000", "EventEstablished", "7701", u, c,
                     extra=kvlist("AttributeUserData", [("Topic", "'order'")]))
    released = ev(s, "07:06:30.0000", "EventReleased", "7701", u, c)
    # logged in the wrong order (buffered), and the release printed twice
    text = head(app) + established + ringing + released + released
    return Case("out_of_order_and_repeated", app, "Established logged before Ringing; the "
                "EventReleased block printed twice", "one call, its parties and history as for "
                "the right order; the repeated event does not double rows",
                {segment_name(app): text.encode()}, {"order": u})


def missing_events() -> Case:
    app, s = "TS_MISS", Seq()
    text = head(app) + call(s, app, 1, "7801", 300, released=False) + \
        login(s, "07:20:00.0000", "EventAgentLogout", "7802", "agent802")
    return Case("missing_events", app, "a call with no EventReleased; an EventAgentLogout with no "
                "login before it", "the call loads open (TERMINATED null, carried to the next "
                "hour); the logout opens no session", {segment_name(app): text.encode()},
                {"open": uuid(app, 1)})


HUGE_VALUE = 300_000
HUGE_PAIRS = 5_000
LONG_KEY = "L" * 300       # KEYNAME is 255 characters in the IDB


def huge_value() -> str:
    return "".join(random.Random(10).choice("abcdefghij") for _ in range(HUGE_VALUE))


def huge_values() -> Case:
    app, s = "TS_HUGE", Seq()
    big = huge_value()
    pairs = [(f"K{k:04d}", f"'v{k}'") for k in range(HUGE_PAIRS)] + [("Huge", f"'{big}'"),
                                                                   (LONG_KEY, "'long key'")]
    text = head(app) + call(s, app, 1, "7901", 300, pairs)
    return Case("huge_values", app, f"a {HUGE_VALUE:,}-character value, a 300-character key "
                f"and a KV list of {HUGE_PAIRS:,} pairs", "stored whole; the key longer than "
                "KEYNAME (255) is counted in the asset metadata, not cut",
                {segment_name(app): text.encode()}, {"huge": uuid(app, 1)})


SQL_VALUES = {
    "Injection": "'); DROP TABLE G_CALL;--",
    "Quote": "O'Brien's \"order\"",
    "Tab": "left\tright",
    "Backslash": "C:\\temp\\new%_file",
    "Semicolon": "a;b;--c",
}


def sql_text() -> Case:
    app, s = "TS_SQL", Seq()
    data = [(k, f"'{v}'") for k, v in SQL_VALUES.items()] + [("Note'; DELETE FROM G_PARTY;--", "1")]
    text = head(app) + call(s, app, 1, "8001", 300, data)
    return Case("sql_text", app, "quotes, a TAB and SQL text in attached-data values and keys",
                "stored verbatim (bound parameters); every table intact",
                {segment_name(app): text.encode()}, {"sql": uuid(app, 1)})


UNICODE_DN = "Zürich-8101"
UNICODE_OTHER = "東京-8102"
UNICODE_KEYS = {"Größe": "'groß'", "ключ": "'значение'"}


def unicode_names() -> Case:
    app, s = "TS_UNI", Seq()
    u, c = uuid(app, 1), conn(app, 1)
    text = head(app) + ev(s, "07:05:00.0000", "EventRinging", UNICODE_DN, u, c, other=UNICODE_OTHER)
    text += ev(s, "07:05:04.0000", "EventEstablished", UNICODE_DN, u, c, other=UNICODE_OTHER,
               extra=kvlist("AttributeUserData", list(UNICODE_KEYS.items())))
    text += ev(s, "07:06:30.0000", "EventReleased", UNICODE_DN, u, c, other=UNICODE_OTHER)
    return Case("unicode_names", app, "DNs and KV keys with non-ASCII characters",
                "DNs and keys stored as written", {segment_name(app): text.encode()}, {"uni": u})


def clock_backwards() -> Case:
    app, s = "TS_CLOCK", Seq()
    text = head(app) + call(s, app, 1, "8201", 1800)                   # 07:30:00 .. 07:31:30
    text += call(s, app, 2, "8202", 1560)                               # the clock steps back 5 min
    return Case("clock_backwards", app, "the clock steps back 5 minutes between two calls",
                "both calls load at the times logged, same day (a small step back is not "
                "midnight)", {segment_name(app): text.encode()},
                {"before": uuid(app, 1), "after": uuid(app, 2)})


def time_zones() -> Case:
    """Two switches whose local clocks differ by 10.5 hours; both calls ring at 06:05 UTC."""
    files, calls = {}, {}
    for app, west, base in (("TS_EAST", -19800, 11), ("TS_WEST", 18000, 1)):
        s = Seq()
        name = segment_name(app, f"{base:02d}0000")
        files[name] = (header(app=app, local=f"{DAY}T{base:02d}:00:00.000", tz_west=west, name=name)
                       + call(s, app, 1, "8301", 2100 if west < 0 else 300, base=base)).encode()
        calls[app] = uuid(app, 1)
    return Case("time_zones", "TS_EAST/TS_WEST", "headers at UTC+05:30 (Time zone -19800) and "
                "UTC-05:00 (18000)", "event times converted to UTC with the sign of each header",
                files, calls)


# -- Outbound Contact Server logs: the same treatment ----------------------------------------------

def ocs_head(app: str, ordinal: int = 1, hhmmss: str = "070000") -> str:
    """An OCS segment's header (the T-Server one with OCS's application type)."""
    return head(app, ordinal=ordinal, hhmmss=hhmmss).replace("TServer (1)", "OCServer (31)")


def session(app: str, n: int = 1) -> str:
    """A campaign attempt GUID, unique per application (GUIDs are global)."""
    return f"{zlib.crc32(app.encode()):08x}-0000-4000-8000-{n:012d}"


def go(app: str, time: str, code: str, group: int, lines: list[str] | None = None) -> str:
    """A GO reporting block of campaign group `group` (attributes two TABs deep)."""
    out = [f"{DAY}T{time} {app} -> ICON [GOMessageType] EventGOReportingData",
           f"\t\tEvtCode\t{code}", f"\t\tGrpID\t{group}", "\t\tCmpID\t9001",
           f"\t\tSessID\t'{session(app, group)}'"]
    return "\n".join(out + (lines or [])) + "\n"


def ocs_truncated_block() -> Case:
    app = "OCS_TRUNC"
    text = ocs_head(app) + go(app, "07:01:00.000", "CampaignLoaded", 1) + go(
        app, "07:01:05.000", "CampaignStarted", 1) + (
        f"{DAY}T07:02:00.000 {app} -> ICON [GOMessageType] EventGOReportingData\n"
        "\t\tEvtCode\tCampaignSto")            # the writer died here
    return Case("ocs_truncated_block", app, "an OCS segment cut in the middle of a GO reporting "
                "block", "the campaign attempt loads (started); the cut line is quarantined "
                "(truncated_line)", {segment_name(app): text.encode()}, {"attempt": session(app, 1)})


def ocs_bad_lines() -> Case:
    app = "OCS_BAD"
    text = ocs_head(app) + go(app, "07:01:00.000", "CampaignLoaded", 1, [
        "\t\t9bad name\tx",                                # not an attribute name
        "\t\tDialMode\tPre\x01view",                      # binary garbage
        "\t\tRecordFields\t[40] 00 01 00 00..",
        "\t\t\t'CardNumber'\t'4111\x02111'"]) + go(      # a masked key's garbled value
        app, "07:02:00.000", "CampaignStarted", 1)
    return Case("ocs_bad_lines", app, "an OCS GO block with a malformed attribute name, a line "
                "of binary garbage and a garbled value of a masked key",
                "each bad line quarantined with its reason, the masked value masked in the "
                "record; the block and the next load (the attempt started)",
                {segment_name(app): text.encode()}, {"attempt": session(app, 1)})


def ocs_split_block() -> Case:
    app = "OCS_SPLIT"
    first = ocs_head(app) + go(app, "07:01:00.000", "CampaignLoaded", 1)
    block = go(app, "07:05:00.000", "CampaignModeChanged", 1, ["\t\tDialMode\tPredictive"])
    lines = block.splitlines(keepends=True)
    first += "".join(lines[:3])
    second = same_process(ocs_head(app, ordinal=2, hhmmss="070500"), first) + "".join(lines[3:])
    return Case("ocs_split_block", app, "a GO reporting block cut by segment rollover",
                "one event (its dialing mode read from the next segment); nothing quarantined",
                {segment_name(app): first.encode(), segment_name(app, "070500"): second.encode()},
                {"attempt": session(app, 1)})


CASES = [truncated_mid_message, gzip_truncated, gzip_corrupt, gzip_garbage, binary_garbage,
         not_a_log, encodings, utf16, crlf, split_block, duplicate_segment, partial_copy,
         log_and_gz_pair, recompressed_copy, overlapping_copies, relogged_after_restart,
         out_of_order_and_repeated, missing_events, huge_values, sql_text, unicode_names,
         clock_backwards, time_zones, ocs_truncated_block, ocs_bad_lines, ocs_split_block]

OPTIONS = """\
[callconcentrator]
adata-userdata-history = "all"

[icon-etl]
mask-keys = "CardNumber"
"""


def build() -> dict[str, Case]:
    return {case.name: case for case in (make() for make in CASES)}


def write_corpus(folder, cases: dict[str, Case] | None = None) -> dict[str, Case]:
    """Every case's files into `folder` (one replica)."""
    cases = cases or build()
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases.values():
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
    return cases


# -- running the pipeline and reading what it left ------------------------------------------------



def cli_command() -> list[str]:
    """`icon-etl` as installed beside this interpreter (what a user runs)."""
    script = Path(sys.executable).parent / "icon-etl"
    return [str(script)] if script.exists() else [sys.executable, "-m", "dagster_project.cli"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of one `icon-etl` process: its own ICON_HOME and Dagster home, one
    parser process, nothing inherited from the caller's ICON_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ICON_", "DAGSTER_"))}
    env.update(ICON_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"), ICON_WORKERS="1",
               PYTHONUNBUFFERED="1", **extra)
    return env


@dataclass
class CliResult:
    rc: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict:
        """The JSON summary `icon-etl load` prints last on stdout."""
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


def run_cli(args: list, home: Path, timeout: float = 600, **env: str) -> CliResult:
    proc = subprocess.run(cli_command() + [str(a) for a in args], cwd=home.parent,
                          env=cli_env(home, **env), capture_output=True, text=True,
                          timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and "Stack Trace" not in text and 'File "' not in text


def data_folder(data_dir: Path) -> DataFolder:
    return DataFolder(data_dir)


def registry(data_dir: Path, replica: str = "a") -> pl.DataFrame:
    return pl.read_parquet(data_folder(data_dir).replica(replica).registry)


def quarantine(data_dir: Path, replica: str = "a") -> pl.DataFrame:
    """Every quarantine record of the replica's parse cache, with the segment's path."""
    reg = registry(data_dir, replica).filter(pl.col("segment_id").is_not_null())
    files = parquet_sink.files(data_folder(data_dir).replica(replica).cache_entries(),
                               "quarantine")
    frame = (pl.concat([pl.read_parquet(f) for f in files]) if files
             else pl.DataFrame(schema={"file_id": pl.UInt32, "line": pl.UInt32,
                                       "last_line": pl.UInt32, "reason": pl.String,
                                       "text": pl.String}))
    paths = reg.select(pl.col("segment_id").cast(pl.UInt32).alias("file_id"), "path")
    return frame.join(paths, on="file_id", how="left").sort("path", "line")


def reports(data_dir: Path, replica: str = "a") -> dict[str, dict]:
    """The parse cache's report of each segment (recoded and CRLF lines, problems), by path."""
    reg = registry(data_dir, replica).filter(pl.col("duplicate_of").is_null()
                                             & pl.col("parse_key").is_not_null())
    out = {}
    for path, seg, key in reg.select("path", "segment_id", "parse_key").iter_rows():
        entry = data_folder(data_dir).replica(replica).cache_entry(key)
        doc = json.loads(entry_report(entry).read_text())
        out[path] = next(r for r in doc["reports"] if r["file_id"] == seg)
    return out


def idb_table(url: str, name: str) -> pl.DataFrame:
    from transforms.idb import IdbStore

    store = IdbStore(url)
    try:
        return store.read(name)
    finally:
        store.engine.dispose()


def latest_metadata(dagster_home: Path, key: list[str]) -> dict:
    """Metadata of the latest materialization of `key` in the Dagster instance at `dagster_home`."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()} if event else {}
    finally:
        instance.dispose()
