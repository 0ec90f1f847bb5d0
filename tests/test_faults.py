"""Faults (issue 7): a materialization killed while it writes the IDB, a database that cannot be
reached, a data folder that cannot be written, a full disk. Each through the real `icon-etl load`
in a subprocess (docs/reliability.md, "Faults").

Outcomes: the IDB never holds half a batch of hours and a re-run gives exactly the tables of an
uninterrupted run; an unreachable or missing database, an unwritable folder or a full disk stop
with one clear line (the database named, its password masked; exit code 3), no traceback and
nothing half-written, and the same command works once the fault is gone.
"""

from __future__ import annotations

import base64
import os
import queue
import random
import resource
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import polars as pl
import pytest

from tests import badinput as bi
from tests.graph import simulate_with_examples
from transforms.idb import BOOKKEEPING, TABLES

ROLE_TABLES = {role: [n for n, t in TABLES.items() if t.role == role] for role in ("gcc", "gls", "gud")}
LEDGERS = ("ETL_COVERAGE", "ETL_RECONCILE")


# -- a materialization killed while it writes the IDB -----------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    """Two simulated hours, with the example options and attached-data spec."""
    return simulate_with_examples(tmp_path_factory.mktemp("faults_sim"), profile="small", start="2026-03-09T22:00:00Z", hours=2, seed=23)


def load_args(sim: Path, idb: Path, *extra) -> list:
    """The quality checks are left out: they write nothing to the IDB, and cost a minute here."""
    return ["load", "--logs", sim / "logs", "--config", sim / "config.json", "--no-checks",
            "--options", sim / "icon-options.toml", "--idb", f"sqlite:///{idb}", *extra]


def tables(idb: Path) -> dict[str, pl.DataFrame]:
    """Every IDB table but the bookkeeping of how it was loaded, rows in a canonical order."""
    out = {}
    for name in set(TABLES) - set(BOOKKEEPING):
        frame = bi.idb_table(f"sqlite:///{idb}", name)
        out[name] = frame.sort(frame.columns) if frame.height else frame
    return out


def assert_natural_keys_unique(found: dict[str, pl.DataFrame]) -> None:
    for name, frame in found.items():
        key = list(TABLES[name].key)
        if key and frame.height:
            assert frame.select(key).is_duplicated().sum() == 0, name


def write_lock_held(idb: Path) -> bool:
    """Whether a write transaction is open on the SQLite IDB: BEGIN IMMEDIATE needs the write
    lock, so it fails at once while another connection holds it (and is rolled back at once
    when it succeeds, so the writer is not held up)."""
    conn = sqlite3.connect(idb, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    finally:
        conn.close()


def kill_during_idb_write(args: list, home: Path, idb: Path, after: str) -> tuple[list[str], bool]:
    """Run `icon-etl load`; once a progress line contains `after`, wait until a write transaction
    is open on the IDB and SIGKILL the process. Returns (stderr lines, killed mid-transaction)."""
    proc = subprocess.Popen(bi.cli_command() + [str(a) for a in args], cwd=home.parent,
                            env=bi.cli_env(home), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    armed, in_transaction = False, False
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.0005 if armed else 1)
            except queue.Empty:
                line = ""
            if line is None:
                break
            if line:
                seen.append(line)
                armed = armed or after in line
            if armed and idb.exists() and write_lock_held(idb):
                os.kill(proc.pid, signal.SIGKILL)
                in_transaction = True
                break
    finally:
        if proc.poll() is None and not in_transaction:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    return seen, in_transaction


def test_a_kill_while_writing_leaves_whole_batches_and_a_rerun_completes_it(sim, tmp_path):
    # an uninterrupted run
    ref = bi.run_cli(load_args(sim, tmp_path / "ref.sqlite"), tmp_path / "ref")
    assert ref.rc == 0, ref.stderr[-2000:]
    reference = tables(tmp_path / "ref.sqlite")
    hours = sorted(reference["G_CALL"]["ETL_PARTITION"].unique())
    assert len(hours) >= 2
    first = hours[0]

    # the run killed while the gcc writer holds the transaction of its batch of hours (the
    # progress line of the gcc role comes just before it)
    idb, home = tmp_path / "idb.sqlite", tmp_path / "home"
    seen, mid_write = kill_during_idb_write(load_args(sim, idb), home, idb, f"gcc {first} ..")
    assert mid_write, "\n".join(seen[-20:])
    killed = tables(idb)

    # no half batch: each role's tables hold nothing or (a role written before the kill)
    # everything; the one whose transaction was cut holds nothing; the ledgers hold whole
    # hours; every natural key once
    states = {}
    for role, names in ROLE_TABLES.items():
        for state, expected in (("empty", None), ("complete", reference)):
            if all(killed[n].height == 0 if expected is None else killed[n].equals(expected[n])
                   for n in names):
                states[role] = state
                break
        assert role in states, f"{role}: half a batch"
    assert states["gcc"] == "empty", states
    for name in LEDGERS:
        for hour in killed[name]["HOUR"].unique():
            mine = killed[name].filter(pl.col("HOUR") == hour)
            assert mine.equals(reference[name].filter(pl.col("HOUR") == hour)), (name, hour)
    assert_natural_keys_unique(killed)

    # the same command again: exactly the tables of the uninterrupted run
    again = bi.run_cli(load_args(sim, idb), home)
    assert again.rc == 0, again.stderr[-2000:]
    for name, frame in tables(idb).items():
        assert frame.equals(reference[name]), name


# -- small input for the environment faults ------------------------------------------------------

def two_calls(root: Path) -> Path:
    logs = root / "logs"
    logs.mkdir(parents=True)
    s = bi.Seq()
    (logs / bi.segment_name("TS_FAULT")).write_text(
        bi.head("TS_FAULT") + bi.call(s, "TS_FAULT", 1, "9401", 300) +
        bi.call(s, "TS_FAULT", 2, "9402", 600))
    return logs


def assert_one_clear_line(result: bi.CliResult, *needles: str) -> None:
    assert result.rc == 3, (result.rc, result.stderr[-2000:])
    assert bi.no_traceback(result.stderr), result.stderr[-2000:]
    text = result.stderr
    for needle in needles:
        assert needle in text, (needle, text[-2000:])


# -- the database cannot be reached -----------------------------------------------------------

def test_an_unreachable_or_missing_database_stops_cleanly_and_the_retry_works(tmp_path, pg_url,
                                                                              pg_server):
    logs, home = two_calls(tmp_path), tmp_path / "home"
    password = "Secret-PW-4711"
    wrong_port = f"postgresql+psycopg://postgres:{password}@127.0.0.1:1/icon_idb"
    result = bi.run_cli(["load", "--logs", logs, "--idb", wrong_port], home)
    assert_one_clear_line(result, "postgresql+psycopg://postgres:***@127.0.0.1:1/icon_idb",
                          "port 1 failed")
    assert password not in result.stderr + result.stdout
    # nothing was parsed or written before the database answered
    assert not (home / "data").exists()

    missing = f"icon_missing_{uuid.uuid4().hex[:8]}"
    result = bi.run_cli(["load", "--logs", logs, "--idb", pg_server.url(missing)], home)
    assert_one_clear_line(result, f'database "{missing}" does not exist')
    assert not (home / "data").exists()

    # back: the same command with the right URL loads everything
    result = bi.run_cli(["load", "--logs", logs, "--idb", pg_url], home)
    assert result.rc == 0, result.stderr[-2000:]
    assert sorted(bi.idb_table(pg_url, "G_CALL")["CALLID"]) == [bi.uuid("TS_FAULT", 1),
                                                                bi.uuid("TS_FAULT", 2)]


# -- folders that cannot be written, a full disk ---------------------------------------------------

def unwritable_folder(tmp_path: Path) -> tuple[Path, str]:
    """A folder icon-etl cannot create or write, and the reason the system gives. chmod 0o500
    does not stop root: then a path under a regular file (which cannot be a folder) is used."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        (locked / "probe").write_text("x")
    except PermissionError:
        return locked / "data", "Permission denied"
    (locked / "probe").unlink()
    locked.chmod(0o700)
    plain = tmp_path / "a-file"
    plain.write_text("not a folder")
    return plain / "data", "Not a directory"


def test_an_unwritable_data_folder_or_idb_folder_is_a_clear_error(tmp_path):
    logs, home = two_calls(tmp_path), tmp_path / "home"
    folder, reason = unwritable_folder(tmp_path)
    result = bi.run_cli(["load", "--logs", logs, "--idb", f"sqlite:///{tmp_path / 'idb.sqlite'}",
                         "--data", folder], home)
    assert_one_clear_line(result, f"data folder (--data, ICON_DATA_DIR) {folder} is not writable: "
                                  f"{reason}")
    result = bi.run_cli(["load", "--logs", logs, "--idb", f"sqlite:///{folder / 'idb.sqlite'}"],
                        home)
    assert_one_clear_line(result, f"IDB folder {folder} is not writable: {reason}")


def test_a_full_disk_stops_the_run_with_a_clear_error_and_nothing_half_written(tmp_path):
    """RLIMIT_FSIZE makes every write past 4 MB fail with EFBIG ("File too large"), the way a
    full disk fails a write with ENOSPC: the parse cache of a segment with a 6 MB value cannot
    be written."""
    logs, home = tmp_path / "logs", tmp_path / "home"
    logs.mkdir()
    blob = base64.b64encode(random.Random(1).randbytes(6_000_000)).decode()
    s = bi.Seq()
    (logs / bi.segment_name("TS_FULL")).write_text(
        bi.head("TS_FULL") + bi.call(s, "TS_FULL", 1, "9501", 300, [("Blob", f"'{blob}'")]))
    idb = f"sqlite:///{tmp_path / 'idb.sqlite'}"

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))

    proc = subprocess.run(bi.cli_command() + ["load", "--logs", str(logs), "--idb", idb],
                          cwd=tmp_path, env=bi.cli_env(home), capture_output=True, text=True,
                          preexec_fn=small_disk, timeout=600)
    result = bi.CliResult(proc.returncode, proc.stdout, proc.stderr)
    assert_one_clear_line(result, "replica_a__log_segments", "File too large",
                          f"the data folder ({home / 'data'})")
    # no parse-cache entry without its report (a half entry would be taken for a parse)
    cache = home / "data" / "a" / "segment_cache"
    entries = [e for e in cache.iterdir() if not e.name.startswith(".")] if cache.exists() else []
    assert all((e / "report.json").exists() for e in entries)
    assert not (home / "data" / "a" / "segments.parquet").exists()

    # space is back: the same command loads the call
    again = bi.run_cli(["load", "--logs", logs, "--idb", idb], home)
    assert again.rc == 0, again.stderr[-2000:]
    data = bi.idb_table(idb, "G_USERDATA_HISTORY")
    assert data.height == 0 or data["VALUE"].str.len_chars().max() in (None, len(blob))
    assert bi.idb_table(idb, "G_CALL")["CALLID"].to_list() == [bi.uuid("TS_FULL", 1)]


def test_an_idb_that_cannot_count_leaves_the_row_count_out(tmp_path):
    """The catalog's row count is metadata: an IDB that cannot answer leaves it out (the writes
    report their own failure), and one that answers gives each table's rows."""
    from assets.idb import row_counts
    from transforms.idb import IdbStore

    assert row_counts(IdbStore(f"sqlite:///{tmp_path / 'no' / 'such' / 'idb.sqlite'}"),
                      ["G_CALL"]) == {}
    store = IdbStore(f"sqlite:///{tmp_path / 'idb.sqlite'}")
    store.create_schema()
    assert row_counts(store, ["G_CALL", "G_PARTY"]) == {
        "G_CALL": {"dagster/row_count": 0}, "G_PARTY": {"dagster/row_count": 0}}
