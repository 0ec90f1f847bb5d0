"""Where the hourly partitions start (assets/partitions.py): at the first hour of the registered
logs, so no hour of logs is ever outside them, however old; a given ICON_PARTITIONS_START that
leaves hours out says so."""

from __future__ import annotations

import json

import pytest

from simulator import simulate
from tests import badinput as bi

START = "2023-06-01T10:00:00Z"     # before the partitions' fallback start (2024-01-01)


@pytest.fixture(scope="module")
def old_logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("old_logs")
    simulate(root, profile="small", start=START, hours=2, seed=3)
    return root


def _load(sim, home, **env) -> tuple[bi.CliResult, dict]:
    result = bi.run_cli(["load", "--logs", sim / "logs", "--config", sim / "config.json",
                         "--idb", f"sqlite:///{home / 'idb.sqlite'}", "--no-checks"], home, **env)
    assert result.stdout.strip(), result.stderr[-3000:]
    return result, json.loads(result.stdout.strip().splitlines()[-1])


def test_logs_older_than_any_default_start_are_all_loaded(old_logs, tmp_path):
    result, summary = _load(old_logs, tmp_path / "home")
    assert result.rc == 0, result.stderr[-3000:]
    assert summary["first_hour"] == "2023-06-01-10:00"
    assert summary["partitions"] >= 2
    assert "hours_before_partitions" not in summary


def test_a_start_after_the_first_logs_says_which_hours_it_leaves_out(old_logs, tmp_path):
    result, summary = _load(old_logs, tmp_path / "home",
                            ICON_PARTITIONS_START="2023-06-01-11:00")
    assert summary["first_hour"] == "2023-06-01-11:00"
    assert summary["hours_before_partitions"] == 1
    assert "1 hours of logs are before the partitions' first hour" in result.stderr
    # calls and sessions open at 11:00 began in the hour left out: the hour says so, by name
    assert result.rc == 1 and "ha/reconciled_events for 2023-06-01-10:00" in result.stderr
