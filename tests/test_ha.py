"""HA: two replicas of a simulated contact center with faults injected into each (gaps, a link
disconnect, a restart, clock skew) reconcile into the IDB a single complete replica gives; a
window both replicas miss is reported, not invented; replicas that disagree fail their check
(an error in the UI) and stop no hour."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.idb import ROLE_TABLES
from dagster_project import runner
from simulator import simulate
from tests.graph import graph
from transforms.idb import IdbStore, table
from transforms.idb.dictionary import DsConnType

TABLES = [name for names in ROLE_TABLES.values() for name in names]
# columns that name the replica a row came from (its log lines and data source session)
PROVENANCE = ["GSYS_DOMAIN", "ETL_SOURCE", "ETL_SOURCE_LAST", "ETL_PARTITION", "ETL_HASH"]
SIM = dict(profile="small", start="2026-03-09T22:00:00Z", hours=3, seed=5)


def pipeline(logs: Path, config: Path, work: Path, replicas: list[str]) -> tuple[dict, str]:
    url = f"sqlite:///{work / 'idb.sqlite'}"
    defs = graph(logs, config, work, replicas=replicas, idb_url=url)
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, progress=lambda _: None)
    return summary, url


def read(url: str, names=TABLES) -> dict[str, pl.DataFrame]:
    store = IdbStore(url)
    return {name: store.read(name) for name in names}


def values(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop(PROVENANCE, strict=False).sort(table(name).columns[0].name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same contact center, one replica, no faults."""
    root = tmp_path_factory.mktemp("one")
    simulate(root / "sim", **SIM)
    summary, url = pipeline(root / "sim" / "logs", root / "sim" / "config.json", root, ["a"])
    assert summary["failed_runs"] == 0
    return read(url)


def two_replicas(root: Path, faults: str) -> tuple[dict, str, Path]:
    simulate(root / "sim", replicas=2, faults=faults, **SIM)
    summary, url = pipeline(root / "sim" / "logs", root / "sim" / "config.json", root, ["a", "b"])
    return summary, url, root / "sim"


def test_faults_on_each_side_reconcile_to_the_complete_replica(reference, tmp_path):
    summary, url, _ = two_replicas(tmp_path, "default")
    assert summary["failed_runs"] == 0
    got = read(url)
    for name in TABLES:
        assert values(name, got[name]).equals(values(name, reference[name])), name

    # the sessions show each injected fault as a break of the right kind
    dss = IdbStore(url).read("G_DSS_GCC_PROVIDER")
    kinds = {(r, t) for r, t in dss.select("ETL_REPLICA", "DSCONN_TYPE").iter_rows()}
    assert ("a", DsConnType.SERVER_RESTART) in kinds and ("a", DsConnType.RECONNECT) in kinds
    assert ("b", DsConnType.SWITCH_RECONNECT) in kinds
    # the ledger: partial hours of each replica, the entities only one side saw came from it
    ledgers = read(url, ["ETL_COVERAGE", "ETL_RECONCILE"])
    partial = ledgers["ETL_COVERAGE"].filter(pl.col("STATUS") == "partial")
    assert set(partial.select("REPLICA", "SWITCH").iter_rows()) == {("a", "SW_NORTH"),
                                                                     ("b", "SW_NORTH")}
    skew = ledgers["ETL_COVERAGE"].filter((pl.col("REPLICA") == "b") & (pl.col("SWITCH") == "SW_SOUTH"))
    assert set(skew["SKEW_MS"]) == {2000}
    rec = ledgers["ETL_RECONCILE"]
    filled = rec.filter(pl.col("FILLED_WINDOWS") > 0)
    # b filled a's gap and a's restart on north (a, the first replica, covered b's link disconnect)
    assert set(filled.select("REPLICA", "SWITCH").unique().iter_rows()) == {("b", "SW_NORTH")}
    assert rec.filter(pl.col("UNCOVERED") != "").height == 0


def test_a_window_both_replicas_miss_is_reported_not_invented(reference, tmp_path):
    summary, url, sim = two_replicas(tmp_path, "both_gap")
    assert summary["failed_runs"] == 0
    got = read(url)
    ledgers = read(url, ["ETL_COVERAGE", "ETL_RECONCILE"])
    holes = ledgers["ETL_RECONCILE"].filter(pl.col("UNCOVERED") != "")
    assert set(holes["SWITCH"]) == {"SW_NORTH"} and holes["HOUR"].n_unique() == 1
    # the reported window is the injected one (22:40-22:45), as closely as the logs' lines allow
    fault = json.loads((sim / "truth" / "faults.json").read_text())["faults"][0]
    start, end = (datetime.fromisoformat(fault[k]) for k in ("start", "end"))
    gap_from, gap_to = holes["UNCOVERED"][0].split("-")
    day = start.date().isoformat()
    seen_from = datetime.fromisoformat(f"{day}T{gap_from}+00:00")
    seen_to = datetime.fromisoformat(f"{day}T{gap_to}+00:00")
    assert start - timedelta(minutes=1) <= seen_from <= start
    assert end <= seen_to <= end + timedelta(minutes=1)
    both = ledgers["ETL_COVERAGE"].filter(pl.col("STATUS") == "partial")
    assert set(both["REPLICA"]) == {"a", "b"}
    # nothing invented: no call the complete replica lacks, each call once
    assert set(got["G_CALL"]["CALLID"]) <= set(reference["G_CALL"]["CALLID"])
    assert got["G_CALL"]["CALLID"].n_unique() == got["G_CALL"].height
    # what the gap took is visible: fewer party changes than the complete replica recorded
    assert got["G_PARTY_HISTORY"].height < reference["G_PARTY_HISTORY"].height


def test_replicas_that_disagree_fail_their_check_and_stop_no_hour(tmp_path, reference):
    simulate(tmp_path / "sim", replicas=2, **SIM)
    # replica b says another DN answered the first routed call
    logs = tmp_path / "sim" / "logs"
    first = sorted((logs / "b").glob("TS_NORTH.*.log"))[0]
    text = first.read_text(encoding="latin-1")
    marker = "message EventRinging\n"
    at = text.index(marker)
    dn_at = text.index("AttributeThisDN\t'", at) + len("AttributeThisDN\t'")
    dn_end = text.index("'", dn_at)
    first.write_text(text[:dn_at] + "7999" + text[dn_end:], encoding="latin-1")
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    defs = graph(logs, tmp_path / "sim" / "config.json", tmp_path, replicas=["a", "b"],
                 idb_url=url)
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, progress=lambda _: None)
        checks = [rec.dagster_event.event_specific_data for run in instance.get_runs()
                  for rec in instance.all_logs(run.run_id)
                  if rec.dagster_event and rec.dagster_event.event_type_value ==
                  "ASSET_CHECK_EVALUATION"]
    # the disagreement is an error of the check, not of the run: every hour is loaded, from
    # the first replica (which has the DN the complete logs have)
    assert summary["failed_runs"] == 0
    [agree] = [c for c in checks if c.check_name == "replicas_agree"]
    assert not agree.passed and agree.severity == dg.AssetCheckSeverity.ERROR
    assert agree.metadata["inconsistent_calls"].value == 1
    got = read(url)
    for name in TABLES:
        assert values(name, got[name]).equals(values(name, reference[name])), name
