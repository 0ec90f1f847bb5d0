"""Outbound campaign processing attempts from an OCS log (GO reporting blocks), each scenario
with its expected rows written out (docs/semantics.md §14)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from tests.test_gls import rows, with_sources
from transforms.config import ConfigSnapshot
from transforms.idb.dictionary import (
    CallResult,
    CampaignCause,
    CampaignState,
    ChainState,
    DialMode,
    OptimMode,
)
from transforms.parsing import parse_to_parquet
from transforms.roles import GOS_TABLES, build_campaigns, build_gos

OCS = "OCS_TEST"
LOADED, STARTED, UNLOADING = CampaignState.LOADED, CampaignState.STARTED, CampaignState.UNLOADING
TERMINATED = CampaignState.TERMINATED
SESS = "5f0c1b2a-0000-4000-8000-00000000a001"
SESS2 = "5f0c1b2a-0000-4000-8000-00000000a002"


def ocs_header() -> str:
    return (f"Application name:   {OCS}\n"
            "Application type:   OCServer (31)\n"
            "Host name:          test-host\n"
            "Time zone:          0, UTC, UTC\n"
            "UTC time:           2026-03-10T09:00:00.000\n"
            "Local time:         2026-03-10T09:00:00.000\n"
            f"File:               (1) /var/log/{OCS}.20260310_090000_000.log\n\n")


def go(time: str, code: str, group: int = 6001, campaign: int = 9001,
       **attrs: str | int) -> str:
    """One `[GOMessageType] EventGOReportingData` block (its attributes two TABs deep)."""
    lines = [f"2026-03-10T{time} {OCS} -> ICON_TEST [GOMessageType] EventGOReportingData",
             f"\t\tEvtCode\t{code}", f"\t\tGrpID\t{group}", f"\t\tCmpID\t{campaign}"]
    lines += [f"\t\t{name}\t{value}" for name, value in attrs.items()]
    return "\n".join(lines) + "\n"


def std(time: str, text: str) -> str:
    return f"2026-03-10T{time} Trc {text}\n"


def parsed(tmp_path: Path, body: str):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{OCS}.20260310_090000_000.log").write_text(ocs_header() + body)
    parse_to_parquet([logs], tmp_path / "parsed", workers=1)
    return with_sources(tmp_path / "parsed")


def build(tmp_path: Path, body: str):
    return build_campaigns(parsed(tmp_path, body)[0], "p")


def utc(hms: str) -> datetime:
    return datetime.fromisoformat(f"2026-03-10T{hms}")


def test_a_campaign_from_load_to_unload_with_a_mode_change(tmp_path):
    result = build(tmp_path, (
        std("09:00:01.000", "52000 Campaign Group Spring@Sales has been loaded")
        + go("09:00:01.010", "CampaignLoaded", SessID=f"'{SESS}'", DialMode="Progressive",
             Cause="ManagerRequest")
        + go("09:00:05.000", "CampaignStarted", SessID=f"'{SESS}'", Cause="ManagerRequest")
        + go("09:10:00.000", "CampaignModeChanged", SessID=f"'{SESS}'", DialMode="Predictive",
             OptimMode="OverdialRate", OptimValue=3, Cause="ManagerRequest")
        + go("09:20:00.000", "CampaignStopped", SessID=f"'{SESS}'", Cause="Schedule")
        + go("09:20:01.000", "CampaignUnloading", SessID=f"'{SESS}'", Cause="Schedule")
        + go("09:20:02.500", "CampaignUnloaded", SessID=f"'{SESS}'", Cause="Schedule")))
    t = result.tables
    assert rows(t["GO_CAMPAIGN"], "SESSID", "CAMPAIGNID", "GROUPID", "STATE", "DIALMODE",
                "OPTIMMODE", "OPTIMVALUE", "CREATED", "TERMINATED", "LASTCHANGE") == [
        (SESS, 9001, 6001, None, DialMode.PREDICTIVE, OptimMode.OVERDIAL_RATE, 3,
         utc("09:00:01.010"), utc("09:20:02.500"), utc("09:20:02.500"))]
    assert rows(t["GO_CAMPAIGNHISTORY"], "SEQ", "STATE", "PREVSTATE", "CAUSE", "PREVSENTER",
                "ADDED") == [
        (1, LOADED, None, CampaignCause.MANAGER_REQUEST, None, utc("09:00:01.010")),
        (2, STARTED, LOADED, CampaignCause.MANAGER_REQUEST, utc("09:00:01.010"),
         utc("09:00:05")),
        (3, STARTED, STARTED, CampaignCause.MANAGER_REQUEST, utc("09:00:05"), utc("09:10:00")),
        (4, LOADED, STARTED, CampaignCause.SCHEDULE, utc("09:10:00"), utc("09:20:00")),
        (5, UNLOADING, LOADED, CampaignCause.SCHEDULE, utc("09:20:00"), utc("09:20:01")),
        (6, TERMINATED, UNLOADING, CampaignCause.SCHEDULE, utc("09:20:01"),
         utc("09:20:02.500"))]
    assert rows(t["GO_CAMPPROP_HIST"], "SEQ", "DIALMODE", "PREVDIALMODE", "PREVDMENTER",
                "OPTIMMODE", "OPTIMVALUE", "PREVOPTIMMODE", "ADDED") == [
        (1, DialMode.PROGRESSIVE, None, None, None, None, None, utc("09:00:01.010")),
        (3, DialMode.PREDICTIVE, DialMode.PROGRESSIVE, utc("09:00:01.010"),
         OptimMode.OVERDIAL_RATE, 3, None, utc("09:10:00"))]
    assert result.status.select("entity", "open").rows() == [(SESS, False)]
    # every row names the log line it came from; every line of the OCS log is accounted for
    assert t["GO_CAMPAIGN"]["ETL_SOURCE"].to_list() == [f"a/{OCS}.20260310_090000_000.log:10"]
    files = pl.read_parquet(tmp_path / "parsed" / "files.parquet")
    assert files.select("app_type", "problems", "n_quarantined", "n_attribute").rows() == [
        ("OCServer", None, 0, 6 + 5 + 8 + 3 * 5)]


def test_a_reload_is_a_new_attempt_and_an_attempt_without_its_load_still_counts(tmp_path):
    result = build(tmp_path, (
        # group 6002's load is older than the log: its attempt starts at its first event
        go("09:00:00.500", "CampaignStopped", group=6002, campaign=9002, Cause="ListExhausted")
        + go("09:00:01.000", "CampaignLoaded", SessID=f"'{SESS}'", DialMode="Preview")
        + go("09:00:02.000", "CampaignForceUnloaded", SessID=f"'{SESS}'", Cause="Forced")
        + go("09:00:03.000", "CampaignLoaded", SessID=f"'{SESS2}'", DialMode="Preview")
        + go("09:00:04.000", "CampaignStarted", SessID=f"'{SESS2}'")))
    campaigns = result.tables["GO_CAMPAIGN"]
    assert rows(campaigns.filter(pl.col("GROUPID") == 6001), "SESSID", "STATE", "TERMINATED") == [
        (SESS, None, utc("09:00:02")), (SESS2, STARTED, None)]
    minted = campaigns.filter(pl.col("GROUPID") == 6002)
    assert minted["SESSID"].str.starts_with("etl-").all() and minted["STATE"].to_list() == [LOADED]
    history = result.tables["GO_CAMPAIGNHISTORY"]
    assert rows(history.filter(pl.col("SESSID") == SESS), "SEQ", "STATE", "CAUSE") == [
        (1, LOADED, None), (2, TERMINATED, CampaignCause.FORCED)]
    assert dict(result.status.select("entity", "open").rows()) == {
        SESS: False, SESS2: True, minted["SESSID"][0]: True}


def test_campaigns_are_the_same_built_hour_by_hour_or_at_once(tmp_path):
    body = "".join(go(f"09:{m:02d}:00.000", code, SessID=f"'{SESS}'", DialMode=mode)
                   for m, code, mode in [(0, "CampaignLoaded", "Progressive"),
                                         (30, "CampaignStarted", "Progressive"),
                                         (59, "CampaignModeChanged", "PredictiveWithSeizing")])
    body += go("10:15:00.000", "CampaignUnloaded", SessID=f"'{SESS}'")
    result = build(tmp_path, body)
    events, _ = with_sources(tmp_path / "parsed")
    first_hour = build_campaigns(
        events.filter(pl.col("ts") < utc("10:00").replace(tzinfo=timezone.utc)), "p")
    assert first_hour.status["open"].to_list() == [True]
    key = ["SESSID", "SEQ"]
    assert first_hour.tables["GO_CAMPPROP_HIST"].drop("ETL_PARTITION").equals(
        result.tables["GO_CAMPPROP_HIST"].drop("ETL_PARTITION").sort(key))
    assert result.tables["GO_CAMPPROP_HIST"]["DIALMODE"].to_list() == [
        DialMode.PROGRESSIVE, DialMode.PREDICTIVE_WITH_SEIZING]


# ---- chains, records, fields and calls ----------------------------------------------------------

LIST, PHONE, ACCOUNT, SSN, SCORE = 9101, 9201, 9202, 9203, 9204
CONFIG = ConfigSnapshot(None, {
    "format": "icon-etl-config/1",
    "ocs_servers": [{"dbid": 7001, "name": OCS}],
    "campaigns": [{"dbid": 9001, "name": "Spring"}],
    "campaign_groups": [{"dbid": 6001, "name": "Spring@Sales", "campaign_dbid": 9001,
                         "ocs_dbid": 7001}],
    "calling_lists": [{"dbid": LIST, "name": "Spring_List", "campaign_dbid": 9001,
                       "field_dbids": [PHONE, ACCOUNT, SSN, SCORE]}],
    "fields": [{"dbid": PHONE, "name": "phone", "icon_attribute": 1},
               {"dbid": ACCOUNT, "name": "account", "icon_attribute": 1},
               {"dbid": SSN, "name": "ssn_last4", "icon_attribute": 2},
               {"dbid": SCORE, "name": "score"}]}, None)
SCHEDULED, PROCESSING, PROCESSED = ChainState.SCHEDULED, ChainState.PROCESSING, ChainState.PROCESSED


def chain(time: str, code: str, guid: str | None, chain_id: int = 17, record: int = 42,
          fields: dict[str, str] | None = None, **attrs) -> str:
    """A chain event of campaign attempt SESS; `fields`: its RecordFields KV list."""
    more = {"LstID": LIST, "ChID": chain_id, "SessID": f"'{SESS}'", "RecHandle": record}
    if guid is not None:
        more["ChainGUID"] = f"'{guid}'"
    text = go(time, code, **more, **attrs)
    if fields:
        text += f"\t\tRecordFields\t[{20 * len(fields)}] 00 {len(fields):02x} 00 00..\n"
        text += "".join(f"\t\t\t'{k}'\t'{v}'\n" for k, v in fields.items())
    return text


def loaded(mode: str) -> str:
    return (go("09:00:00.000", "CampaignLoaded", SessID=f"'{SESS}'", DialMode=mode)
            + go("09:00:01.000", "CampaignStarted", SessID=f"'{SESS}'"))


def gos(tmp_path: Path, body: str):
    events, kvpairs = parsed(tmp_path, body)
    return build_gos(events, kvpairs, CONFIG, "p").tables


def test_progressive_answered_call_with_field_updates(tmp_path):
    t = gos(tmp_path, loaded("Progressive")
            + chain("09:01:00.000", "ChainScheduled", "ch-1", fields={
                "phone": "5550101", "account": "A-77", "ssn_last4": "1234", "score": "9"})
            + chain("09:01:02.000", "ChainProcessing", "ch-1", CallAttID="'att-1'",
                    CallGUID="'CALL0001'")
            + chain("09:03:00.000", "ChainUpdated", "ch-1", CallAttID="'att-1'",
                    fields={"account": "A-78", "ssn_last4": "9999", "phone": "5550101"})
            + chain("09:03:05.000", "ChainProcessed", "ch-1", CallAttID="'att-1'",
                    CallGUID="'CALL0001'", CallResult=33)
            + chain("09:03:06.000", "ChainTerminated", "ch-1", Cause="Processed"))
    assert rows(t["GO_CAMPAIGN"], "SESSID", "OCSID", "DIALMODE") == [
        (SESS, 7001, DialMode.PROGRESSIVE)]
    assert rows(t["GO_CHAIN"], "CHAINGUID", "SESSID", "CAMPAIGNID", "GROUPID", "CALLINGLISTID",
                "CHAINID", "STATE", "CREATED", "TERMINATED") == [
        ("ch-1", SESS, 9001, 6001, LIST, 17, None, utc("09:01:00"), utc("09:03:06"))]
    assert rows(t["GO_CHAINREC_HIST"], "SEQ", "RECORDHANDLE", "STATE", "PREVSTATE", "CALLATTID",
                "CALLRESULT", "PREVSENTER", "ADDED") == [
        (1, 42, SCHEDULED, None, None, None, None, utc("09:01:00")),
        (2, 42, PROCESSING, SCHEDULED, "att-1", None, utc("09:01:00"), utc("09:01:02")),
        (3, 42, PROCESSED, PROCESSING, "att-1", CallResult.ANSWER, utc("09:01:02"),
         utc("09:03:05")),
        (4, 42, ChainState.TERMINATED, PROCESSED, None, None, utc("09:03:05"), utc("09:03:06"))]
    # secure fields only in GO_SEC_FIELDHIST; a field without icon_attribute nowhere
    assert rows(t["GO_CUSTOM_FIELDS"], "FIELDID", "VALUE", "LASTCHAINUPDSEQ", "LOADED",
                "LASTCHANGED") == [
        (PHONE, "5550101", 1, utc("09:01:00"), utc("09:01:00")),
        (ACCOUNT, "A-78", 2, utc("09:01:00"), utc("09:03:00"))]
    assert rows(t["GO_FIELDHIST"], "FIELDID", "SEQ", "OLDVALUE", "NEWVALUE", "CHAINHISTSEQ",
                "CALLATTID", "PREVENTER", "ADDED", sort=("FIELDID", "SEQ")) == [
        (PHONE, 1, None, "5550101", 1, None, None, utc("09:01:00")),
        (ACCOUNT, 1, None, "A-77", 1, None, None, utc("09:01:00")),
        (ACCOUNT, 2, "A-77", "A-78", 2, "att-1", utc("09:01:00"), utc("09:03:00"))]
    assert rows(t["GO_SEC_FIELDHIST"], "FIELDID", "SEQ", "OLDVALUE", "NEWVALUE") == [
        (SSN, 1, None, "1234"), (SSN, 2, "1234", "9999")]
    assert rows(t["GOX_CHAIN_CALL"], "CALLID", "CHAINGUID", "CALLATTID", "ADDED") == [
        ("CALL0001", "ch-1", "att-1", utc("09:01:02"))]


def test_preview_cancel_and_rescheduled_busy_then_no_answer(tmp_path):
    t = gos(tmp_path, loaded("Preview")
            + chain("09:01:00.000", "ChainScheduled", "ch-1", fields={"phone": "5550101"})
            + chain("09:01:01.000", "ChainProcessing", "ch-1", CallAttID="'att-1'")
            + chain("09:01:30.000", "ChainProcessed", "ch-1", CallAttID="'att-1'", CallResult=52)
            + chain("09:01:31.000", "ChainTerminated", "ch-1", Cause="Processed")
            # record 43: busy, rescheduled, then a new chain processing attempt: no answer
            + chain("09:02:00.000", "ChainScheduled", "ch-2", 18, 43, fields={"phone": "5550102"})
            + chain("09:02:01.000", "ChainProcessing", "ch-2", 18, 43, CallAttID="'att-2'",
                    CallGUID="'CALL0002'")
            + chain("09:02:09.000", "ChainProcessed", "ch-2", 18, 43, CallAttID="'att-2'",
                    CallGUID="'CALL0002'", CallResult=6)
            + chain("09:02:10.000", "ChainTerminated", "ch-2", 18, 43, Cause="Rescheduled")
            + chain("09:30:00.000", "ChainScheduled", "ch-3", 18, 43, fields={"phone": "5550102"})
            + chain("09:30:01.000", "ChainProcessing", "ch-3", 18, 43, CallAttID="'att-3'",
                    CallGUID="'CALL0003'")
            + chain("09:30:31.000", "ChainProcessed", "ch-3", 18, 43, CallAttID="'att-3'",
                    CallGUID="'CALL0003'", CallResult=7)
            + chain("09:30:32.000", "ChainTerminated", "ch-3", 18, 43, Cause="Rescheduled"))
    assert rows(t["GO_CHAIN"], "CHAINGUID", "CHAINID", "STATE", "TERMINATED") == [
        ("ch-1", 17, None, utc("09:01:31")), ("ch-2", 18, None, utc("09:02:10")),
        ("ch-3", 18, None, utc("09:30:32"))]
    results = t["GO_CHAINREC_HIST"].filter(pl.col("STATE") == PROCESSED)
    assert rows(results, "CHAINGUID", "RECORDHANDLE", "CALLATTID", "CALLRESULT") == [
        ("ch-1", 42, "att-1", CallResult.CANCEL_RECORD), ("ch-2", 43, "att-2", CallResult.BUSY),
        ("ch-3", 43, "att-3", CallResult.NO_ANSWER)]
    # a cancelled preview dialed nothing
    assert rows(t["GOX_CHAIN_CALL"], "CHAINGUID", "CALLID") == [
        ("ch-2", "CALL0002"), ("ch-3", "CALL0003")]
    # each attempt loads the record's fields again
    assert rows(t["GO_FIELDHIST"], "CHAINGUID", "RECORDHANDLE", "SEQ", "NEWVALUE") == [
        ("ch-1", 42, 1, "5550101"), ("ch-2", 43, 1, "5550102"), ("ch-3", 43, 1, "5550102")]


def test_predictive_dropped_and_answering_machine_and_a_chain_left_open(tmp_path):
    t = gos(tmp_path, loaded("Predictive")
            + chain("09:01:00.000", "ChainScheduled", "ch-1")
            + chain("09:01:01.000", "ChainProcessing", "ch-1", CallAttID="'att-1'",
                    CallGUID="'CALL0001'")
            + chain("09:01:09.000", "ChainProcessed", "ch-1", CallAttID="'att-1'",
                    CallGUID="'CALL0001'", CallResult=26)
            + chain("09:01:10.000", "ChainTerminated", "ch-1", Cause="Rescheduled")
            + chain("09:02:00.000", "ChainScheduled", "ch-2", 18, 43)
            + chain("09:02:01.000", "ChainProcessing", "ch-2", 18, 43, CallAttID="'att-2'",
                    CallGUID="'CALL0002'")
            + chain("09:02:20.000", "ChainProcessed", "ch-2", 18, 43, CallAttID="'att-2'",
                    CallGUID="'CALL0002'", CallResult=9)
            # a chain the log leaves in progress: open, in its last state
            + chain("09:03:00.000", "ChainScheduled", None, 19, 44)
            + chain("09:03:01.000", "ChainProcessing", None, 19, 44, CallAttID="'att-3'"))
    assert rows(t["GO_CHAINREC_HIST"].filter(pl.col("STATE") == PROCESSED), "CHAINGUID",
                "CALLRESULT") == [("ch-1", CallResult.DROPPED),
                                  ("ch-2", CallResult.ANSWERING_MACHINE)]
    chains = t["GO_CHAIN"]
    assert rows(chains.filter(pl.col("CHAINID") != 19), "CHAINGUID", "STATE", "TERMINATED") == [
        ("ch-1", None, utc("09:01:10")), ("ch-2", PROCESSED, None)]
    # without a ChainGUID in the log the ETL names the attempt
    minted = chains.filter(pl.col("CHAINID") == 19)
    assert minted["CHAINGUID"][0].startswith("etl-") and minted["STATE"].to_list() == [PROCESSING]


def test_secure_field_values_are_masked_where_a_bad_line_is_printed(tmp_path):
    from transforms.parsing import ParseOptions

    logs = tmp_path / "logs"
    logs.mkdir()
    block = chain("09:01:00.000", "ChainScheduled", "ch-1", fields={"ssn_last4": "1234"})
    # a control character makes the field line garbage: it is quarantined, its value masked
    block = block.replace("\t'1234'", "\t'12\x0134'")
    (logs / f"{OCS}.20260310_090000_000.log").write_text(ocs_header() + loaded("Preview") + block)
    parse_to_parquet([logs], tmp_path / "parsed", ParseOptions(redact_keys=CONFIG.secure_fields()),
                     workers=1)
    quarantined = pl.read_parquet(tmp_path / "parsed" / "quarantine" / "*.parquet")
    assert quarantined["reason"].to_list() == ["binary_garbage"]
    assert "12" not in quarantined["text"][0] and "***" in quarantined["text"][0]


# ---- through `icon-etl load`: a dialed call joins G_CALL, and `explain` shows the chain ----------

DIALED = "AM5D3AE9D90757BKTSVJTCIAR4000099"


def dialed_call_logs(tmp_path: Path) -> Path:
    """A T-Server's outbound call and the OCS chain that dialed it, with the configuration."""
    import json

    from tests.logtext import CallLog

    logs = tmp_path / "logs"
    logs.mkdir()
    # the T-Server's outbound call at 07:01:02 local (UTC+1), dialed for chain ch-1
    ts = CallLog("TS_TEST")
    ts.call(62, "EventDialing", DIALED, "006c02462a160099", "7001", role=1, other="5550101",
            ctype=3, ud=[("GSW_RECORD_HANDLE", "42"), ("GSW_CALL_ATTEMPT_GUID", "'att-1'")])
    ts.call(70, "EventEstablished", DIALED, "006c02462a160099", "7001", role=1, ctype=3)
    ts.call(130, "EventReleased", DIALED, "006c02462a160099", "7001", role=1, ctype=3)
    (logs / "TS_TEST.20260310_070000_000.log").write_text(ts.text())
    # its OCS at UTC (the same instants): 06:01:02 UTC
    ocs = (ocs_header().replace("09:00:00", "06:00:00")
           + (loaded("Progressive")
              + chain("09:01:00.000", "ChainScheduled", "ch-1", fields={"phone": "5550101"})
              + chain("09:01:02.000", "ChainProcessing", "ch-1", CallAttID="'att-1'",
                      CallGUID=f"'{DIALED}'")
              + chain("09:02:10.000", "ChainProcessed", "ch-1", CallAttID="'att-1'",
                      CallGUID=f"'{DIALED}'", CallResult=33)
              + chain("09:02:11.000", "ChainTerminated", "ch-1", Cause="Processed"))
           .replace("2026-03-10T09:", "2026-03-10T06:"))
    (logs / f"{OCS}.20260310_060000_000.log").write_text(ocs)
    (tmp_path / "config.json").write_text(json.dumps(CONFIG.doc))
    return logs


def test_a_dialed_call_joins_g_call_and_explain_shows_the_chain(tmp_path):
    from tests import badinput as bi

    logs = dialed_call_logs(tmp_path)
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    home = tmp_path / "home"
    result = bi.run_cli(["load", "--logs", logs, "--idb", url, "--config",
                         tmp_path / "config.json"], home)
    assert result.rc == 0, result.stderr[-2000:]
    links = bi.idb_table(url, "GOX_CHAIN_CALL")
    calls = bi.idb_table(url, "G_CALL")
    assert links.join(calls, on="CALLID").select("CALLID", "CHAINGUID").rows() == [
        (DIALED, "ch-1")]
    assert bi.idb_table(url, "G_DSS_GOS_PROVIDER").select("DS_TYPE", "ETL_APP").unique().rows() \
        == [(3, OCS)]
    assert OCS not in bi.idb_table(url, "G_DSS_GCC_PROVIDER")["ETL_APP"].to_list()

    explained = bi.run_cli(["explain", "ch-1", "--idb", url, "--data", home / "data"], home)
    assert explained.rc == 0, explained.stderr
    lines = explained.stdout.splitlines()
    assert lines[0].startswith(f"chain ch-1  campaign attempt {SESS}  list {LIST}")
    assert any("ChainProcessed" in ln and "processed result answer attempt att-1" in ln
               for ln in lines)
    # each event beside the rows it made: the call link under the event that named the call
    at = next(n for n, ln in enumerate(lines) if "ChainProcessing" in ln)
    assert lines[at].endswith("SEQ 2 record 42 processing attempt att-1")
    assert lines[at + 1].strip() == f"dialed call {DIALED}"
    call = bi.run_cli(["explain", DIALED, "--idb", url, "--data", home / "data"], home)
    assert "dialed by outbound chain ch-1 (call attempt att-1)" in call.stdout
    missing = bi.run_cli(["explain", "nothing-such", "--idb", url, "--data", home / "data"], home)
    assert missing.rc == 1 and "neither a call" in missing.stderr


def test_ha_replicas_of_an_ocs_log_fill_each_others_gaps(tmp_path):
    """Replica a lost the OCS log's second segment; b has both: the unload comes from b."""
    from tests import badinput as bi

    first = (loaded("Progressive") + go("09:05:00.000", "CampaignModeChanged", SessID=f"'{SESS}'",
                                          DialMode="Predictive"))
    second = (go("09:40:00.000", "CampaignStopped", SessID=f"'{SESS}'")
              + go("09:40:05.000", "CampaignUnloaded", SessID=f"'{SESS}'"))
    header2 = ocs_header().replace("(1) /var/log/", "(2) /var/log/").replace(
        "09:00:00.000", "09:30:00.000")
    for replica, segments in (("a", [first]), ("b", [first, second])):
        folder = tmp_path / "logs" / replica
        folder.mkdir(parents=True)
        (folder / f"{OCS}.20260310_090000_000.log").write_text(ocs_header() + segments[0])
        if len(segments) > 1:
            (folder / f"{OCS}.20260310_093000_000.log").write_text(header2 + segments[1])
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    result = bi.run_cli(["load", "--logs", tmp_path / "logs", "--idb", url], tmp_path / "home")
    assert result.rc == 0, result.stderr[-2000:]
    campaign = bi.idb_table(url, "GO_CAMPAIGN").row(0, named=True)
    assert (campaign["STATE"], campaign["TERMINATED"]) == (None, utc("09:40:05"))
    assert campaign["ETL_SOURCE"].startswith("a/") and campaign["ETL_SOURCE_LAST"].startswith(
        f"b/{OCS}.20260310_093000_000.log:")
    history = bi.idb_table(url, "GO_CAMPAIGNHISTORY").sort("SEQ")
    assert history["SEQ"].to_list() == [1, 2, 3, 4, 5]
    filled = bi.idb_table(url, "ETL_RECONCILE").filter(
        (pl.col("SWITCH") == OCS) & (pl.col("REPLICA") == "b"))
    assert filled["FILLED_WINDOWS"].sum() >= 1


def test_a_deployment_without_the_gos_role_writes_no_outbound_rows(tmp_path):
    """`[callconcentrator] role = "~gos"`: the OCS log is read and accounted for, its data
    source sessions recorded, and no GO_* row written; the calls load as always."""
    from tests import badinput as bi

    logs = dialed_call_logs(tmp_path)
    (tmp_path / "options.toml").write_text('[callconcentrator]\nrole = "~gos"\n')
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    result = bi.run_cli(["load", "--logs", logs, "--idb", url, "--config",
                         tmp_path / "config.json", "--options", tmp_path / "options.toml"],
                        tmp_path / "home")
    assert result.rc == 0, result.stderr[-2000:]
    for name in GOS_TABLES:
        assert bi.idb_table(url, name).height == 0, name
    assert bi.idb_table(url, "G_CALL")["CALLID"].to_list() == [DIALED]
    assert bi.idb_table(url, "G_DSS_GOS_PROVIDER").height > 0


def test_an_attempt_ends_at_its_end_and_a_new_guid_is_a_new_attempt(tmp_path):
    """Events of a chain after its ChainTerminated, or carrying another GUID, are not glued onto
    the chain before; an attempt whose start is not in the log is named by the ETL."""
    t = gos(tmp_path, loaded("Progressive")
            + chain("09:10:00.000", "ChainScheduled", "ch-1")
            + chain("09:11:00.000", "ChainTerminated", "ch-1", Cause="Processed")
            + chain("10:05:00.000", "ChainProcessing", "ch-2", CallAttID="'att-2'")
            + chain("10:06:00.000", "ChainTerminated", "ch-2", Cause="Processed")
            + chain("10:07:00.000", "ChainProcessing", "ch-3", CallAttID="'att-3'"))
    chains = t["GO_CHAIN"].sort("CREATED")
    guids = chains["CHAINGUID"].to_list()
    assert guids[0] == "ch-1" and all(g.startswith("etl-") for g in guids[1:])
    assert len(set(guids)) == 3
    history = t["GO_CHAINREC_HIST"]
    assert rows(history.filter(pl.col("CHAINGUID") == "ch-1"), "SEQ", "STATE") == [
        (1, SCHEDULED), (2, ChainState.TERMINATED)]
    assert history.group_by("CHAINGUID").len()["len"].sort().to_list() == [1, 2, 2]


def test_attempts_without_a_group_key_are_told_apart_by_time(tmp_path):
    """A GO block without CmpID: the attempts the ETL names still differ from one another."""
    body = ""
    for hh in ("09", "10"):
        body += (go(f"{hh}:00:00.000", "CampaignStarted", group=6002, campaign=0)
                 .replace("\t\tCmpID\t0\n", "")
                 + go(f"{hh}:30:00.000", "CampaignUnloaded", group=6002, campaign=0)
                 .replace("\t\tCmpID\t0\n", ""))
    campaigns = build(tmp_path, body).tables["GO_CAMPAIGN"]
    assert campaigns["CAMPAIGNID"].to_list() == [None, None]
    assert campaigns["SESSID"].n_unique() == 2
