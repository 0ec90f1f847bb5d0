"""One run per data folder, and one IDB per data folder (issue 13), with real processes:

* two `icon-etl load` of different log folders into different IDBs, started together on one data
  folder: the second waits for the first (naming it), then is refused (the data folder belongs to
  the first IDB); no call of one folder reaches the other IDB;
* `--no-wait` on a data folder in use: exit 3 at once, naming the holder;
* a Dagster run (the UI's, the schedule's, the sensor's) waits for the data folder as the CLI does;
* a data folder with another IDB, or an IDB with another data folder: refused with what to do;
  an IDB deleted to be loaded again takes its data folder back (docs/reliability.md).
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_project import runner
from dagster_project.definitions import build_definitions
from tests import badinput as bi
from tests.graph import settings
from transforms.datafolder import DataFolder, DataFolderBusy

APPS = ("TS_ONE", "TS_TWO")


def logs_of(root: Path, app: str, calls: int = 40) -> Path:
    logs = root / f"logs_{app}"
    logs.mkdir(parents=True)
    s = bi.Seq()
    (logs / bi.segment_name(app)).write_text(
        bi.head(app) + "".join(bi.call(s, app, k, f"71{k:02d}", 60 * k) for k in range(1, calls)))
    return logs


def load_command(logs: Path, idb: Path, *extra) -> list:
    return bi.cli_command() + ["load", "--logs", str(logs), "--idb", f"sqlite:///{idb}",
                               "--no-checks", *map(str, extra)]


def start(cmd: list, home: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=home.parent, env=bi.cli_env(home), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def calls(idb: Path) -> set[str]:
    if not idb.exists():
        return set()
    return set(bi.idb_table(f"sqlite:///{idb}", "G_CALL")["CALLID"].to_list())


def test_two_loads_on_one_data_folder_never_mix(tmp_path):
    home = tmp_path / "home"                       # one ICON_HOME: one default data folder
    one, two = (logs_of(tmp_path, app) for app in APPS)
    first = start(load_command(one, tmp_path / "one.sqlite"), home)
    # the second starts once the first holds the data folder
    deadline = time.monotonic() + 60
    while DataFolder(home / "data").holder() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = start(load_command(two, tmp_path / "two.sqlite"), home)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)

    assert first.returncode == 0, err1[-2000:]
    assert "is in use by icon-etl load" in err2 and "waiting" in err2
    assert second.returncode == 2 and bi.no_traceback(err2), err2[-2000:]
    assert "belongs to the IDB" in err2 and "give it a data folder of its own" in err2
    assert calls(tmp_path / "one.sqlite") == {bi.uuid("TS_ONE", k) for k in range(1, 40)}
    assert not calls(tmp_path / "two.sqlite")
    # with a data folder of its own, the second folder loads, and only its calls
    third = bi.run_cli(["load", "--logs", two, "--idb", f"sqlite:///{tmp_path / 'two.sqlite'}",
                        "--data", tmp_path / "data_two", "--no-checks"], home)
    assert third.rc == 0, third.stderr[-2000:]
    assert calls(tmp_path / "two.sqlite") == {bi.uuid("TS_TWO", k) for k in range(1, 40)}


def test_no_wait_exits_at_once_naming_the_holder(tmp_path):
    home = tmp_path / "home"
    logs = logs_of(tmp_path, "TS_ONE", calls=3)
    with DataFolder(home / "data").lock("a test that holds it"):
        started = time.monotonic()
        result = bi.run_cli(["load", "--logs", logs, "--no-wait"], home, timeout=120)
        assert time.monotonic() - started < 60
    assert result.rc == 3 and bi.no_traceback(result.stderr), result.stderr[-2000:]
    assert "is in use by a test that holds it" in result.stderr and "--no-wait" in result.stderr


def test_a_dagster_run_waits_for_the_data_folder(tmp_path):
    logs = logs_of(tmp_path, "TS_ONE", calls=3)
    defs = build_definitions(settings(logs, tmp_path / "config.json", tmp_path))   # lock=True
    data = DataFolder(tmp_path / "data")
    outcome: dict = {}

    def run() -> None:
        with dg.instance_for_test() as instance:
            outcome["summary"] = runner.run_all(defs, instance, progress=lambda _: None,
                                                checks=False)
    with data.lock("icon-etl load (the test)"):
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=3)
        assert thread.is_alive(), "the run did not wait for the data folder"
        assert not data.replica("a").registry.exists()      # nothing written meanwhile
    thread.join(timeout=300)
    assert outcome["summary"]["failed_runs"] == 0, outcome["summary"]
    assert data.replica("a").registry.exists()


def test_dagster_steps_share_the_data_folder_and_a_command_waits_for_them(tmp_path):
    """Steps of Dagster runs (the multiprocess and Celery executors run several at once) hold the
    data folder shared: they run together; a command waits until the last of them ends, and
    `--no-wait` names one of them; registrations of one replica take turns."""
    data = DataFolder(tmp_path / "data")
    with data.lock("Dagster run one", shared=True), data.lock("Dagster run two", shared=True):
        assert data.holder().startswith("Dagster run two")
        with pytest.raises(DataFolderBusy, match="in use by Dagster run two"):
            with data.lock("icon-etl load", wait=False):
                pass
        assert data.holder().startswith("Dagster run two")
    assert data.holder() is None
    with data.lock("icon-etl load", wait=False):
        with pytest.raises(DataFolderBusy):
            with data.lock("Dagster run three", wait=False, shared=True):
                pass
    order: list[str] = []

    def register(name: str) -> None:
        with data.registering("a"):
            order.append(f"{name} in")
            time.sleep(0.3)
            order.append(f"{name} out")
    threads = [threading.Thread(target=register, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [o.split()[1] for o in order] == ["in", "out", "in", "out"], order


def test_a_data_folder_and_an_idb_belong_to_each_other(tmp_path):
    home = tmp_path / "home"
    logs = logs_of(tmp_path, "TS_ONE", calls=3)
    load = lambda idb, *extra: bi.run_cli(  # noqa: E731
        ["load", "--logs", logs, "--idb", f"sqlite:///{idb}", "--no-checks", *extra], home)
    assert load(tmp_path / "one.sqlite").rc == 0

    # the data folder with another IDB
    other = load(tmp_path / "other.sqlite")
    assert other.rc == 2 and "belongs to the IDB" in other.stderr, other.stderr[-2000:]
    assert f"delete {home / 'data'} and load again" in other.stderr
    # the IDB with another data folder
    moved = load(tmp_path / "one.sqlite", "--data", tmp_path / "elsewhere")
    assert moved.rc == 2 and "is loaded from the data folder" in moved.stderr
    assert f"use --data {home / 'data'}" in moved.stderr
    # the IDB deleted to be loaded again: it takes its data folder back
    (tmp_path / "one.sqlite").unlink()
    again = load(tmp_path / "one.sqlite")
    assert again.rc == 0, again.stderr[-2000:]
    assert calls(tmp_path / "one.sqlite") == {bi.uuid("TS_ONE", k) for k in range(1, 3)}


@pytest.mark.parametrize("command", [
    ["backfill", "--start", "2026-03-10T06:00Z", "--end", "2026-03-10T07:00Z"],
    ["demo", "--hours", "1"],
])
def test_backfill_and_demo_hold_the_data_folder_too(tmp_path, command):
    home = tmp_path / "home"
    logs = logs_of(tmp_path, "TS_ONE", calls=3)
    with DataFolder(home / "data").lock("a test that holds it"):
        result = bi.run_cli(command + ["--no-wait"], home, timeout=120, ICON_LOG_DIR=str(logs))
    assert result.rc == 3 and bi.no_traceback(result.stderr), result.stderr[-2000:]
    assert "is in use by a test that holds it" in result.stderr
