"""Bad input (issue 7): the corpus of `tests/badinput` through `icon-etl load` into a real SQLite
IDB, each case with its expected outcome (docs/reliability.md, "Bad input").

For every case: the run completes, the good data is loaded, bad lines are quarantined in the parse
cache with file, line and reason, a message names the problem, and no traceback reaches the
user. Parser-level behaviour already covered by tests/test_parser.py is not repeated here (the
real samples, space-indented copies, chunking, a block split across segments, gzip, CRLF,
latin-1, quarantine reasons, not-a-log files): these tests check what the whole pipeline makes of
the same inputs. Cases whose expected outcome needs a change in a file this work may not touch
are `xfail(strict=True)` with the change in their reason.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.resources import IconConfig, Idb, LogStorage
from dagster_project import runner
from tests import badinput as bi
from tests.graph import graph_assets
from transforms.idb.dictionary import CampaignState, DialMode

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"


class Loaded:
    """One `icon-etl load` of a folder, and what it left behind."""

    def __init__(self, root: Path, cases: dict[str, bi.Case], result: bi.CliResult):
        self.root, self.cases, self.result = root, cases, result
        self.url = f"sqlite:///{root / 'idb.sqlite'}"
        self.data = root / "home" / "data"
        self._tables: dict[str, pl.DataFrame] = {}

    def table(self, name: str) -> pl.DataFrame:
        if name not in self._tables:
            self._tables[name] = bi.idb_table(self.url, name)
        return self._tables[name]

    def rows(self, name: str, call_uuid: str) -> pl.DataFrame:
        return self.table(name).filter(pl.col("CALLID") == call_uuid)

    def call(self, call_uuid: str) -> dict | None:
        rows = self.rows("G_CALL", call_uuid)
        assert rows.height <= 1
        return rows.row(0, named=True) if rows.height else None

    def user_data(self, call_uuid: str) -> dict[str, str]:
        rows = self.rows("G_USERDATA_HISTORY", call_uuid)
        assert rows["KEYNAME"].is_unique().all(), "a key is stored twice"
        return dict(rows.select("KEYNAME", "VALUE").iter_rows())

    @property
    def registry(self) -> pl.DataFrame:
        return bi.registry(self.data)

    def segment(self, path: str) -> dict:
        return self.registry.filter(pl.col("path") == path).row(0, named=True)

    @property
    def quarantine(self) -> pl.DataFrame:
        return bi.quarantine(self.data)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Loaded:
    root = tmp_path_factory.mktemp("badinput")
    cases = bi.write_corpus(root / "logs")
    (root / "options.toml").write_text(bi.OPTIONS)
    result = bi.run_cli(["load", "--logs", root / "logs", "--idb", f"sqlite:///{root / 'idb.sqlite'}",
                         "--options", root / "options.toml"], root / "home")
    return Loaded(root, cases, result)


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"{bi.DAY}T{text}")


def complete(call: dict | None, created: str, terminated: str) -> None:
    assert call is not None
    assert (call["CREATED"], call["TERMINATED"]) == (at(created), at(terminated))
    assert call["ETL_CLOSED_BY"] == "last_party_released"


# -- the run as a whole ------------------------------------------------------------------------

def test_the_run_completes_without_a_traceback(corpus):
    r = corpus.result
    assert r.rc == 0, r.stderr[-3000:]
    assert r.summary["failed_runs"] == 0 and r.summary["partitions"] == 1
    assert bi.no_traceback(r.stderr) and bi.no_traceback(r.stdout)


def test_every_problem_is_named_with_its_file(corpus):
    """The load ends with one line per damaged or foreign file: path, problem, quarantined
    lines."""
    err = corpus.result.stderr
    assert "input problems (" in err
    named = {
        "TS_GZCUT.20260310_070000_000.log.gz": ("truncated gzip stream",),
        "TS_GZBAD.20260310_070000_000.log.gz": ("corrupt gzip data",),
        "TS_BIN.20260310_070000_000.log": ("not a T-Server log",),
        "TS_GZJUNK.20260310_070000_000.log.gz": ("corrupt gzip data", "not a T-Server log"),
        "inventory.csv": ("not a T-Server log",),
    }
    problems = dict(corpus.registry.select("path", "problems").iter_rows())
    for path, expected in named.items():
        line = next((ln for ln in err.splitlines() if f"a/{path}:" in ln), None)
        assert line is not None and "quarantined" in line, (path, err[-2000:])
        assert any(p in line for p in expected), line
        # and the registry keeps it
        assert any(p in problems[path] for p in expected), path


def test_every_line_is_in_the_ledger_and_every_quarantined_line_has_a_record(corpus):
    reg = corpus.registry.filter(pl.col("duplicate_of").is_null())
    kinds = [c for c in reg.columns if c.startswith("n_")]
    for row in reg.iter_rows(named=True):
        assert sum(row[k] for k in kinds) == row["lines"], row["path"]
    q = corpus.quarantine.group_by("path").agg(
        (pl.col("last_line").cast(pl.Int64) - pl.col("line").cast(pl.Int64) + 1).sum().alias("n"))
    recorded = dict(q.iter_rows())
    for path, n in reg.filter(pl.col("quarantined") > 0).select("path", "quarantined").iter_rows():
        assert recorded.get(path) == n, path
    assert corpus.quarantine["reason"].null_count() == 0


# -- one test per case -------------------------------------------------------------------------

def test_truncated_mid_message(corpus):
    """The call before the cut loads whole; the run goes on."""
    complete(corpus.call(corpus.cases["truncated_mid_message"].calls["complete"]),
             "06:05:00", "06:06:30")
    assert corpus.segment("TS_TRUNC.20260310_070000_000.log")["events"] >= 3


def test_truncated_mid_message_quarantines_the_cut_block(corpus):
    q = corpus.quarantine.filter(pl.col("path") == "TS_TRUNC.20260310_070000_000.log")
    assert q["reason"].to_list() == ["truncated_line"]
    assert corpus.table("G_CALL").filter(pl.col("CONNID") == "006c0").height == 0


def test_gzip_truncated(corpus):
    """Calls before the cut load with their data; the cut line is quarantined at its line."""
    case = corpus.cases["gzip_truncated"]
    path = "TS_GZCUT.20260310_070000_000.log.gz"
    complete(corpus.call(case.calls["first"]), "06:01:25", "06:02:55")
    assert corpus.user_data(case.calls["first"]) == {"Topic": "t1"}
    assert corpus.call(case.calls["last"]) is None
    seg = corpus.segment(path)
    q = corpus.quarantine.filter(pl.col("path") == path)
    assert q.select("line", "last_line", "reason").rows() == [(seg["lines"], seg["lines"],
                                                               "truncated_line")]
    loaded = corpus.table("G_CALL").filter(pl.col("CALLID").str.starts_with("UUGZCUT"))
    assert 5 <= loaded.height < 40


def test_gzip_corrupt(corpus):
    """What comes before the damage loads; the damage is named; nothing after it is invented."""
    case = corpus.cases["gzip_corrupt"]
    seg = corpus.segment("TS_GZBAD.20260310_070000_000.log.gz")
    assert "corrupt gzip data" in seg["problems"] and seg["events"] >= 1
    assert corpus.call(case.calls["first"]) is not None
    assert corpus.call(case.calls["last"]) is None


def test_gzip_garbage(corpus):
    seg = corpus.segment("TS_GZJUNK.20260310_070000_000.log.gz")
    assert (seg["events"], seg["lines"]) == (0, 0) and seg["problems"]


def test_gzip_garbage_is_named_a_corrupt_archive(corpus):
    assert "corrupt gzip" in corpus.segment("TS_GZJUNK.20260310_070000_000.log.gz")["problems"]


@pytest.mark.parametrize("path", ["TS_BIN.20260310_070000_000.log", "inventory.csv"])
def test_binary_garbage_and_files_that_are_not_logs_are_quarantined_whole(corpus, path):
    seg = corpus.segment(path)
    assert seg["events"] == 0 and seg["lines"] > 0 and seg["quarantined"] == seg["lines"]
    q = corpus.quarantine.filter(pl.col("path") == path)
    assert q.select("line", "last_line", "reason").rows() == [(1, seg["lines"], "not_a_tserver_log")]
    assert "not a T-Server log" in seg["problems"]
    if path == "inventory.csv":
        assert seg["lines"] == 50


def test_utf8_and_latin1_user_data_in_one_file(corpus):
    """A UTF-8 byte order mark, UTF-8 lines and latin-1 lines: every value as it was written."""
    calls = corpus.cases["encodings"].calls
    assert corpus.user_data(calls["utf8"]) == {"Utf8": "Zoë Ærø"}
    assert corpus.user_data(calls["latin1"]) == {"Latin1": "Café", "Straße": "Gasse"}
    assert corpus.user_data(calls["utf8_again"]) == {"Utf8": "naïve"}
    report = bi.reports(corpus.data)["TS_ENC.20260310_070000_000.log"]
    assert report["recoded_lines"] == 2 and report["counts"].get("quarantined", 0) == 0
    assert corpus.segment("TS_ENC.20260310_070000_000.log")["app"] == "TS_ENC"   # BOM read


def test_a_utf16_segment_loads_like_utf8(corpus):
    complete(corpus.call(bi.uuid("TS_UTF16", 1)), "06:05:00", "06:06:30")


def test_crlf_and_mixed_line_ends(corpus):
    calls = corpus.cases["crlf"].calls
    complete(corpus.call(calls["crlf"]), "06:05:00", "06:06:30")
    assert corpus.user_data(calls["crlf"]) == {"Topic": "windows"}
    assert corpus.user_data(calls["lf"]) == {"Topic": "mixed"}
    parties = corpus.table("G_PARTY").filter(pl.col("CALLID").is_in(list(calls.values())))
    assert sorted(parties["ENDPOINTDN"]) == ["7401", "7402"]
    assert bi.reports(corpus.data)["TS_CRLF.20260310_070000_000.log"]["crlf_lines"] > 0


def test_a_block_split_across_two_segments(corpus):
    uuid = corpus.cases["split_block"].calls["split"]
    complete(corpus.call(uuid), "06:05:00", "06:06:30")
    assert corpus.user_data(uuid) == {"Topic": "split", "Priority": "3"}
    assert corpus.registry.filter(pl.col("app") == "TS_SPLIT")["quarantined"].to_list() == [0, 0]
    # the split event is one party-history row, sourced at its first line in the first segment
    history = corpus.rows("G_PARTY_HISTORY", uuid)
    assert history.height == 3
    assert any(s.startswith("a/TS_SPLIT.20260310_070000_000.log:") for s in history["ETL_SOURCE"])


def test_the_same_segment_twice_under_two_names(corpus):
    dup = corpus.registry.filter(pl.col("app") == "TS_DUP").sort("path")
    assert dup["status"].sort().to_list() == ["duplicate", "new"]
    copy = dup.filter(pl.col("status") == "duplicate").row(0, named=True)
    read = dup.filter(pl.col("status") == "new").row(0, named=True)
    assert copy["segment_id"] is None and copy["duplicate_of"] == read["segment_id"]
    uuid = corpus.cases["duplicate_segment"].calls["dup"]
    assert corpus.rows("G_PARTY_HISTORY", uuid).height == 3
    assert corpus.user_data(uuid) == {"Topic": "once"}


def calls_of(corpus, app: str) -> list[str]:
    """The CallUUIDs of one case in the IDB (one row each: G_CALL's key)."""
    prefix = bi.uuid(app, 0)[:-3].rstrip("0")
    return sorted(corpus.table("G_CALL").filter(pl.col("CALLID").str.starts_with(prefix))
                  ["CALLID"].to_list())


def copies(corpus, app: str) -> dict[str, dict]:
    return {row["path"]: row for row in corpus.registry.filter(pl.col("app") == app).iter_rows(
        named=True)}


def loaded_once(corpus, uuids: list[str]) -> None:
    for uuid in uuids:
        assert corpus.rows("G_CALL", uuid).height == 1, uuid
        history = corpus.rows("G_PARTY_HISTORY", uuid)
        assert history.height == 3 and history["CSEQ"].is_unique().all(), uuid


def listed(corpus, path: str) -> str:
    line = next((ln for ln in corpus.result.stderr.splitlines() if f"a/{path}:" in ln), None)
    assert line is not None, (path, corpus.result.stderr[-2000:])
    return line


def test_a_partial_gzip_copy_is_read_once_and_listed(corpus):
    case = corpus.cases["partial_copy"]
    segment, copy = sorted(case.files)[0], sorted(case.files)[1]
    rows = copies(corpus, case.app)
    assert rows[copy]["status"] == "partial copy" and rows[segment]["status"] == "new"
    assert rows[copy]["duplicate_of"] == rows[segment]["segment_id"]
    assert "truncated gzip stream" in rows[copy]["problems"]
    loaded_once(corpus, [bi.uuid(case.app, k) for k in range(1, 31)])
    line = listed(corpus, copy)
    assert f"partial copy of {segment}" in line and "truncated gzip stream" in line


@pytest.mark.parametrize("name", ["log_and_gz_pair", "recompressed_copy"])
def test_the_same_log_in_other_bytes_is_read_once(corpus, name):
    case = corpus.cases[name]
    rows = copies(corpus, case.app)
    assert sorted(r["status"] for r in rows.values()) == ["copy", "new"]
    read = next(r for r in rows.values() if r["status"] == "new")
    copy = next(r for r in rows.values() if r["status"] == "copy")
    assert copy["duplicate_of"] == read["segment_id"] and copy["segment_id"] is None
    assert calls_of(corpus, case.app) == [bi.uuid(case.app, k) for k in range(1, 6)]
    loaded_once(corpus, calls_of(corpus, case.app))
    assert f"copy of {read['path']}, read once" in listed(corpus, copy["path"])


def test_of_two_overlapping_copies_the_longer_is_read(corpus):
    case = corpus.cases["overlapping_copies"]
    rows = copies(corpus, case.app)
    shorter = rows[next(p for p in case.files if p.endswith("_a.log"))]
    longer = rows[next(p for p in case.files if p.endswith(".gz"))]
    assert shorter["status"] == "partial copy" and shorter["duplicate_of"] == longer["segment_id"]
    got = calls_of(corpus, case.app)
    assert case.calls["first"] in got and case.calls["in_longer"] in got
    assert case.calls["lost"] not in got           # past the end of both copies
    loaded_once(corpus, [u for u in got if corpus.call(u)["TERMINATED"] is not None])


def test_events_logged_again_after_a_restart_load_once_and_are_counted(corpus):
    case = corpus.cases["relogged_after_restart"]
    assert calls_of(corpus, case.app) == [bi.uuid(case.app, k) for k in range(1, 31)]
    loaded_once(corpus, calls_of(corpus, case.app))
    ledger = corpus.table("ETL_RECONCILE").filter(pl.col("SWITCH") == case.app)
    assert ledger["REPEATED"].sum() == bi.RELOGGED * 3
    assert f"a/{case.app}: {bi.RELOGGED * 3} event(s) logged more than once" in \
        corpus.result.stderr


def test_events_logged_out_of_order(corpus):
    """Established logged before Ringing: the call, its party and its data as for the right
    order."""
    uuid = corpus.cases["out_of_order_and_repeated"].calls["order"]
    complete(corpus.call(uuid), "06:05:00", "06:06:30")
    first = corpus.table("G_PARTY").filter(pl.col("PARTYID") == f"{uuid}.1").row(0, named=True)
    assert (first["CREATED"], first["TERMINATED"]) == (at("06:05:00"), at("06:06:30"))
    assert corpus.user_data(uuid) == {"Topic": "order"}


def test_a_repeated_event_does_not_double_rows(corpus):
    uuid = corpus.cases["out_of_order_and_repeated"].calls["order"]
    assert corpus.table("G_PARTY").filter(pl.col("CALLID") == uuid).height == 1


def test_missing_events(corpus):
    """A call with no EventReleased stays open; a logout without a login opens no session."""
    call = corpus.call(corpus.cases["missing_events"].calls["open"])
    assert call is not None and call["TERMINATED"] is None and call["ETL_CLOSED_BY"] is None
    for name in ("G_LOGIN_SESSION", "G_AGENT_STATE_HISTORY"):
        assert corpus.table(name).height == 0, name


def test_huge_values_and_huge_kv_lists(corpus):
    uuid = corpus.cases["huge_values"].calls["huge"]
    data = corpus.user_data(uuid)
    assert len(data) == bi.HUGE_PAIRS + 2
    assert data["Huge"] == bi.huge_value() and data[bi.LONG_KEY] == "long key"
    assert data["K4999"] == "v4999"
    meta = bi.latest_metadata(corpus.root / "home" / "dagster_home", ["idb", "G_USERDATA_HISTORY"])
    assert meta["values_longer_than_idb_column"] == {"G_USERDATA_HISTORY.KEYNAME": 1}


def test_quotes_tabs_and_sql_text_are_stored_verbatim(corpus):
    uuid = corpus.cases["sql_text"].calls["sql"]
    data = corpus.user_data(uuid)
    for key in ("Quote", "Tab", "Backslash", "Semicolon"):
        assert data[key] == bi.SQL_VALUES[key], key
    assert data["Note'; DELETE FROM G_PARTY;--"] == "1"
    assert data["Injection"].endswith("); DROP TABLE G_CALL;--")
    assert corpus.table("G_CALL").height > 20 and corpus.table("G_PARTY").height > 20


def test_a_value_starting_with_a_quote_keeps_it(corpus):
    data = corpus.user_data(corpus.cases["sql_text"].calls["sql"])
    assert data["Injection"] == bi.SQL_VALUES["Injection"]


def test_non_ascii_dns_and_keys(corpus):
    uuid = corpus.cases["unicode_names"].calls["uni"]
    complete(corpus.call(uuid), "06:05:00", "06:06:30")
    assert corpus.rows("G_PARTY", uuid)["ENDPOINTDN"].to_list() == [bi.UNICODE_DN]
    assert corpus.user_data(uuid) == {k: v.strip("'") for k, v in bi.UNICODE_KEYS.items()}


def test_the_clock_going_backwards(corpus):
    calls = corpus.cases["clock_backwards"].calls
    complete(corpus.call(calls["before"]), "06:30:00", "06:31:30")
    complete(corpus.call(calls["after"]), "06:26:00", "06:27:30")


def test_headers_with_positive_and_negative_time_zones(corpus):
    """11:35 at UTC+05:30 and 01:05 at UTC-05:00 are both 06:05 UTC."""
    for uuid in corpus.cases["time_zones"].calls.values():
        complete(corpus.call(uuid), "06:05:00", "06:06:30")


# -- cases that need runs of their own -----------------------------------------------------------

def run_in_process(logs: Path, work: Path) -> dict:
    options = work / "options.toml"
    options.write_text(bi.OPTIONS)
    resources = {"logs": LogStorage(log_dir=str(logs), data_dir=str(work / "data"), workers=1),
                 "icon": IconConfig(options_file=str(options)),
                 "idb": Idb(url=f"sqlite:///{work / 'idb.sqlite'}")}
    defs = dg.Definitions(assets=graph_assets(["a"]), resources=resources)
    with dg.instance_for_test() as instance:
        return runner.run_all(defs, instance, progress=lambda _: None)


def test_same_segment_name_with_other_content_in_a_second_run(tmp_path):
    """The second run registers the file as changed and rebuilds its hour from what the folder
    holds now: the first content's call is gone, the new one is there, nothing doubles."""
    logs, name = tmp_path / "logs", bi.segment_name("TS_SWAP")
    logs.mkdir()
    s = bi.Seq()
    (logs / name).write_text(bi.head("TS_SWAP") + bi.call(s, "TS_SWAP", 1, "9001", 300,
                                                           [("Topic", "'first'")]))
    assert run_in_process(logs, tmp_path)["failed_runs"] == 0
    s = bi.Seq()
    (logs / name).write_text(bi.head("TS_SWAP") + bi.call(s, "TS_SWAP", 2, "9002", 600,
                                                           [("Topic", "'second'")]))
    assert run_in_process(logs, tmp_path)["failed_runs"] == 0
    reg = bi.registry(tmp_path / "data")
    assert reg.select("path", "status").rows() == [(name, "changed")]
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    assert bi.idb_table(url, "G_CALL")["CALLID"].to_list() == [bi.uuid("TS_SWAP", 2)]
    data = bi.idb_table(url, "G_USERDATA_HISTORY")
    assert data.select("CALLID", "VALUE").rows() == [(bi.uuid("TS_SWAP", 2), "second")]


def test_an_hour_without_any_switch_between_two_switches_logs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for app, base in (("TS_EARLY", 7), ("TS_LATE", 9)):
        name = bi.segment_name(app, f"{base:02d}0000")
        text = bi.header(app=app, local=f"{bi.DAY}T{base:02d}:00:00.000", name=name) + \
            bi.call(bi.Seq(), app, 1, "9101", 300, base=base)
        (logs / name).write_text(text)
    summary = run_in_process(logs, tmp_path)
    assert summary["failed_runs"] == 0, summary.get("error")


# -- OCS logs ------------------------------------------------------------------------------------

def attempt(corpus: Loaded, case: str) -> dict:
    rows = corpus.table("GO_CAMPAIGN").filter(
        pl.col("SESSID") == corpus.cases[case].calls["attempt"])
    assert rows.height == 1, case
    return rows.row(0, named=True)


def test_ocs_truncated_block(corpus):
    assert attempt(corpus, "ocs_truncated_block")["STATE"] == CampaignState.STARTED
    q = corpus.quarantine.filter(pl.col("path") == "OCS_TRUNC.20260310_070000_000.log")
    assert q["reason"].to_list() == ["truncated_line"]


def test_ocs_bad_lines(corpus):
    assert attempt(corpus, "ocs_bad_lines")["STATE"] == CampaignState.STARTED
    q = corpus.quarantine.filter(pl.col("path") == "OCS_BAD.20260310_070000_000.log")
    assert q.select("line", "reason").rows() == [(19, "malformed_attribute"),
                                                  (20, "binary_garbage"), (22, "binary_garbage")]
    assert "4111" not in q["text"][2] and "'***'" in q["text"][2]


def test_ocs_split_block(corpus):
    history = corpus.table("GO_CAMPAIGNHISTORY").filter(
        pl.col("SESSID") == corpus.cases["ocs_split_block"].calls["attempt"]).sort("SEQ")
    assert history["ETL_SOURCE"].to_list() == ["a/OCS_SPLIT.20260310_070000_000.log:14",
                                               "a/OCS_SPLIT.20260310_070000_000.log:19"]
    assert attempt(corpus, "ocs_split_block")["DIALMODE"] == DialMode.PREDICTIVE
    assert corpus.quarantine.filter(pl.col("path").str.starts_with("OCS_SPLIT")).height == 0


def test_every_case_is_documented():
    doc = DOCS.read_text()
    for case in bi.build().values():
        assert f"`{case.name}`" in doc, case.name
