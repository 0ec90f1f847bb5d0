"""`[filter-data]` and `store-releasing-party` (docs/semantics.md §15): for each option, the rows
present and absent on a hand-written call (a customer queued at an ACD queue, answered by an
agent, watched by a supervisor whose DN has the role Observer) and a hand-written login on a
queue, with the numbering ICON gives the rows that stay; then the whole graph with a filtering
options file: the IDB lacks the rows, and every blocking check still passes."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from assets.checks import build_quality_checks
from dagster_project import runner
from tests.graph import HOURLY, graph
from tests.test_gcc_options import Log as CallLog
from tests.test_gcc_options import build_all, conn, uuid, write_inputs
from tests.test_gls import Log as AgentLog
from tests.test_gls import run as run_gls
from tests.test_quality import evaluations
from transforms.config import GccOptions, IconOptions, load_options
from transforms.idb import IdbStore
from transforms.idb.dictionary import ParentLinkType
from transforms.idb.dictionary import TCallState as TCS
from transforms.roles import DataFilters

CUST = "+15550001000"
F1 = uuid("FILT0001")
# the parties of F1 in the order gcc numbers them
P_CUST, P_QUEUE, P_AGENT, P_OBSERVER = (f"{F1}.{n}" for n in range(1, 5))


def f1_log() -> CallLog:
    lg, c = CallLog(), conn(1)
    lg.created(0, F1, c, CUST)
    lg.call(1, "EventQueued", F1, c, "8101", queue="8101", other=CUST, other_role=1)
    lg.call(5, "EventDiverted", F1, c, "8101", queue="8101", other=CUST, other_role=1,
            third="7001", third_role=2)
    lg.call(5.1, "EventRinging", F1, c, "7001", queue="8101", other=CUST, other_role=1,
            state=TCS.OK)
    lg.call(8, "EventEstablished", F1, c, "7001", queue="8101", other=CUST, other_role=1,
            state=TCS.OK)
    # the supervisor on 7003 listens in: ThisDNRole 10 (Observer)
    lg.call(10, "EventEstablished", F1, c, "7003", role=10, other="7001", other_role=2,
            state=TCS.OK)
    lg.call(30, "EventReleased", F1, c, "7003", role=10, other="7001", other_role=2,
            state=TCS.OK)
    lg.call(31, "EventReleased", F1, c, "7001", queue="8101", other=CUST, other_role=1,
            state=TCS.OK)
    lg.deleted(31.1, F1, c, "7001")
    return lg


@pytest.fixture(scope="module")
def f1(tmp_path_factory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("f1")
    return build_all(root, f1_log(), [GccOptions()])[0]


def filters(**on: int) -> DataFilters:
    values: dict = {}
    for name, value in on.items():
        option = name.replace("_", "-")
        section = "callconcentrator" if option == "store-releasing-party" else "filter-data"
        values.setdefault(section, {})[option] = value
    return DataFilters.from_options(IconOptions(values))


def written(tables: dict[str, pl.DataFrame], f: DataFilters) -> dict[str, pl.DataFrame]:
    return f.before_writing("gcc", f.before_staging("gcc", tables))


def party_ids(frame: pl.DataFrame) -> list[str]:
    return sorted(set(frame["PARTYID"]))


def cseqs(frame: pl.DataFrame) -> list[tuple[str, int, int]]:
    return sorted(frame.select("PARTYID", "PSEQ", "CSEQ").rows(), key=lambda r: r[2])


# the unfiltered rows of F1, written out (CSEQ numbers the call's party changes in order)
ALL_HISTORY = [(P_CUST, 1, 2), (P_QUEUE, 1, 3), (P_QUEUE, 2, 4), (P_AGENT, 1, 5), (P_AGENT, 2, 6),
               (P_OBSERVER, 1, 7), (P_OBSERVER, 2, 8), (P_AGENT, 3, 9), (P_CUST, 2, 10)]
ALL_PARTIES = [P_CUST, P_QUEUE, P_AGENT, P_OBSERVER]


def test_the_call_has_every_kind_of_party_the_filters_name(f1):
    assert f1["G_PARTY"].sort("PARTYID").select("PARTYID", "TYPE", "PROLE", "ENDPOINTTYPE").rows() \
        == [(P_CUST, 2, 1, None), (P_QUEUE, 1, 2, 3), (P_AGENT, 1, 2, 1), (P_OBSERVER, 1, 10, 1)]
    assert cseqs(f1["G_PARTY_HISTORY"]) == ALL_HISTORY
    assert party_ids(f1["G_PARTY_STAT"]) == ALL_PARTIES
    unfiltered = written(f1, DataFilters())
    assert all(unfiltered[n].equals(f1[n]) for n in f1)


@pytest.mark.parametrize("option, parties, history, stats, call_stats", [
    ("call_metrics", ALL_PARTIES, ALL_HISTORY, ALL_PARTIES, 0),
    ("acd_party_metrics", ALL_PARTIES, ALL_HISTORY, [P_CUST, P_AGENT, P_OBSERVER], 1),
    ("acd_party_history", ALL_PARTIES, [h for h in ALL_HISTORY if h[0] != P_QUEUE],
     ALL_PARTIES, 1),
    ("external_party", ALL_PARTIES, ALL_HISTORY, [P_QUEUE, P_AGENT, P_OBSERVER], 1),
    ("observer_party", [P_CUST, P_QUEUE, P_AGENT], [h for h in ALL_HISTORY if h[0] != P_OBSERVER],
     [P_CUST, P_QUEUE, P_AGENT], 1),
])
def test_each_filter_drops_its_rows_and_the_rest_keep_their_numbers(f1, option, parties, history,
                                                                    stats, call_stats):
    out = written(f1, filters(**{option: 1}))
    assert party_ids(out["G_PARTY"]) == parties
    assert cseqs(out["G_PARTY_HISTORY"]) == history
    assert party_ids(out["G_PARTY_STAT"]) == stats
    assert out["G_CALL_STAT"].height == call_stats
    # the tables a filter does not name are the same rows
    for name in set(f1) - {"G_PARTY", "G_PARTY_HISTORY", "G_PARTY_STAT", "G_CALL_STAT"}:
        assert out[name].equals(f1[name]), name


def test_observers_go_before_the_hour_is_kept_and_the_others_when_it_is_written(f1):
    f = filters(observer_party=1, acd_party_history=1)
    staged = f.before_staging("gcc", f1)
    # what gud and gls read of gcc has no observer, but still the ACD queue's history
    assert P_OBSERVER not in party_ids(staged["G_PARTY"])
    assert P_QUEUE in party_ids(staged["G_PARTY_HISTORY"])
    assert P_QUEUE not in party_ids(f.before_writing("gcc", staged)["G_PARTY_HISTORY"])


def test_a_party_whose_parent_is_filtered_out_has_no_parent(f1):
    # make the observer the agent's parent (as if it had distributed the call) to see it cut
    tables = {**f1, "G_PARTY": f1["G_PARTY"].with_columns(
        PARENTPARTYID=pl.when(pl.col("PARTYID") == P_AGENT).then(pl.lit(P_OBSERVER))
        .otherwise(pl.col("PARENTPARTYID")))}
    out = filters(observer_party=1).before_staging("gcc", tables)["G_PARTY"]
    agent = out.filter(pl.col("PARTYID") == P_AGENT).row(0, named=True)
    assert agent["PARENTPARTYID"] is None and agent["PARENTLINKTYPE"] == ParentLinkType.NONE
    # an untouched parent stays
    kept = filters(observer_party=1).before_staging("gcc", f1)["G_PARTY"]
    assert kept.filter(pl.col("PARTYID") == P_AGENT)["PARENTPARTYID"].to_list() == [P_QUEUE]


def test_store_releasing_party_0_leaves_who_released_out(f1):
    assert f1["G_CALL_STAT"].select("GSYS_EXT_VCH1", "GSYS_EXT_VCH2").row(0) == ("7001", P_AGENT)
    out = written(f1, filters(store_releasing_party=0))
    assert out["G_CALL_STAT"].select("GSYS_EXT_VCH1", "GSYS_EXT_VCH2").row(0) == (None, None)
    assert out["G_PARTY_STAT"]["GSYS_EXT_INT1"].null_count() == out["G_PARTY_STAT"].height
    assert out["G_CALL_STAT"].drop("GSYS_EXT_VCH1", "GSYS_EXT_VCH2").equals(
        f1["G_CALL_STAT"].drop("GSYS_EXT_VCH1", "GSYS_EXT_VCH2"))


@pytest.mark.parametrize("option", ["call_metrics", "acd_party_history", "acd_party_metrics",
                                    "external_party", "observer_party"])
def test_who_released_prerequisites_are_warned_about(option):
    (warning,) = filters(**{option: 1}).warnings()
    assert option.replace("_", "-") + " = 1" in warning and "store-releasing-party" in warning
    assert filters(**{option: 1}, store_releasing_party=0).warnings() == []
    assert filters(gls_queue=1).warnings() == [] and DataFilters().warnings() == []


def test_gls_queue_takes_the_queue_out_of_the_agent_tables(tmp_path):
    log = (AgentLog()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:02.000", "EventAgentReady", "7001", wm=1)
           .agent("07:01:00.000", "EventAgentNotReady", "7001", wm=4, reasons={"Reason": "Break"})
           .agent("07:02:00.000", "EventAgentReady", "7001", wm=1)
           .agent("07:10:00.000", "EventAgentLogout", "7001", wm=0))
    result, _ = run_gls(tmp_path, log)
    tables = result.tables
    assert tables["GX_SESSION_ENDPOINT"].select("QUEUEID", "QUEUETYPE", "ETL_QUEUE").rows() == [
        (1201, 3, "8101")]
    assert set(tables["G_AGENT_STATE_HISTORY"]["QUEUEID"]) == {1201}
    assert tables["G_AGENT_STATE_RC"]["QUEUEID"].to_list() == [1201]

    out = filters(gls_queue=1).before_writing("gls", tables)
    assert out["GX_SESSION_ENDPOINT"].select("QUEUEID", "QUEUETYPE", "ETL_QUEUE").rows() == [
        (None, None, None)]
    assert out["G_AGENT_STATE_HISTORY"]["QUEUEID"].null_count() == \
        tables["G_AGENT_STATE_HISTORY"].height
    assert out["G_AGENT_STATE_RC"]["QUEUEID"].to_list() == [0]       # 0: no queue [DOC]
    # the rest of each row, and every other table, unchanged
    for name, frame in tables.items():
        dropped = [c for c in ("QUEUEID", "QUEUETYPE", "ETL_QUEUE") if c in frame.columns]
        assert out[name].drop(dropped).equals(frame.drop(dropped)), name


def test_gls_queue_leaves_one_association_per_dn_and_period(tmp_path):
    # two queues logged in to 4 s apart, one left early; later a second period on the DN
    log = (AgentLog()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:05.000", "EventAgentLogin", "7001", wm=0, queue="8102")
           .agent("07:05:00.000", "EventAgentLogout", "7001", wm=0, queue="8102")
           .agent("07:10:00.000", "EventAgentLogout", "7001", wm=0)
           .agent("07:20:00.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:30:00.000", "EventAgentLogout", "7001", wm=0))
    result, _ = run_gls(tmp_path, log)
    endpoints = result.tables["GX_SESSION_ENDPOINT"]
    periods = sorted(endpoints.select("ETL_QUEUE", "CREATED", "TERMINATED").rows(),
                     key=lambda r: r[1])
    assert [p[0] for p in periods] == ["8101", "8102", "8101"]
    out = filters(gls_queue=1).before_writing("gls", result.tables)["GX_SESSION_ENDPOINT"]
    # the overlapping queue associations are one, from the first login to the last logout
    assert sorted(out.select("ETL_DN", "ETL_QUEUE", "QUEUEID", "CREATED", "TERMINATED").rows(),
                  key=lambda r: r[3]) == [
        ("7001", None, None, periods[0][1], max(periods[0][2], periods[1][2])),
        ("7001", None, None, periods[2][1], periods[2][2])]


def test_filter_data_options_are_validated(tmp_path):
    path = tmp_path / "o.toml"
    path.write_text("[filter-data]\nobserver-party = 2\n")
    with pytest.raises(ValueError, match=r"\[filter-data\] observer-party = 2: allowed values"):
        load_options(path)
    path.write_text("[filter-data]\ncall-filter-inbound = 1\n")
    with pytest.raises(ValueError, match="unknown option 'call-filter-inbound'"):
        load_options(path)
    path.write_text("[filter-data]\nobserver-party = 1\ngls-queue = 1\n")
    assert DataFilters.from_options(load_options(path)) == DataFilters(observer_party=True,
                                                                       gls_queue=True)


@pytest.mark.parametrize("options, parties, history, stats, call_stats", [
    ("observer-party = 1\nacd-party-history = 1\ncall-metrics = 1\n",
     [P_CUST, P_QUEUE, P_AGENT], [h for h in ALL_HISTORY if h[0] not in (P_QUEUE, P_OBSERVER)],
     [P_CUST, P_QUEUE, P_AGENT], 0),
    ("external-party = 1\nacd-party-metrics = 1\n",
     ALL_PARTIES, ALL_HISTORY, [P_AGENT, P_OBSERVER], 1),
])
def test_the_idb_of_a_filtering_run_lacks_the_rows_and_passes_its_checks(
        tmp_path, options, parties, history, stats, call_stats):
    write_inputs(tmp_path, f1_log())
    (tmp_path / "icon-options.toml").write_text("[filter-data]\n" + options)
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    defs = graph(tmp_path / "logs", tmp_path / "config.json", tmp_path / "work",
                 options=tmp_path / "icon-options.toml", idb_url=url,
                 asset_checks=build_quality_checks(["a"], HOURLY))
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, progress=lambda _: None)
        evals = evaluations(instance)
    assert summary["failed_runs"] == 0, summary
    store = IdbStore(url)
    assert party_ids(store.read("G_PARTY")) == parties
    assert cseqs(store.read("G_PARTY_HISTORY")) == history
    assert party_ids(store.read("G_PARTY_STAT")) == stats
    assert store.count("G_CALL_STAT") == call_stats and store.count("G_CALL") == 1
    # every check of the written tables ran and passed (keys, foreign keys, values)
    checked = {(e.asset_key.to_user_string(), e.check_name) for e in evals}
    assert {("idb/G_PARTY_HISTORY", "foreign_keys"), ("idb/G_PARTY", "keys")} <= checked
    assert [(e.asset_key.to_user_string(), e.check_name) for e in evals if not e.passed] == []
