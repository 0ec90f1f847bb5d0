"""The simulator's Outbound Contact Servers (docs/simulator.md "Outbound campaigns"): campaign
attempts dial calling-list records, the OCS logs report them in GO blocks
(docs/log-format.md "OCS logs"), the dialed calls are in the T-Server logs, and the ground truth
(truth/chains.jsonl) says exactly what the GO blocks say.

The OCS logs are read back with a small reader written here from docs/log-format.md, and once
with the project's parser.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from simulator import simulate
from tests.test_simulator import content, load_jsonl, segments

CAMPAIGN_EVENTS = {"CampaignLoaded", "CampaignStarted", "CampaignModeChanged", "CampaignStopped",
                   "CampaignUnloading", "CampaignUnloaded", "CampaignForceUnloaded"}
CHAIN_EVENTS = {"ChainScheduled", "ChainProcessing", "ChainProcessed", "ChainUpdated",
                "ChainTerminated"}
CALL_RESULTS = {33, 6, 7, 9, 26, 52}
TERMINATIONS = {"Processed", "Rescheduled", "Callback", "CampaignUnloaded"}
SITE_OF = {"OCS_NORTH": "TS_NORTH", "OCS_SOUTH": "TS_SOUTH"}
GO_HEAD = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (\S+) -> (\S+) "
                     r"\[GOMessageType\] EventGOReportingData$")
ISO_HEAD = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (.*)$")


class GoBlock:
    def __init__(self, utc: datetime, lines: list[str]):
        self.at = utc
        self.attrs: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        for line in lines:
            if line.startswith("\t\t\t"):
                key, value = line[3:].split("\t", 1)
                self.fields[key.strip("'")] = value.strip("'")
            else:
                assert line.startswith("\t\t") and not line.startswith("\t\t\t"), line
                name, value = line[2:].split("\t", 1)
                self.attrs[name] = value

    def get(self, name: str) -> str | None:
        value = self.attrs.get(name)
        return value.strip("'") if value is not None else None


def read_ocs(folder: Path, app: str) -> tuple[list[GoBlock], list[tuple[datetime, str, list[str]]]]:
    """The GO blocks of an OCS log (times in UTC) and its other top-level lines with their
    indented lines."""
    segs = segments(folder, app)
    west = int(segs[0].header["Time zone"].split(",")[0])
    lines = [line for s in segs for line in s.content]
    blocks, other = [], []
    i = 0
    while i < len(lines):
        m = ISO_HEAD.match(lines[i])
        assert m, f"{app} line {i}: not a top-level line: {lines[i]!r}"
        utc = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f") + timedelta(seconds=west)
        j = i + 1
        while j < len(lines) and lines[j].startswith("\t"):
            j += 1
        if GO_HEAD.match(lines[i]):
            assert GO_HEAD.match(lines[i]).group(2) == app
            blocks.append(GoBlock(utc, lines[i + 1:j]))
        else:
            other.append((utc, m.group(2), lines[i + 1:j]))
        i = j
    return blocks, other


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=None)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small_ocs")
    summary = simulate(out)
    return out, summary


@pytest.fixture(scope="module")
def go(small):
    out, _ = small
    return {app: read_ocs(out / "logs", app) for app in SITE_OF}


def test_the_ocs_logs_report_every_event_result_and_termination(small, go):
    out, summary = small
    blocks = [b for app in go for b in go[app][0]]
    assert {b.get("EvtCode") for b in blocks} == CAMPAIGN_EVENTS | CHAIN_EVENTS
    chain = [b for b in blocks if b.get("EvtCode") in CHAIN_EVENTS]
    assert {int(b.get("CallResult")) for b in chain if b.get("EvtCode") == "ChainProcessed"} \
        == CALL_RESULTS
    assert {b.get("Cause") for b in chain if b.get("EvtCode") == "ChainTerminated"} == TERMINATIONS
    for b in chain:          # every chain event names its chain and where it belongs
        assert {"EvtCode", "SwID", "GrpID", "CmpID", "LstID", "ChID", "SessID", "ChainGUID",
                "RecHandle"} <= set(b.attrs), b.attrs
        assert int(b.get("LstID")) > 0 and int(b.get("ChID")) > 0
    for b in blocks:
        if b.get("EvtCode") in CAMPAIGN_EVENTS:
            assert b.get("LstID") == "0" and b.get("ChID") == "0" and "ChainGUID" not in b.attrs
    scheduled = [b for b in chain if b.get("EvtCode") == "ChainScheduled"]
    assert all(set(b.fields) == {"phone", "customer_name", "account_balance", "contact_notes",
                                 "ssn_last4", "internal_score"} for b in scheduled)
    updated = [b for b in chain if b.get("EvtCode") == "ChainUpdated"]
    assert updated and all(b.fields and b.get("CallAttID") for b in updated)
    assert {f for b in updated for f in b.fields} == {"contact_notes", "account_balance",
                                                      "ssn_last4"}
    # the other OCS lines: record retrieval, treatments, predictive pacing, the desktop
    other = [x for app in go for x in go[app][1]]
    heads = Counter(text.split(" received from ")[0] if " received from " in text else text
                    for _, text, _ in other)
    assert heads["DBList.CreateRecord"] == len(scheduled)
    assert heads["RecTreatment - Apply"] >= 1 and heads["PA Session Info:"] >= 1
    desk = [body for _, text, body in other if text.endswith("message EventUserEvent")]
    assert any("\t\t'GSW_AGENT_REQ_TYPE'\t'RecordProcessed'" in body for body in desk)
    assert all(any(x.startswith("\t\t'GSW_RECORD_HANDLE'\t") for x in body) for body in desk)
    results = Counter()
    for ocs in summary["outbound"].values():
        results.update({int(k): v for k, v in ocs["call_results"].items()})
    assert set(results) == CALL_RESULTS and all(results.values())


def test_the_parser_reads_the_ocs_logs(small, tmp_path):
    from transforms.parsing import parse_to_parquet

    out, _ = small
    report = parse_to_parquet([out / "logs"], tmp_path / "parsed", workers=1)
    assert report["quarantined_lines"] == 0
    files = pl.read_parquet(tmp_path / "parsed" / "files.parquet")
    ocs = files.filter(pl.col("app").is_in(list(SITE_OF)))
    assert ocs.height == 2 and ocs["app_type"].to_list() == ["OCServer"] * 2
    assert ocs["problems"].null_count() == 2 and ocs["n_quarantined"].sum() == 0
    events = pl.read_parquet(tmp_path / "parsed" / "events").join(
        files.select("file_id", "app"), on="file_id")
    go_events = events.filter(pl.col("message") == "EventGOReportingData")
    assert go_events.height == sum(len(blocks) for blocks, _ in _reread(out).values())
    assert go_events["direction"].unique().to_list() == ["go"]
    assert go_events["go_evt_code"].null_count() == 0
    chain = go_events.filter(pl.col("go_evt_code").str.starts_with("Chain"))
    assert chain["go_chain_guid"].null_count() == 0 and chain["go_record_handle"].null_count() == 0
    assert set(chain.filter(pl.col("go_evt_code") == "ChainProcessed")["go_call_result"]) \
        == CALL_RESULTS
    desk = events.filter(pl.col("app").is_in(list(SITE_OF))
                         & (pl.col("message") == "EventUserEvent"))
    assert desk.height > 0 and desk["direction"].unique().to_list() == ["client"]


def _reread(out: Path) -> dict:
    return {app: read_ocs(out / "logs", app) for app in SITE_OF}


def test_every_dialed_call_is_a_call_of_the_truth_and_the_tserver_log(small, go):
    out, _ = small
    calls = {c["call_uuid"]: c for c in load_jsonl(out / "truth" / "calls.jsonl")}
    for app, (blocks, _) in go.items():
        text = content(out / "logs", SITE_OF[app])
        named = {(b.get("CallGUID"), b.get("CallAttID")) for b in blocks if b.get("CallGUID")}
        assert named
        for uuid, attempt in named:
            c = calls[uuid]
            assert c["scenario"] == "campaign" and c["call_type"] == "Outbound"
            assert c["switch"] == SITE_OF[app].replace("TS_", "SW_")
            assert f"AttributeCallUUID\t'{uuid}'" in text
            assert c["final_user_data"]["GSW_CALL_ATTEMPT_GUID"] == attempt
            assert c["final_user_data"]["GSW_PHONE"] == c["dialed_number"]
    dialed = {c["call_uuid"] for c in calls.values() if c["scenario"] == "campaign"}
    assert dialed == {b.get("CallGUID") for app in go for b in go[app][0] if b.get("CallGUID")}
    outcomes = Counter(c["outcome"] for c in calls.values() if c["scenario"] == "campaign")
    assert {"answered", "busy", "no_answer", "answering_machine", "dropped"} <= set(outcomes)


def test_chains_truth_says_what_the_go_blocks_say(small, go):
    out, _ = small
    chains = load_jsonl(out / "truth" / "chains.jsonl")
    campaigns = {a["session"]: a for a in load_jsonl(out / "truth" / "campaigns.jsonl")}
    config = json.loads((out / "config.json").read_text())
    lists = {cl["dbid"]: cl for cl in config["calling_lists"]}
    by_guid: dict[str, list[GoBlock]] = {}
    for app, (blocks, _) in go.items():
        for b in blocks:
            if b.get("ChainGUID"):
                by_guid.setdefault(b.get("ChainGUID"), []).append(b)
    assert sorted(by_guid) == sorted(c["chain_guid"] for c in chains)
    for c in chains:
        blocks = by_guid[c["chain_guid"]]
        first = blocks[0]
        assert (c["session"], c["chain_id"], c["record_handle"], c["list_dbid"], c["group_dbid"],
                c["campaign_dbid"]) == (first.get("SessID"), int(first.get("ChID")),
                                        int(first.get("RecHandle")), int(first.get("LstID")),
                                        int(first.get("GrpID")), int(first.get("CmpID")))
        for key in ("SessID", "ChID", "RecHandle", "LstID", "GrpID", "CmpID", "SwID"):
            assert {blk.attrs[key] for blk in blocks} == {first.attrs[key]}
        assert lists[c["list_dbid"]]["campaign_dbid"] == c["campaign_dbid"]
        assert campaigns[c["session"]]["group_dbid"] == c["group_dbid"]
        steps = [(utc(s["at"]), s["code"], s["call_attempt"], s["call_result"], s["call_uuid"],
                  s["cause"]) for s in c["steps"]]
        logged = [(b.at, b.get("EvtCode"), b.get("CallAttID"),
                   int(b.get("CallResult")) if b.get("CallResult") else None, b.get("CallGUID"),
                   b.get("Cause")) for b in blocks]
        assert steps == logged
        assert [s[0] for s in steps] == sorted(s[0] for s in steps)
        assert len({s[0] for s in steps}) == len(steps)     # strictly ordered
        assert steps[0][1] == "ChainScheduled" and utc(c["created"]) == steps[0][0]
        assert c["fields_loaded"] == first.fields
        ended = [s for s in steps if s[1] == "ChainTerminated"]
        assert (utc(c["terminated"]), len(ended)) == ((ended[0][0], 1) if ended else (None, 0))
        assert not ended or steps[-1] is ended[0]
        for s in steps:     # ChainProcessed follows the ChainProcessing of its call attempt
            if s[1] == "ChainProcessed":
                assert any(p[1] == "ChainProcessing" and p[2] == s[2] and p[0] < s[0]
                           for p in steps)
        updates = [(utc(f["at"]), f["call_attempt"], f["field"], f["new"])
                   for f in c["field_changes"]]
        assert updates == [(b.at, b.get("CallAttID"), name, value)
                           for b in blocks if b.get("EvtCode") == "ChainUpdated"
                           for name, value in b.fields.items()]
        states = [s["state"] for s in c["steps"]]
        assert states[0] == "scheduled" and set(states) <= {"scheduled", "processing",
                                                            "processed", "terminated"}
        named = [(x["call_uuid"], x["call_attempt"], utc(x["at"])) for x in c["calls"]]
        firsts: dict[str, tuple] = {}
        for s in steps:
            if s[4] and s[4] not in firsts:
                firsts[s[4]] = (s[4], s[2], s[0])
        assert named == list(firsts.values())


def test_records_come_back_as_new_chains_and_unloads_end_open_chains(small):
    out, _ = small
    chains = load_jsonl(out / "truth" / "chains.jsonl")
    campaigns = {a["session"]: a for a in load_jsonl(out / "truth" / "campaigns.jsonl")}
    by_record: dict[tuple, list[dict]] = {}
    for c in chains:
        by_record.setdefault((c["session"], c["record_handle"]), []).append(c)
    again = [v for v in by_record.values() if len(v) > 1]
    assert again
    for v in again:
        assert len({c["chain_guid"] for c in v}) == len(v) and len({c["chain_id"] for c in v}) == 1
        for before, after in zip(v, v[1:]):
            assert before["steps"][-1]["cause"] in ("Rescheduled", "Callback")
            assert before["terminated"] < after["created"]
    assert any(c["steps"][-1]["cause"] == "Callback" and len(by_record[(c["session"],
               c["record_handle"])]) > 1 for c in chains)
    unloaded = [c for c in chains if c["steps"][-1]["cause"] == "CampaignUnloaded"]
    assert unloaded
    for c in unloaded:
        ends = [s for s in campaigns[c["session"]]["steps"]
                if s["code"] in ("CampaignUnloading", "CampaignUnloaded", "CampaignForceUnloaded")]
        assert c["terminated"] < ends[0]["at"]
    # no chain of an attempt outlives it, and none starts before it is started
    for c in chains:
        steps = campaigns[c["session"]]["steps"]
        started = [s["at"] for s in steps if s["code"] == "CampaignStarted"][0]
        assert started < c["created"]
        done = [s["at"] for s in steps if s["state"] == "terminated"]
        if done:
            assert c["terminated"] is not None and c["terminated"] < done[0]


def test_config_snapshot_has_calling_lists_and_fields(small):
    out, _ = small
    cfg = json.loads((out / "config.json").read_text())
    fields = {f["dbid"]: f for f in cfg["fields"]}
    assert {f["name"]: f["icon_attribute"] for f in cfg["fields"]} == {
        "phone": 1, "customer_name": 1, "account_balance": 1, "contact_notes": 1,
        "ssn_last4": 2, "internal_score": 0}
    campaigns = {c["dbid"] for c in cfg["campaigns"]}
    assert len(cfg["calling_lists"]) == len(cfg["campaigns"]) == 3
    for cl in cfg["calling_lists"]:
        assert cl["campaign_dbid"] in campaigns and set(cl["field_dbids"]) == set(fields)
    assert {cl["campaign_dbid"] for cl in cfg["calling_lists"]} == campaigns
    dbids = [x["dbid"] for section in ("dns", "persons", "agent_logins", "places", "agent_groups",
                                       "dn_groups", "ocs_servers", "campaigns", "campaign_groups",
                                       "calling_lists", "fields") for x in cfg[section]]
    assert len(dbids) == len(set(dbids))


def test_without_outbound_campaigns_there_is_no_ocs(tmp_path):
    summary = simulate(tmp_path, profile={"outbound_campaigns": False}, hours=1)
    assert not list((tmp_path / "logs").glob("OCS_*.log"))
    assert (tmp_path / "truth" / "chains.jsonl").read_text() == ""
    assert (tmp_path / "truth" / "campaigns.jsonl").read_text() == ""
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["ocs_servers"] == cfg["calling_lists"] == cfg["fields"] == []
    assert summary["outbound"] == {} and summary["scenarios"]["campaign"] == 0
    calls = load_jsonl(tmp_path / "truth" / "calls.jsonl")
    assert not any("GSW_CALL_ATTEMPT_GUID" in c["final_user_data"] for c in calls)
    assert "OCS_NORTH" not in content(tmp_path / "logs", "TS_NORTH")
