"""The gls role (agent login sessions, states, reason codes, DND): hand-written scenarios with
the exact rows expected, hour-by-hour vs whole-window equivalence on a simulated run, and the
comparison with the simulator's ground truth (docs/semantics.md §8)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from simulator import simulate
from simulator.compare import compare_agents
from simulator.topology import AGENT_RECORD_USER_TYPES
from tests.logtext import event, header, kvlist
from transforms.config import (
    ConfigSnapshot,
    IconOptions,
    load_options,
    load_snapshot,
    spec_from_options,
)
from transforms.idb.dictionary import AgentState, StateRecordType, dict_type_frame, dictionary_frame
from transforms.parsing import parse_to_parquet
from transforms.roles import (
    GLS_TABLES,
    Window,
    build_gcc,
    build_gls,
    build_gud,
    carry_out,
    dss_id,
)
from transforms.roles.gcc.build import EVENT_COLUMNS as GCC_EVENT_COLUMNS
from transforms.roles.gls.build import EVENT_COLUMNS as GLS_EVENT_COLUMNS
from transforms.roles.gud.build import EVENT_COLUMNS as GUD_EVENT_COLUMNS

APP = "TS_TEST"
Q = "8101"
U1, U2, U3 = ("UUID00000000000000000000000000U1", "UUID00000000000000000000000000U2",
              "UUID00000000000000000000000000U3")
CONN = {U1: "006c000000000001", U2: "006c000000000002", U3: "006c000000000003"}
CONFIG = {
    "format": "icon-etl-config/1",
    "tenants": [{"dbid": 101, "name": "Resources"}],
    "switches": [{"dbid": 1, "name": "SW_TEST", "tenant_dbid": 101, "tserver": APP}],
    "dns": [{"dbid": 1001, "number": "7001", "switch_dbid": 1, "type": "Extension"},
            {"dbid": 1002, "number": "7002", "switch_dbid": 1, "type": "Extension"},
            {"dbid": 1003, "number": "7003", "switch_dbid": 1, "type": "Extension"},
            {"dbid": 1201, "number": Q, "switch_dbid": 1, "type": "ACDQueue"}],
    "persons": [{"dbid": 3001, "employee_id": "a1"}, {"dbid": 3002, "employee_id": "a2"}],
    "agent_logins": [{"dbid": 4001, "login_code": "a1", "switch_dbid": 1, "person_dbid": 3001},
                     {"dbid": 4002, "login_code": "a2", "switch_dbid": 1, "person_dbid": 3002}],
    "places": [{"dbid": 5001, "name": "P1", "dn_dbids": [1001, 1002], "person_dbid": 3001},
               {"dbid": 5002, "name": "P2", "dn_dbids": [1003]}],
}
T, S = StateRecordType, AgentState


def utc(hms: str) -> datetime:
    """Local log time `HH:MM:SS.fff` of the test header (UTC+1) -> naive UTC (IDB columns)."""
    h, rest = hms.split(":", 1)
    return datetime.fromisoformat(f"2026-03-10T{int(h) - 1:02d}:{rest}")


class Log:
    """A hand-written T-Server log: agent and call events with increasing sequence numbers."""

    def __init__(self):
        self.text = header(APP)
        self.seq = 0

    def add(self, time: str, name: str, attrs: list[tuple[str, str]], kv: list[str] = ()):
        self.seq += 1
        self.text += event(time + "0", name, self.seq, attrs) + "".join(line + "\n" for line in kv)
        return self

    def agent(self, time: str, name: str, dn: str, agent: str = "a1", wm: int | None = None,
              reasons: dict | None = None, hw: str | None = None, queue: str | None = Q):
        attrs = [("AttributeThisDN", f"'{dn}'"), ("AttributeAgentID", f"'{agent}'")]
        if queue:
            attrs.append(("AttributeThisQueue", f"'{queue}'"))
        if wm is not None:
            attrs.append(("AttributeAgentWorkMode", str(wm)))
        kv = []
        if reasons:
            kv += kvlist("AttributeReason", [(k, f"'{v}'") for k, v in reasons.items()])
        if hw:
            kv += kvlist("AttributeExtensions", [("ReasonCode", f"'{hw}'")])
        return self.add(time, name, attrs, kv)

    def call(self, time: str, name: str, dn: str, uuid: str, prev: str | None = None):
        attrs = [("AttributeThisDN", f"'{dn}'"), ("AttributeConnID", CONN[uuid]),
                 ("AttributeCallUUID", f"'{uuid}'"), ("AttributeCallType", "2")]
        if prev:
            attrs.append(("AttributePreviousConnID", CONN[prev]))
        return self.add(time, name, attrs)


def load(tmp_path: Path, text: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    src = tmp_path / "logs"
    src.mkdir(parents=True, exist_ok=True)
    (src / f"{APP}.20260310_070000_000.log").write_text(text)
    out = tmp_path / "parsed"
    parse_to_parquet([src], out, workers=1)
    return with_sources(out)


def with_sources(out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events with `app`, `src` (`a/<file>:<line>`) and `dss_id` (one per T-Server process), as
    the pipeline gives them to the role transforms (transforms/roles/carry.with_sources)."""
    files = pl.read_parquet(out / "files.parquet")
    files = files.select("file_id", "app", name=pl.col("path").str.split("/").list.last(),
                         dss_id=pl.Series([dss_id("a", a, s) for a, s in
                                           zip(files["app"], files["start_time_utc"])],
                                          dtype=pl.Int64))
    events = (pl.read_parquet(out / "events" / "*.parquet").join(files, on="file_id")
              .with_columns(src=pl.concat_str([pl.lit("a/"), pl.col("name"), pl.lit(":"),
                                               pl.col("line").cast(pl.String)]))
              .drop("name"))
    return events, pl.read_parquet(out / "kvpairs" / "*.parquet")


def run(tmp_path: Path, log: Log, with_parties: bool = False, **kw):
    events, kvpairs = load(tmp_path, log.text)
    config = ConfigSnapshot(None, CONFIG, None)
    parties = build_gcc(events, kvpairs, config).tables["G_PARTY"] if with_parties else None
    return build_gls(events, kvpairs, config, "p", parties=parties, **kw), events


def rows(frame: pl.DataFrame, *columns: str, sort: tuple[str, ...] | None = None) -> list[tuple]:
    return frame.sort(list(sort or columns)).select(columns).rows()


def history(result, *extra: str) -> list[tuple]:
    return rows(result.tables["G_AGENT_STATE_HISTORY"], "ETL_DN", "SEQ", "TYPE", "STATE",
                "PREVSTATE", "PENDINGSTATE", "WORKMODE", "ADDED", *extra)


def options(**values) -> IconOptions:
    out: dict = {}
    for name, value in values.items():
        section = "gts" if name == "gls_max_duration" else "callconcentrator"
        out.setdefault(section, {})[name.replace("_", "-")] = value
    return IconOptions(out)


# ------------------------------------------------------------------------------------------------
# scenarios
# ------------------------------------------------------------------------------------------------

def test_login_on_two_dns_is_one_session_that_ends_with_the_last_logout(tmp_path):
    log = (Log()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:01.010", "EventAgentLogin", "7002", wm=0)
           .agent("07:00:03.000", "EventAgentReady", "7001", wm=1)
           .agent("07:00:03.010", "EventAgentReady", "7002", wm=1)
           .agent("07:05:00.000", "EventAgentLogout", "7002", wm=0)
           .agent("07:10:00.000", "EventAgentLogout", "7001", wm=0))
    r, _ = run(tmp_path, log)
    sessions = r.tables["G_LOGIN_SESSION"]
    assert rows(sessions, "ETL_LOGIN_CODE", "AGENTID", "LOGINID", "PLACEID", "PRIMARYDEVICEID",
                "SWITCHID", "TENANTID", "STATE", "CREATED", "TERMINATED", "ETL_CLOSED_BY") == [
        ("a1", 3001, 4001, 5001, 1001, 1, 101, 2, utc("07:00:01.000"), utc("07:10:00.000"), None)]
    sid = sessions["LOGINSESSIONID"][0]
    assert len(sid) <= 50 and sessions["ETL_ENTITY"][0] == sid
    assert rows(r.tables["GX_SESSION_ENDPOINT"], "LOGINSESSIONID", "ETL_DN", "ETL_QUEUE", "AGENTID",
                "ENDPOINTID", "ENDPOINTTYPE", "QUEUEID", "QUEUETYPE", "PLACEID", "STATE", "CREATED",
                "TERMINATED", sort=("ETL_DN",)) == [
        (sid, "7001", Q, 3001, 1001, 1, 1201, 3, 5001, 2, utc("07:00:01.000"), utc("07:10:00.000")),
        (sid, "7002", Q, 3001, 1002, 1, 1201, 3, 5001, 2, utc("07:00:01.010"), utc("07:05:00.000"))]
    assert history(r) == [
        ("7001", 1, T.STATE, S.LOGIN, S.NULL, None, 0, utc("07:00:01.000")),
        ("7001", 2, T.STATE, S.READY, S.LOGIN, None, 1, utc("07:00:03.000")),
        ("7001", 3, T.STATE, S.NULL, S.READY, None, 0, utc("07:10:00.000")),
        ("7002", 1, T.STATE, S.LOGIN, S.NULL, None, 0, utc("07:00:01.010")),
        ("7002", 2, T.STATE, S.READY, S.LOGIN, None, 1, utc("07:00:03.010")),
        ("7002", 3, T.STATE, S.NULL, S.READY, None, 0, utc("07:05:00.000"))]
    hist = r.tables["G_AGENT_STATE_HISTORY"]
    assert set(hist["LOGINSESSIONID"]) == {sid} and set(hist["QUEUEID"]) == {1201}
    assert set(hist["AGENTID"]) == {3001} and set(hist["LOGINID"]) == {4001}
    assert hist.select("ETL_DN", "ENDPOINTID").unique().sort("ETL_DN").rows() == [
        ("7001", 1001), ("7002", 1002)]
    assert r.status.select("entity", "open").rows() == [(sid, False)] and r.open_keys.height == 0
    assert r.event_keys.height == 6 and set(r.event_keys["key"]) == {sid}
    assert all(r.tables[n].height == 0 for n in ("G_AGENT_STATE_RC", "G_AGENT_STATE_RC_A",
                                                 "G_DND_HISTORY"))


def test_software_reason_then_hardware_code_by_self_transition(tmp_path):
    log = (Log()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:02.000", "EventAgentReady", "7001", wm=1)
           .agent("07:01:00.000", "EventAgentNotReady", "7001", wm=4, reasons={"Reason": "Break"})
           .agent("07:01:30.000", "EventAgentNotReady", "7001", wm=4, hw="22")
           .agent("07:02:00.000", "EventAgentReady", "7001", wm=1)
           .agent("07:03:00.000", "EventAgentNotReady", "7001", wm=4, reasons={"Reason": "Lunch"},
                  hw="33")
           .agent("07:03:10.000", "EventAgentNotReady", "7001", wm=4, reasons={"Reason": "Lunch"})
           .agent("07:04:00.000", "EventAgentLogout", "7001", wm=0))
    r, _ = run(tmp_path, log)
    # a self-transition changes no state: no history record
    assert history(r) == [
        ("7001", 1, T.STATE, S.LOGIN, S.NULL, None, 0, utc("07:00:01.000")),
        ("7001", 2, T.STATE, S.READY, S.LOGIN, None, 1, utc("07:00:02.000")),
        ("7001", 3, T.STATE, S.NOTREADY, S.READY, None, 4, utc("07:01:00.000")),
        ("7001", 4, T.STATE, S.READY, S.NOTREADY, None, 1, utc("07:02:00.000")),
        ("7001", 5, T.STATE, S.NOTREADY, S.READY, None, 4, utc("07:03:00.000")),
        ("7001", 6, T.STATE, S.NULL, S.NOTREADY, None, 0, utc("07:04:00.000"))]
    assert rows(r.tables["G_AGENT_STATE_RC"], "ETL_DN", "HWFLAG", "KEYNAME", "VALUE", "AGENTSTATE",
                "WORKMODE", "QUEUEID", "ENDPOINTID", "CREATED", "TERMINATED", "ETL_CLOSED_BY",
                sort=("CREATED", "HWFLAG")) == [
        ("7001", 0, "Reason", "Break", S.NOTREADY, 4, 1201, 1001, utc("07:01:00.000"),
         utc("07:01:30.000"), None),
        ("7001", 1, "ReasonCode", "22", S.NOTREADY, 4, 1201, 1001, utc("07:01:30.000"),
         utc("07:02:00.000"), None),
        # Lunch is repeated by the self-transition: it stays open until the logout
        ("7001", 0, "Reason", "Lunch", S.NOTREADY, 4, 1201, 1001, utc("07:03:00.000"),
         utc("07:04:00.000"), None),
        # the switch code is not repeated: it closes at the self-transition
        ("7001", 1, "ReasonCode", "33", S.NOTREADY, 4, 1201, 1001, utc("07:03:00.000"),
         utc("07:03:10.000"), None)]
    assert r.tables["G_AGENT_STATE_RC_A"].height == 0
    sid = r.tables["G_LOGIN_SESSION"]["LOGINSESSIONID"][0]
    assert set(r.tables["G_AGENT_STATE_RC"]["SESSIONID"]) == {sid}


def _acw_log() -> Log:
    """A customer call U1, a consultation U2 during which the customer hangs up, ACW, ready;
    then a call U3 during which the agent asks for ACW (pending until the call ends)."""
    return (Log()
            .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
            .agent("07:00:02.000", "EventAgentReady", "7001", wm=1)
            .call("07:01:00.000", "EventRinging", "7001", U1)
            .call("07:01:05.000", "EventEstablished", "7001", U1)
            .call("07:02:00.000", "EventHeld", "7001", U1)
            .call("07:02:01.000", "EventDialing", "7001", U2)
            .call("07:02:05.000", "EventEstablished", "7001", U2)
            .call("07:02:20.000", "EventReleased", "7001", U1)
            .call("07:02:30.000", "EventReleased", "7001", U2)
            .agent("07:02:31.000", "EventAgentNotReady", "7001", wm=3)
            .agent("07:03:00.000", "EventAgentReady", "7001", wm=1)
            .call("07:04:00.000", "EventRinging", "7001", U3)
            .call("07:04:02.000", "EventEstablished", "7001", U3)
            .agent("07:04:10.000", "EventAgentNotReady", "7001", wm=3)
            .call("07:04:30.000", "EventReleased", "7001", U3)
            .agent("07:05:00.000", "EventAgentLogout", "7001", wm=0))


@pytest.mark.parametrize("acw_first, acw_call", [(-1, U1), (1, U1), (0, U2)])
def test_acw_after_calls_with_connect_disconnect_records(tmp_path, acw_first, acw_call):
    r, _ = run(tmp_path, _acw_log(), with_parties=True, options=options(gls_acw_first=acw_first))
    p1, p2, p3 = f"{U1}.1", f"{U2}.1", f"{U3}.1"
    acw_party = {U1: p1, U2: p2}[acw_call]
    assert history(r, "CALLID", "PARTYID") == [
        ("7001", 1, T.STATE, S.LOGIN, S.NULL, None, 0, utc("07:00:01.000"), None, None),
        ("7001", 2, T.STATE, S.READY, S.LOGIN, None, 1, utc("07:00:02.000"), None, None),
        ("7001", 3, T.CALL_CONNECTED, S.BUSY, S.READY, S.READY, 1, utc("07:01:00.000"), U1, p1),
        ("7001", 4, T.STATE, S.BUSY, S.READY, S.READY, 1, utc("07:01:00.000"), U1, p1),
        ("7001", 5, T.CALL_CONNECTED, S.BUSY, S.BUSY, S.READY, 1, utc("07:02:01.000"), U2, p2),
        ("7001", 6, T.CALL_DISCONNECTED, S.BUSY, S.BUSY, S.READY, 1, utc("07:02:20.000"), U1, p1),
        ("7001", 7, T.CALL_DISCONNECTED, S.READY, S.BUSY, None, 1, utc("07:02:30.000"), U2, p2),
        ("7001", 8, T.STATE, S.READY, S.BUSY, None, 1, utc("07:02:30.000"), U2, p2),
        # ACW (NotReady, workmode AfterCallWork) attributed per gls-acw-first
        ("7001", 9, T.STATE, S.ACW, S.READY, None, 3, utc("07:02:31.000"), acw_call, acw_party),
        ("7001", 10, T.STATE, S.READY, S.ACW, None, 1, utc("07:03:00.000"), None, None),
        ("7001", 11, T.CALL_CONNECTED, S.BUSY, S.READY, S.READY, 1, utc("07:04:00.000"), U3, p3),
        ("7001", 12, T.STATE, S.BUSY, S.READY, S.READY, 1, utc("07:04:00.000"), U3, p3),
        # ACW asked for during the call: a pending-state record
        ("7001", 13, T.PENDING_STATE, S.BUSY, S.BUSY, S.ACW, 3, utc("07:04:10.000"), U3, p3),
        ("7001", 14, T.CALL_DISCONNECTED, S.ACW, S.BUSY, None, 3, utc("07:04:30.000"), U3, p3),
        ("7001", 15, T.STATE, S.ACW, S.BUSY, None, 3, utc("07:04:30.000"), U3, p3),
        ("7001", 16, T.STATE, S.NULL, S.ACW, None, 0, utc("07:05:00.000"), None, None)]


def test_call_records_without_parties_frame_have_no_partyid(tmp_path):
    r, _ = run(tmp_path, _acw_log())
    calls = r.tables["G_AGENT_STATE_HISTORY"].filter(pl.col("TYPE") == int(T.CALL_CONNECTED))
    assert calls["CALLID"].to_list() == [U1, U2, U3]
    assert calls["PARTYID"].null_count() == 3


def test_dnd_inside_a_session_closed_by_logout(tmp_path):
    log = (Log()
           .add("07:00:00.500", "EventDNDOn", [("AttributeThisDN", "'7001'")])   # before login
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:02.000", "EventAgentReady", "7001", wm=1)
           .add("07:01:00.000", "EventDNDOn", [("AttributeThisDN", "'7001'")])
           .add("07:02:00.000", "EventDNDOff", [("AttributeThisDN", "'7001'")])
           .add("07:03:00.000", "EventDNDOn", [("AttributeThisDN", "'7001'")])
           .agent("07:03:30.000", "EventAgentNotReady", "7001", wm=4)
           .agent("07:04:00.000", "EventAgentLogout", "7001", wm=0))
    r, _ = run(tmp_path, log)
    sid = r.tables["G_LOGIN_SESSION"]["LOGINSESSIONID"][0]
    assert rows(r.tables["G_DND_HISTORY"], "LOGINSESSIONID", "ETL_DN", "AGENTSTATE", "ENDPOINTID",
                "AGENTID", "PLACEID", "CREATED", "TERMINATED", "ETL_CLOSED_BY",
                sort=("CREATED",)) == [
        (sid, "7001", S.READY, 1001, 3001, 5001, utc("07:01:00.000"), utc("07:02:00.000"), None),
        (sid, "7001", S.READY, 1001, 3001, 5001, utc("07:03:00.000"), utc("07:04:00.000"), "logout")]
    # DND changes no agent state
    assert [x[3] for x in history(r)] == [S.LOGIN, S.READY, S.NOTREADY, S.NULL]
    assert r.event_keys.height == 7          # the DNDOn before the login is in no session


def test_logout_without_prior_not_ready_and_a_second_session(tmp_path):
    log = (Log()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:02.000", "EventAgentReady", "7001", wm=1)
           .agent("07:10:00.000", "EventAgentLogout", "7001", wm=0)
           .agent("07:10:05.000", "EventAgentLogout", "7001", wm=0)     # not logged in: ignored
           .agent("07:20:00.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:21:00.000", "EventAgentLogout", "7001", wm=0))
    r, _ = run(tmp_path, log)
    sessions = r.tables["G_LOGIN_SESSION"].sort("CREATED")
    assert rows(sessions, "ETL_LOGIN_CODE", "STATE", "CREATED", "TERMINATED") == [
        ("a1", 2, utc("07:00:01.000"), utc("07:10:00.000")),
        ("a1", 2, utc("07:20:00.000"), utc("07:21:00.000"))]
    first, second = sessions["LOGINSESSIONID"].to_list()
    assert first != second
    assert rows(r.tables["G_AGENT_STATE_HISTORY"], "LOGINSESSIONID", "SEQ", "TYPE", "STATE",
                "PREVSTATE", "ADDED", sort=("ADDED", "SEQ")) == [
        (first, 1, T.STATE, S.LOGIN, S.NULL, utc("07:00:01.000")),
        (first, 2, T.STATE, S.READY, S.LOGIN, utc("07:00:02.000")),
        (first, 3, T.STATE, S.NULL, S.READY, utc("07:10:00.000")),
        (second, 1, T.STATE, S.LOGIN, S.NULL, utc("07:20:00.000")),
        (second, 2, T.STATE, S.NULL, S.LOGIN, utc("07:21:00.000"))]
    assert r.event_keys.height == 5


def test_workmode_change_and_another_agents_login_on_the_dn(tmp_path):
    log = (Log()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:02.000", "EventAgentNotReady", "7001", wm=4, reasons={"R": "x"})
           .agent("07:00:03.000", "EventAgentNotReady", "7001", wm=5, reasons={"R": "x"})
           .add("07:00:04.000", "EventDNDOn", [("AttributeThisDN", "'7001'")])
           .call("07:00:05.000", "EventRinging", "7001", U1)
           .agent("07:00:06.000", "EventAgentLogin", "7001", agent="a2", wm=0)
           .call("07:00:07.000", "EventReleased", "7001", U1)       # a2 never had this call
           .agent("07:00:08.000", "EventAgentLogout", "7001", agent="a2", wm=0))
    r, _ = run(tmp_path, log)
    sessions = r.tables["G_LOGIN_SESSION"].sort("CREATED")
    assert rows(sessions, "ETL_LOGIN_CODE", "STATE", "CREATED", "TERMINATED", "ETL_CLOSED_BY") == [
        ("a1", 2, utc("07:00:01.000"), utc("07:00:06.000"), "relogin"),
        ("a2", 2, utc("07:00:06.000"), utc("07:00:08.000"), None)]
    s1, s2 = sessions["LOGINSESSIONID"].to_list()
    assert rows(r.tables["G_AGENT_STATE_HISTORY"], "LOGINSESSIONID", "SEQ", "TYPE", "STATE",
                "PREVSTATE", "PENDINGSTATE", "WORKMODE", "ADDED", "CALLID", "ETL_CLOSED_BY",
                sort=("ADDED", "SEQ")) == [
        (s1, 1, T.STATE, S.LOGIN, S.NULL, None, 0, utc("07:00:01.000"), None, None),
        (s1, 2, T.STATE, S.NOTREADY, S.LOGIN, None, 4, utc("07:00:02.000"), None, None),
        (s1, 3, T.WORKMODE, S.NOTREADY, S.NOTREADY, None, 5, utc("07:00:03.000"), None, None),
        (s1, 4, T.CALL_CONNECTED, S.BUSY, S.NOTREADY, S.NOTREADY, 5, utc("07:00:05.000"), U1, None),
        (s1, 5, T.STATE, S.BUSY, S.NOTREADY, S.NOTREADY, 5, utc("07:00:05.000"), U1, None),
        (s2, 1, T.STATE, S.LOGIN, S.NULL, None, 0, utc("07:00:06.000"), None, None),
        (s1, 6, T.CALL_DISCONNECTED, S.NULL, S.BUSY, None, 5, utc("07:00:06.000"), U1, "relogin"),
        (s1, 7, T.STATE, S.NULL, S.BUSY, None, 5, utc("07:00:06.000"), None, "relogin"),
        (s2, 2, T.STATE, S.NULL, S.LOGIN, None, 0, utc("07:00:08.000"), None, None)]
    # a workmode change is a state change for the reason codes
    assert rows(r.tables["G_AGENT_STATE_RC"], "KEYNAME", "VALUE", "WORKMODE", "CREATED",
                "TERMINATED", "ETL_CLOSED_BY", sort=("CREATED",)) == [
        ("R", "x", 4, utc("07:00:02.000"), utc("07:00:03.000"), None),
        ("R", "x", 5, utc("07:00:03.000"), utc("07:00:06.000"), "relogin")]
    assert rows(r.tables["G_DND_HISTORY"], "LOGINSESSIONID", "CREATED", "TERMINATED",
                "ETL_CLOSED_BY") == [(s1, utc("07:00:04.000"), utc("07:00:06.000"), "relogin")]


def _open_log() -> Log:
    """a1 logs in and goes on a break with DND on; the data ends with a1 still logged in. a2's
    Ready on 7003 has no login in the data: its session starts there."""
    return (Log()
            .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
            .agent("07:00:02.000", "EventAgentReady", "7001", wm=1)
            .agent("07:05:00.000", "EventAgentNotReady", "7001", wm=4, reasons={"Reason": "Break"})
            .add("07:06:00.000", "EventDNDOn", [("AttributeThisDN", "'7001'")])
            .agent("07:10:00.000", "EventAgentReady", "7003", agent="a2", wm=1))


def test_session_open_at_the_end_of_data_gives_provisional_rows(tmp_path):
    r, events = run(tmp_path, _open_log())
    sessions = r.tables["G_LOGIN_SESSION"].sort("CREATED")
    assert rows(sessions, "ETL_LOGIN_CODE", "AGENTID", "STATE", "CREATED", "TERMINATED",
                "LASTCHANGE", "ETL_CLOSED_BY") == [
        ("a1", 3001, 1, utc("07:00:01.000"), None, utc("07:06:00.000"), None),
        ("a2", 3002, 1, utc("07:10:00.000"), None, utc("07:10:00.000"), None)]
    s1, s2 = sessions["LOGINSESSIONID"].to_list()
    assert rows(r.tables["GX_SESSION_ENDPOINT"], "LOGINSESSIONID", "ETL_DN", "PLACEID", "STATE",
                "CREATED", "TERMINATED", sort=("CREATED",)) == [
        (s1, "7001", 5001, 1, utc("07:00:01.000"), None),
        (s2, "7003", 5002, 1, utc("07:10:00.000"), None)]
    assert history(r, "LOGINSESSIONID") == [
        ("7001", 1, T.STATE, S.LOGIN, S.NULL, None, 0, utc("07:00:01.000"), s1),
        ("7001", 2, T.STATE, S.READY, S.LOGIN, None, 1, utc("07:00:02.000"), s1),
        ("7001", 3, T.STATE, S.NOTREADY, S.READY, None, 4, utc("07:05:00.000"), s1),
        ("7003", 1, T.STATE, S.READY, S.NULL, None, 1, utc("07:10:00.000"), s2)]
    assert r.tables["G_AGENT_STATE_RC"].height == 0
    assert rows(r.tables["G_AGENT_STATE_RC_A"], "SESSIONID", "ETL_DN", "HWFLAG", "KEYNAME", "VALUE",
                "AGENTSTATE", "CREATED", "TERMINATED") == [
        (s1, "7001", 0, "Reason", "Break", S.NOTREADY, utc("07:05:00.000"), None)]
    assert rows(r.tables["G_DND_HISTORY"], "LOGINSESSIONID", "AGENTSTATE", "CREATED",
                "TERMINATED", "ETL_CLOSED_BY") == [(s1, S.NOTREADY, utc("07:06:00.000"), None, None)]
    assert sorted(r.status.select("entity", "open").rows()) == sorted([(s1, True), (s2, True)])
    assert sorted(r.open_keys["key"]) == sorted([s1, s2])
    # every event is in a session, so the carry hands all of them to the next hour
    assert r.event_keys.height == events.height == 5
    quiet, _ = run(tmp_path / "q", _open_log(), options=options(gls_active_reason_codes=0))
    assert quiet.tables["G_AGENT_STATE_RC_A"].height == 0


def test_closure_rules_dss_end_and_max_duration(tmp_path):
    r, events = run(tmp_path, _open_log())
    dss = events["dss_id"][0]
    a1 = r.tables["G_LOGIN_SESSION"].filter(pl.col("ETL_LOGIN_CODE") == "a1")["LOGINSESSIONID"][0]
    end_src = events.sort("ts")["src"][-1]
    ends = pl.DataFrame({"dss_id": [dss], "end_ts": [events["ts"].max()], "end_src": [end_src]})
    closed, _ = run(tmp_path / "d", _open_log(), dss_ends=ends)
    s = closed.tables["G_LOGIN_SESSION"].sort("CREATED")
    assert rows(s, "ETL_LOGIN_CODE", "STATE", "TERMINATED", "ETL_CLOSED_BY", "ETL_SOURCE_LAST") == [
        ("a1", 2, utc("07:10:00.000"), "dss_end", end_src),
        ("a2", 2, utc("07:10:00.000"), "dss_end", end_src)]
    assert history(closed, "ETL_CLOSED_BY")[3] == (
        "7001", 4, T.STATE, S.NULL, S.NOTREADY, None, 4, utc("07:10:00.000"), "dss_end")
    assert rows(closed.tables["G_AGENT_STATE_RC"], "KEYNAME", "VALUE", "TERMINATED",
                "ETL_CLOSED_BY") == [("Reason", "Break", utc("07:10:00.000"), "dss_end")]
    assert closed.tables["G_AGENT_STATE_RC_A"].height == 0
    assert rows(closed.tables["G_DND_HISTORY"], "TERMINATED", "ETL_CLOSED_BY") == [
        (utc("07:10:00.000"), "dss_end")]
    assert rows(closed.tables["GX_SESSION_ENDPOINT"], "ETL_DN", "STATE", "ETL_CLOSED_BY") == [
        ("7001", 2, "dss_end"), ("7003", 2, "dss_end")]
    assert not any(closed.status["open"]) and closed.open_keys.height == 0

    cut, _ = run(tmp_path / "m", _open_log(), options=options(gls_max_duration=240))
    s = cut.tables["G_LOGIN_SESSION"].sort("CREATED")
    assert rows(s, "ETL_LOGIN_CODE", "STATE", "TERMINATED", "ETL_CLOSED_BY") == [
        ("a1", 2, utc("07:04:01.000"), "gls_max_duration"), ("a2", 1, None, None)]
    # nothing after the cut is recorded; the T-Server login is still open, so its events are
    # still carried (open key) while the IDB rows are final (status not open)
    assert history(cut, "ETL_CLOSED_BY")[2:] == [
        ("7001", 3, T.STATE, S.NULL, S.READY, None, 1, utc("07:04:01.000"), "gls_max_duration"),
        ("7003", 1, T.STATE, S.READY, S.NULL, None, 1, utc("07:10:00.000"), None)]
    assert cut.tables["G_AGENT_STATE_RC"].height == cut.tables["G_DND_HISTORY"].height == 0
    assert dict(cut.status.select("entity", "open").rows())[a1] is False and a1 in cut.open_keys["key"].to_list()


def test_gls_enumerations_are_in_the_dictionary():
    types = dict_type_frame()
    assert {1101, 1102, 1103, 1104, 1105} <= set(types["ID"])
    values = dictionary_frame().filter(pl.col("TYPE_ID") == 1102)
    assert sorted(values["ID"]) == [-1, 0, 5, 6, 7, 8, 9]


# ------------------------------------------------------------------------------------------------
# a simulated run: hour by hour with the carry == at once; agreement with the ground truth
# ------------------------------------------------------------------------------------------------

SIM_CUSTOM_STATES = {"AgentRecordUserTypes": AGENT_RECORD_USER_TYPES,
                     "AgentUserFields": "char,USERFIELD_1,FocusApp", "store-event-data": "all"}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("gls_sim")
    simulate(root, profile="small", hours=3)
    parse_to_parquet([root / "logs"], root / "parsed", workers=1)
    events, kvpairs = with_sources(root / "parsed")
    return root, events, kvpairs, load_snapshot(root / "config.json")


def _whole(simulated, opts=None, dss_ends=None):
    root, events, kvpairs, config = simulated
    parties = build_gcc(events, kvpairs, config, "day").tables["G_PARTY"]
    return build_gls(events, kvpairs, config, "day", opts, parties=parties, dss_ends=dss_ends)


def _hour_by_hour(simulated, opts=None, dss_ends=None) -> dict[str, pl.DataFrame]:
    """As transforms/roles/hour.run_hour: carried events + the hour's, build, carry out; gcc runs the
    same way and its G_PARTY rows so far are the PARTYID lookup. A later hour's rows of an entity
    replace the earlier ones."""
    _root, events, kvpairs, config = simulated
    # as SegmentStore.slice_hour: an event without a time (a request whose `message` line opens
    # the next segment, hazard H11) is in no hour
    events = events.filter(pl.col("ts").is_not_null()).with_columns(
        _hour=pl.col("ts").dt.truncate("1h"))
    carry_gls, carry_gcc = Window.empty(), Window.empty()
    written: dict[str, list] = {name: [] for name in GLS_TABLES}
    status, parties = [], []
    for hour in sorted(events["_hour"].unique()):
        ev = events.filter(pl.col("_hour") == hour).drop("_hour")
        w = Window(ev, kvpairs.join(ev.select("file_id", "line"), on=["file_id", "line"],
                                    how="semi"))
        part = hour.strftime("%Y-%m-%d-%H:%M")
        wg = carry_gcc + w
        gcc = build_gcc(wg.events, wg.kvpairs, config, part)
        carry_gcc = carry_out(wg, gcc.open_keys, gcc.event_keys)
        parties.append(gcc.tables["G_PARTY"].with_columns(_p=pl.lit(part)))
        known = pl.concat(parties).sort("_p").group_by("PARTYID").agg(pl.all().last())
        wl = carry_gls + w
        r = build_gls(wl.events, wl.kvpairs, config, part, opts, parties=known, dss_ends=dss_ends)
        carry_gls = carry_out(wl, r.open_keys, r.event_keys)
        status.append(r.status.with_columns(_p=pl.lit(part)))
        for name in GLS_TABLES:
            written[name].append(r.tables[name])
    latest = (pl.concat(status).group_by("entity").agg(_last=pl.col("_p").max())
              .rename({"entity": "ETL_ENTITY"}))
    return {name: pl.concat(frames).join(latest, on="ETL_ENTITY")
            .filter(pl.col("ETL_PARTITION") == pl.col("_last")).drop("_last")
            for name, frames in written.items()}


def test_the_roles_read_only_the_event_columns_they_declare(simulated):
    """The pipeline reads the roles' windows with their EVENT_COLUMNS only (the memory of
    a busy window): they give every row and value they give from every column."""
    root, events, kvpairs, config = simulated
    opts = IconOptions({**options().values, "custom-states": SIM_CUSTOM_STATES})
    gcc = build_gcc(events, kvpairs, config, "day")
    parties = gcc.tables["G_PARTY"]
    spec = spec_from_options(load_options(Path(__file__).parents[1] / "examples"
                                          / "icon-options.toml"))
    assert spec.secure_keys
    for build, columns in (
            (lambda ev: build_gcc(ev, kvpairs, config, "day"), GCC_EVENT_COLUMNS),
            (lambda ev: build_gls(ev, kvpairs, config, "day", opts, parties=parties),
             GLS_EVENT_COLUMNS),
            (lambda ev: build_gud(ev, kvpairs, config, gcc, spec, "all", "day"),
             GUD_EVENT_COLUMNS)):
        every, declared = build(events), build(events.select(columns))
        assert set(every.tables) == set(declared.tables)
        assert sum(f.height for f in every.tables.values()) > 0
        for name, frame in every.tables.items():     # (some tables come in no set order)
            assert frame.sort(frame.columns).equals(
                declared.tables[name].sort(frame.columns)), name
        assert every.status.sort("entity").equals(declared.status.sort("entity"))


@pytest.mark.parametrize("max_duration, dss_end", [(0, False), (1800, False), (0, True)])
def test_hour_by_hour_with_carry_equals_the_whole_window(simulated, max_duration, dss_end):
    # with the custom states and user events the simulated desktops send (test_custom_states.py)
    opts = IconOptions({**options(gls_max_duration=max_duration).values,
                        "custom-states": SIM_CUSTOM_STATES})
    ends = None
    if dss_end:   # every T-Server's data source session ends with its last event
        ends = simulated[1].sort("ts").group_by("dss_id").agg(end_ts=pl.col("ts").last(),
                                                              end_src=pl.col("src").last())
    whole = _whole(simulated, opts, ends).tables
    hourly = _hour_by_hour(simulated, opts, ends)
    closed = whole["G_LOGIN_SESSION"]["ETL_CLOSED_BY"]
    assert closed.null_count() < closed.len() or not (max_duration or dss_end)
    hist = whole["G_AGENT_STATE_HISTORY"]
    assert hist["CALLID"].null_count() < hist.height
    assert hist["PARTYID"].null_count() == hist["CALLID"].null_count()   # every party was found
    assert set(hourly["G_LOGIN_SESSION"]["ETL_PARTITION"]) != {"day"}
    for name in GLS_TABLES:
        a = whole[name].drop("ETL_PARTITION").sort("ID")
        b = hourly[name].drop("ETL_PARTITION").sort("ID")
        assert a.height > 0 or name == "G_AGENT_STATE_RC_A", name
        assert a.equals(b), name


def test_simulated_run_agrees_with_the_ground_truth(simulated):
    root = simulated[0]
    tables = _whole(simulated).tables
    report = compare_agents(tables, root / "truth")
    assert report["all_agree"], report["disagreements"]
    checks = report["checks"]
    for name in ("busy interval (dn, call, connected, disconnected)", "state interval state",
                 "reason code row (dn, hwflag, key, value, created, terminated)",
                 "DND interval (dn, on, off)", "state hardware reason", "session logout"):
        assert checks[name]["total"] > 0, name
    # the comparison does see a wrong table
    dnd = tables["G_DND_HISTORY"]
    moved = {**tables, "G_DND_HISTORY": dnd.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("TERMINATED") + pl.duration(seconds=1))
        .otherwise(pl.col("TERMINATED")).alias("TERMINATED"))}
    bad = compare_agents(moved, root / "truth")
    assert not bad["all_agree"]
    assert bad["checks"]["DND interval (dn, on, off)"]["agree"] == \
        bad["checks"]["DND interval (dn, on, off)"]["total"] - 1
    hist = tables["G_AGENT_STATE_HISTORY"]
    one = hist.filter(pl.col("TYPE") == int(T.CALL_DISCONNECTED))["ID"][0]
    dropped = {**tables, "G_AGENT_STATE_HISTORY": hist.filter(pl.col("ID") != one)}
    worse = compare_agents(dropped, root / "truth")["checks"]
    busy = worse["busy interval (dn, call, connected, disconnected)"]
    assert busy["agree"] == busy["total"] - 1
