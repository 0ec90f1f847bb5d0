"""Security (issue 7), through `icon-etl load` (docs/reliability.md, "Security"):

* values of secure keys (the attached-data spec's <secure> keys) and of `[icon-etl] mask-keys`
  are stored in the IDB but never printed: not in the command's output, the Dagster event log
  (progress lines, metadata, errors), the segment registry or the quarantine records, not even
  when the database refuses the row that holds them;
* SQL is built with bound parameters (or COPY) only: a CallUUID, a DN and values full of quotes
  and SQL round-trip into PostgreSQL, and `icon-etl explain` works with such a CallUUID;
* a log folder cannot lead out of itself: symbolic links to outside it are skipped with a
  warning and listed beside the registry (a `..` replica name and a spec name leaving the
  options folder are refused: tests/test_config_strict.py);
* masking one more key re-parses the cached segments, so no earlier quarantine record keeps it.

Already covered elsewhere: secure values in the run logs of a simulated day
(tests/test_pipeline.py), in quality-check samples (tests/test_quality.py), masking by the parser
itself (tests/test_parser.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa

from tests import badinput as bi
from transforms.idb import IdbStore, redact_url

SPEC = """<adata-spec xmlns="http://www.genesyslab.com/standards/icon/ed1">
  <secure><key name="CustomerPIN" source="userdata" history="all"/></secure>
</adata-spec>
"""
OPTIONS = """[callconcentrator]
adata-userdata-history = "all"
adata-spec-name = "ccon_adata_spec.xml"

[icon-etl]
mask-keys = "CardNumber"
"""
PIN = "4321987"                     # a secure value in a good event
PIN_QUARANTINED = "98761234"        # a secure value on a line that is quarantined
PIN_GARBAGE = "55550000"            # ... on a line of binary garbage
CARD = "4111111111111111"           # a mask-keys value in a good event
CARD_QUARANTINED = "5500005555555559"
SECRETS = (PIN, PIN_QUARANTINED, PIN_GARBAGE, CARD, CARD_QUARANTINED)
SQL_UUID = "CU'); DROP TABLE G_CALL;--"
SQL_DN = "O'Reilly\"; DELETE FROM G_PARTY;--"
COPY_VALUES = {"Null": "\\N", "Comma": "a,b", "Quotes": 'say "hi"', "Backslash": "C:\\x\\N",
               "Sql": "x'); DELETE FROM G_USERDATA_HISTORY;--"}


def secured_log() -> str:
    s = bi.Seq()
    app = "TS_SEC"
    text = bi.head(app)
    text += bi.ev(s, "07:05:00.0000", "EventRinging", SQL_DN, SQL_UUID, "00aa000000000001")
    text += bi.ev(s, "07:05:04.0000", "EventEstablished", SQL_DN, SQL_UUID, "00aa000000000001",
                  extra=bi.kvlist("AttributeUserData", [("CustomerPIN", f"'{PIN}'"),
                                                        ("CardNumber", f"'{CARD}'")]
                                  + [(k, f"'{v}'") for k, v in COPY_VALUES.items()])
                  # members after a plain attribute, outside any list: quarantined
                  # (kv_member_outside_list)
                  + ["\tAttributeReferenceID\t7", f"\t\t'CustomerPIN'\t'{PIN_QUARANTINED}'",
                     f"\t\t'CardNumber'\t'{CARD_QUARANTINED}'"])
    text += f"\x00\x01 garbage \t'CustomerPIN'\t'{PIN_GARBAGE}'\n"
    text += bi.ev(s, "07:06:30.0000", "EventReleased", SQL_DN, SQL_UUID, "00aa000000000001")
    return text


@pytest.fixture(scope="module")
def pg_module_url(pg_server):
    with pg_server.database("icon_sec") as name:
        yield pg_server.url(name)


def write_setup(root: Path) -> Path:
    logs = root / "logs"
    logs.mkdir(parents=True)
    (logs / bi.segment_name("TS_SEC")).write_text(secured_log())
    (root / "ccon_adata_spec.xml").write_text(SPEC)
    (root / "icon-options.toml").write_text(OPTIONS)
    return logs


class Secured:
    def __init__(self, root: Path, url: str, result: bi.CliResult):
        self.root, self.url, self.result = root, url, result
        self.home = root / "home"
        self.data = self.home / "data"


@pytest.fixture(scope="module")
def secured(tmp_path_factory, pg_module_url) -> Secured:
    root = tmp_path_factory.mktemp("security")
    logs = write_setup(root)
    result = bi.run_cli(["load", "--logs", logs, "--idb", pg_module_url,
                         "--options", root / "icon-options.toml"], root / "home")
    assert result.rc == 0, result.stderr[-3000:]
    return Secured(root, pg_module_url, result)


def dagster_records(home: Path) -> list[str]:
    """Every event-log record of every run in the instance (messages, metadata, errors)."""
    instance = dg.DagsterInstance.from_config(str(home / "dagster_home"))
    try:
        return [str(record) for run in instance.get_runs() for record in instance.all_logs(run.run_id)]
    finally:
        instance.dispose()


def leaks(texts, secrets=SECRETS) -> list[tuple[str, str]]:
    return [(secret, text[:200]) for text in texts for secret in secrets if secret in text]


# -- secure and masked values ---------------------------------------------------------------------

def test_secure_and_masked_values_are_stored_but_never_printed(secured):
    # stored where they belong
    secure = bi.idb_table(secured.url, "G_SECURE_USERDATA_HISTORY")
    assert secure.select("KEYNAME", "VALUE").rows() == [("CustomerPIN", PIN)]
    public = bi.idb_table(secured.url, "G_USERDATA_HISTORY")
    assert dict(public.select("KEYNAME", "VALUE").iter_rows())["CardNumber"] == CARD
    assert "CustomerPIN" not in public["KEYNAME"].to_list()

    # the quarantined lines are there, with file:line and reason, their values masked
    q = bi.quarantine(secured.data)
    assert sorted(q["reason"]) == ["binary_garbage", "kv_member_outside_list",
                                   "kv_member_outside_list"]
    assert all(p == bi.segment_name("TS_SEC") and line > 0 for p, line in q.select("path", "line")
               .iter_rows())
    assert sorted(t.split("\t")[-1] for t in q["text"]) == ["'***'"] * 3

    printed = [secured.result.stdout, secured.result.stderr, *dagster_records(secured.home),
               *q["text"].to_list(),
               *[str(v) for v in bi.registry(secured.data).row(0, named=True).values()]]
    assert leaks(printed) == []


def test_a_database_error_names_the_table_never_the_row(tmp_path, pg_url):
    """PostgreSQL quotes the failing row in its error (DETAIL: Failing row contains (...)); the
    IDB error keeps the message and the names, never the values."""
    logs = write_setup(tmp_path)
    store = IdbStore(pg_url)
    store.create_schema()
    with store.engine.begin() as conn:   # an IDB whose schema refuses our secure rows
        conn.execute(sa.text("ALTER TABLE G_SECURE_USERDATA_HISTORY ALTER COLUMN GSYS_EXT_VCH1 "
                             "SET NOT NULL"))
    store.engine.dispose()
    result = bi.run_cli(["load", "--logs", logs, "--idb", pg_url,
                         "--options", tmp_path / "icon-options.toml"], tmp_path / "home")
    assert result.rc == 1 and bi.no_traceback(result.stderr), result.stderr[-3000:]
    assert "violates not-null constraint (table g_secure_userdata_history, column gsys_ext_vch1)" \
        in result.stderr
    assert redact_url(pg_url) in result.stderr
    assert leaks([result.stdout, result.stderr, *dagster_records(tmp_path / "home")]) == []
    # the refused call (the hour's only one) wrote nothing of its attached data: its savepoint
    # was rolled back; the failure is on record for the next run
    assert bi.idb_table(pg_url, "G_USERDATA_HISTORY").height == 0
    assert "entities refused by the IDB" in result.stderr


def test_masking_one_more_key_reparses_the_cache(tmp_path):
    """A key added to mask-keys is masked in the quarantine records of segments parsed before."""
    logs = write_setup(tmp_path)
    options = tmp_path / "icon-options.toml"
    options.write_text(OPTIONS.replace('mask-keys = "CardNumber"', 'mask-keys = ""'))
    home, idb = tmp_path / "home", f"sqlite:///{tmp_path / 'idb.sqlite'}"
    args = ["load", "--logs", logs, "--idb", idb, "--options", options]
    assert bi.run_cli(args, home).rc == 0
    texts = bi.quarantine(home / "data")["text"].to_list()
    assert any(CARD_QUARANTINED in t for t in texts)             # not masked yet
    assert not any(PIN_QUARANTINED in t for t in texts)          # the secure key always is

    options.write_text(OPTIONS)                                  # mask-keys = "CardNumber"
    result = bi.run_cli(args, home)
    assert result.rc == 0
    texts = bi.quarantine(home / "data")["text"].to_list()
    assert leaks(texts) == [] and len(texts) == 3
    assert leaks([result.stdout, result.stderr]) == []


# -- bound parameters ---------------------------------------------------------------------------

def test_sql_text_in_ids_and_values_round_trips_into_postgres(secured):
    calls = bi.idb_table(secured.url, "G_CALL")
    assert calls["CALLID"].to_list() == [SQL_UUID]
    parties = bi.idb_table(secured.url, "G_PARTY")
    assert parties["ENDPOINTDN"].to_list() == [SQL_DN]
    data = dict(bi.idb_table(secured.url, "G_USERDATA_HISTORY").select("KEYNAME", "VALUE")
                .iter_rows())
    for key in ("Comma", "Quotes", "Backslash", "Sql"):
        assert data[key] == COPY_VALUES[key], key


def test_a_value_that_reads_like_the_copy_null_marker_round_trips(secured):
    data = dict(bi.idb_table(secured.url, "G_USERDATA_HISTORY").select("KEYNAME", "VALUE")
                .iter_rows())
    assert data["Null"] == "\\N"


def test_explain_works_with_a_callid_full_of_sql(secured):
    result = bi.run_cli(["explain", SQL_UUID, "--idb", secured.url, "--data", secured.data],
                        secured.home)
    assert result.rc == 0, result.stderr
    assert f"call {SQL_UUID}" in result.stdout and "EventReleased" in result.stdout
    assert SQL_DN in result.stdout
    with sa.create_engine(secured.url).connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    assert {"g_call", "g_party", "g_userdata_history"} <= names


def test_passwords_in_urls_are_masked():
    assert redact_url("postgresql+psycopg://icon:s3cr3t@db:5432/idb") == \
        "postgresql+psycopg://icon:***@db:5432/idb"
    assert redact_url("postgresql://icon:p@ss@db/idb") == "postgresql://icon:***@db/idb"
    assert redact_url("sqlite:////var/icon/idb.sqlite") == "sqlite:////var/icon/idb.sqlite"


# -- paths cannot leave the log folder ------------------------------------------------------------

def test_symbolic_links_out_of_the_log_folder_are_never_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    s = bi.Seq()
    secret = bi.head("TS_OUT") + bi.call(s, "TS_OUT", 1, "9601", 300)
    (outside / bi.segment_name("TS_OUT")).write_text(secret)
    logs = tmp_path / "logs"
    logs.mkdir()
    s = bi.Seq()
    own = bi.segment_name("TS_IN")
    (logs / own).write_text(bi.head("TS_IN") + bi.call(s, "TS_IN", 1, "9602", 300))
    (logs / "TS_LINK.20260310_070000_000.log").symlink_to(outside / bi.segment_name("TS_OUT"))
    (logs / "relative.log").symlink_to(Path("..") / "outside" / bi.segment_name("TS_OUT"))
    (logs / "linked-folder").symlink_to(outside, target_is_directory=True)
    (logs / "dangling.log").symlink_to(tmp_path / "gone.log")
    (logs / "current.log").symlink_to(own)                       # inside: read (a duplicate)
    os.mkfifo(logs / "pipe.log")                                 # never opened

    home, idb = tmp_path / "home", f"sqlite:///{tmp_path / 'idb.sqlite'}"
    result = bi.run_cli(["load", "--logs", logs, "--idb", idb], home)
    assert result.rc == 0 and bi.no_traceback(result.stderr), result.stderr[-3000:]
    assert bi.idb_table(idb, "G_CALL")["CALLID"].to_list() == [bi.uuid("TS_IN", 1)]
    registry = bi.registry(home / "data")
    assert sorted(registry["path"]) == ["TS_IN.20260310_070000_000.log", "current.log"]
    assert registry.filter(pl.col("path") == "current.log")["status"].to_list() == ["duplicate"]

    skipped = pl.read_parquet(home / "data" / "a" / "segments_skipped.parquet")
    reasons = dict(skipped.select("path", "reason").iter_rows())
    assert reasons == {
        "TS_LINK.20260310_070000_000.log": "symbolic link to outside the log folder (never read)",
        "relative.log": "symbolic link to outside the log folder (never read)",
        "linked-folder": "symbolic link to outside the log folder (never read)",
        "dangling.log": "symbolic link to nothing",
        "pipe.log": "not a regular file",
    }
    for path in reasons:
        assert any(f"a/{path}" in line and "skipped" in line
                   for line in result.stderr.splitlines()), path


def test_a_replica_folder_linked_to_outside_the_log_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / bi.segment_name("TS_OUT")).write_text(bi.head("TS_OUT"))
    logs = tmp_path / "logs"
    (logs / "a").mkdir(parents=True)
    (logs / "a" / bi.segment_name("TS_IN")).write_text(bi.head("TS_IN"))
    (logs / "b").symlink_to(outside, target_is_directory=True)
    result = bi.run_cli(["load", "--logs", logs, "--idb", f"sqlite:///{tmp_path / 'idb.sqlite'}"],
                        tmp_path / "home")
    assert result.rc == 2 and bi.no_traceback(result.stderr)
    assert f"replica b: {logs / 'b'} is a symbolic link to {outside}, outside the log folder" \
        in result.stderr
    assert not (tmp_path / "home" / "data").exists()
