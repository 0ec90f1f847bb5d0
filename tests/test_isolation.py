"""Bad files never stop the good data (issue 13), through the real `icon-etl load`:

* good segments beside a truncated `.gz` copy of one of them and 200 KB of random bytes named like
  a segment: exit 0, every call of the good segments in the IDB once, both files listed;
* an hour refused (more of it quarantined than the options allow): the other hours load, the
  refused hour and what it blocks are named, exit 1; the same command after the fix completes it;
* a call the IDB refuses (a row put there by hand holds its key): the hour's other calls are
  written, the call is named with the database's reason, exit 1; the same command after the fix
  writes it (docs/reliability.md, "Failures confined to hours and entities").
"""

from __future__ import annotations

import gzip
import random
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from tests import badinput as bi
from tests.graph import simulate_with_examples
from transforms.idb import BOOKKEEPING, TABLES

PARSED = "replica_a/parsed_events"


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    """Three simulated hours (small contact center), with the example options and spec."""
    return simulate_with_examples(tmp_path_factory.mktemp("isolation_sim"), profile="small",
                                  start="2026-03-09T22:00:00Z", hours=3, seed=31)


def load(sim: Path, logs: Path, root: Path, options: Path | None = None) -> bi.CliResult:
    return bi.run_cli(["load", "--logs", logs, "--config", sim / "config.json", "--no-checks",
                       "--options", options or sim / "icon-options.toml",
                       "--idb", f"sqlite:///{root / 'idb.sqlite'}"], root / "home")


def tables(root: Path) -> dict[str, pl.DataFrame]:
    out = {}
    for name in sorted(set(TABLES) - set(BOOKKEEPING)):
        frame = bi.idb_table(f"sqlite:///{root / 'idb.sqlite'}", name)
        out[name] = frame.sort(frame.columns) if frame.height else frame
    return out


@pytest.fixture(scope="module")
def reference(sim, tmp_path_factory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("isolation_ref")
    result = load(sim, sim / "logs", root)
    assert result.rc == 0, result.stderr[-2000:]
    return tables(root)


def test_a_truncated_gzip_copy_and_random_bytes_stop_nothing(sim, reference, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(sim / "logs", logs)
    segment = sorted(logs.glob("TS_NORTH.*.log"))[1]
    packed = gzip.compress(segment.read_bytes(), mtime=0)
    copy = logs / segment.name.replace(".log", "_copy.log.gz")
    copy.write_bytes(packed[: len(packed) * 2 // 3])
    junk = logs / "TS_NORTH.20260310_040000_000.log"
    junk.write_bytes(random.Random(13).randbytes(200_000))

    result = load(sim, logs, tmp_path)
    assert result.rc == 0, result.stderr[-3000:]
    got = tables(tmp_path)
    for name in ("G_CALL", "G_PARTY", "G_PARTY_HISTORY", "G_CALL_HISTORY", "G_USERDATA_HISTORY"):
        assert got[name].equals(reference[name]), name
    lines = result.stderr.splitlines()
    assert any(f"a/{copy.name}: partial copy of {segment.name}" in ln
               and "truncated gzip stream" in ln for ln in lines), result.stderr[-2000:]
    assert any(f"a/{junk.name}:" in ln and "not a T-Server log" in ln for ln in lines)


def garbage(segment: Path, lines: int) -> None:
    """`lines` lines of binary garbage before the segment's last TLib block."""
    text = segment.read_bytes().split(b"\n")
    at = max(n for n in range(len(text)) if text[n].startswith(b"@"))
    junk = [b"\x00\x01 garbage \x02 %d" % k for k in range(lines)]
    segment.write_bytes(b"\n".join(text[:at] + junk + text[at:]))


def test_a_refused_hour_keeps_only_itself_out_and_the_same_command_completes_it(
        sim, reference, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(sim / "logs", logs)
    last = sorted(logs.glob("TS_NORTH.*.log"))[-1]
    garbage(last, 30)
    shutil.copy(sim / "ccon_adata_spec.xml", tmp_path)
    strict = tmp_path / "strict.toml"      # the example options, with a strict quarantine
    strict.write_text((sim / "icon-options.toml").read_text().replace(
        'mask-keys = ""', 'mask-keys = ""\nmax-quarantine-share-warn = 0.00001\n'
                          'max-quarantine-share-fail = 0.00002'))

    result = load(sim, logs, tmp_path, strict)
    assert result.rc == 1 and bi.no_traceback(result.stderr), result.stderr[-3000:]
    summary = result.summary
    assert summary["failed_runs"] == 0 and 0 < summary["failed_hours"] < summary["partitions"]
    data = bi.data_folder(tmp_path / "home" / "data")
    refused = [(stage, hour) for stage, hour, cause in data.failures()
               if stage == PARSED and "max-quarantine-share-fail" in cause]
    assert refused, data.failures()
    first_refused = min(hour for _, hour in refused)
    assert f"{first_refused} {PARSED}: HourRefused:" in result.stderr
    assert f"blocked by {PARSED} {first_refused}" in result.stderr
    # every hour before the refused one is in the IDB as the complete load has it
    got = tables(tmp_path)
    for name in ("G_IR", "G_CALL_HISTORY", "ETL_COVERAGE"):
        column = "HOUR" if name == "ETL_COVERAGE" else "ETL_PARTITION"
        before = [h for h in reference[name][column].unique().to_list() if h < first_refused]
        assert before, name
        assert got[name].filter(pl.col(column).is_in(before)).height > 0, name
    for stage, hour, _ in data.failures():
        assert hour >= first_refused, (stage, hour)

    # the fix (the default thresholds), the same command: everything, once (the garbage moved
    # the lines after it: the rows' sources differ from the clean logs', nothing else)
    again = load(sim, logs, tmp_path)
    assert again.rc == 0, again.stderr[-3000:]
    assert data.failures() == []
    done = tables(tmp_path)
    lineage = ["ETL_SOURCE", "ETL_SOURCE_LAST", "ETL_HASH"]
    for name in ("G_CALL", "G_PARTY_HISTORY", "G_LOGIN_SESSION", "G_USERDATA_HISTORY"):
        mine, theirs = (t[name].drop(lineage, strict=False) for t in (done, reference))
        assert mine.sort(mine.columns).equals(theirs.sort(theirs.columns)), name


def test_a_call_the_idb_refuses_keeps_only_itself_out(sim, reference, tmp_path):
    first = load(sim, sim / "logs", tmp_path)
    assert first.rc == 0, first.stderr[-2000:]
    idb = tmp_path / "idb.sqlite"
    call = reference["G_CALL"].sort("CALLID")["CALLID"][0]
    with sqlite3.connect(idb) as conn:   # a row put there by hand (not by a load) holds its key
        conn.execute("UPDATE G_CALL SET ETL_ENTITY = 'by hand', ETL_PARTITION = NULL "
                     "WHERE CALLID = ?", (call,))

    result = load(sim, sim / "logs", tmp_path)
    assert result.rc == 1 and bi.no_traceback(result.stderr), result.stderr[-3000:]
    assert "entities refused by the IDB" in result.stderr and call in result.stderr
    assert "UNIQUE constraint failed: G_CALL.CALLID" in result.stderr
    got = tables(tmp_path)
    others = pl.col("CALLID") != call
    for name in ("G_CALL", "G_PARTY", "G_CALL_HISTORY"):
        assert got[name].filter(others).equals(reference[name].filter(others)), name

    with sqlite3.connect(idb) as conn:   # the fix: the row by hand goes
        conn.execute("DELETE FROM G_CALL WHERE ETL_ENTITY = 'by hand'")
    again = load(sim, sim / "logs", tmp_path)
    assert again.rc == 0, again.stderr[-3000:]
    done = tables(tmp_path)
    for name in ("G_CALL", "G_PARTY", "G_CALL_HISTORY", "G_USERDATA_HISTORY"):
        assert done[name].equals(reference[name]), name
