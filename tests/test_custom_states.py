"""Custom agent states and user events ([custom-states] → G_CUSTOM_STATES, G_CUSTOM_DATA_P,
G_CUSTOM_DATA_S, built by the gls role): hand-written scenarios with the exact rows expected, the
options' checks, an hour split whose later data replaces an open state, hour by hour == at once
on a simulated run with states closed artificially (tests/test_gls.py's equivalence test also
runs with custom states on), and the comparison with the simulator's ground truth
(docs/semantics.md §8 "Custom states and user events")."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest

from simulator.compare import compare_agents
from simulator.tlib import kv_attr
from tests.test_gls import (
    APP,
    CONFIG,
    CONN,
    SIM_CUSTOM_STATES,
    U1,
    Log,
    _hour_by_hour,
    _whole,
    load,
    rows,
    run,
    simulated,  # noqa: F401  (the sim fixture)
    utc,
)
from transforms.config import ConfigSnapshot, IconOptions, OptionsError, load_options
from transforms.idb import table
from transforms.roles import CUSTOM_TABLES, GLS_TABLES, Window, build_gls, carry_out

STATES = "208,CS_Break,209,CS_Coaching"
FIELDS = "char,USERFIELD_1,Topic,int,userfield_2,Score"
STATE_COLUMNS = ("ENDPOINTDN", "STATECODE", "STATEKEY", "CREATED", "TERMINATED", "USERFIELD_1",
                 "USERFIELD_2", "ETL_CLOSED_BY")


def custom(**values) -> IconOptions:
    return IconOptions({"custom-states": {k.replace("_", "-") if k.startswith("store") else k: v
                                          for k, v in values.items()}})


def user_event(log: Log, time: str, dn: str, data: dict | None = None, agent: str | None = "a1",
               call: str | None = None, conn_only: bool = False, ext: dict | None = None) -> Log:
    attrs = [("AttributeThisDN", f"'{dn}'")]
    if agent:
        attrs.append(("AttributeAgentID", f"'{agent}'"))
    if call:
        attrs.append(("AttributeConnID", CONN[call]))
        if not conn_only:
            attrs.append(("AttributeCallUUID", f"'{call}'"))
    kv = []
    if data is not None:
        kv += kv_attr("AttributeUserData", data).splitlines()
    if ext is not None:
        kv += kv_attr("AttributeExtensions", ext).splitlines()
    return log.add(time, "EventUserEvent", attrs, kv)


def states(result, *extra: str) -> list[tuple]:
    return rows(result.tables["G_CUSTOM_STATES"], *STATE_COLUMNS, *extra,
                sort=("ENDPOINTDN", "CREATED", "STATECODE"))


# ------------------------------------------------------------------------------------------------
# custom states
# ------------------------------------------------------------------------------------------------

def _states_log() -> Log:
    log = (Log()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:02.000", "EventAgentReady", "7001", wm=1))
    user_event(log, "07:01:00.000", "7001", {"Topic": "before"})          # no state on: no field
    user_event(log, "07:02:00.000", "7001", {"CS_Coaching": "+", "Topic": "onboarding"})
    user_event(log, "07:02:30.000", "7001", {"CS_Coaching": "+"})          # already on: ignored
    user_event(log, "07:03:00.000", "7001", {"Topic": "billing", "Score": 7})
    user_event(log, "07:04:00.000", "7001", {"CS_Break": "+"})
    user_event(log, "07:05:00.000", "7001", {"CS_Coaching": "-", "Score": 9})
    user_event(log, "07:06:00.000", "7001", {"Topic": "late", "Nested": {"Topic": "x"}})
    user_event(log, "07:07:00.000", "7001", {"CS_Break": "-"})
    user_event(log, "07:07:30.000", "7001", {"CS_Break": "-"})             # already off: ignored
    user_event(log, "07:08:00.000", "7001", {"CS_Other": "+", "CS_Break": "later"})  # not states
    return log.agent("07:09:00.000", "EventAgentLogout", "7001", wm=0)


def test_custom_states_start_end_and_user_fields(tmp_path):
    r, events = run(tmp_path, _states_log(),
                    options=custom(AgentRecordUserTypes=STATES, AgentUserFields=FIELDS))
    sid = r.tables["G_LOGIN_SESSION"]["LOGINSESSIONID"][0]
    # the fields hold the last value sent from the state's start event to its end event
    assert states(r) == [
        ("7001", 209, "CS_Coaching", utc("07:02:00.000"), utc("07:05:00.000"), "billing", "9",
         None),
        ("7001", 208, "CS_Break", utc("07:04:00.000"), utc("07:07:00.000"), "late", "9", None)]
    cs = r.tables["G_CUSTOM_STATES"]
    assert set(cs["LOGINSESSIONID"]) == set(cs["ETL_ENTITY"]) == {sid}
    assert set(cs["AGENTID"]) == {3001} and set(cs["ENDPOINTID"]) == {1001}
    assert cs["CALLID"].null_count() == cs["PARTYID"].null_count() == cs["PSEQ"].null_count() == 2
    src = dict(zip(events["ts"].dt.replace_time_zone(None).dt.cast_time_unit("ms"), events["src"]))
    assert rows(cs, "ETL_SOURCE", "ETL_SOURCE_LAST", sort=("CREATED",)) == [
        (src[utc("07:02:00.000")], src[utc("07:05:00.000")]),
        (src[utc("07:04:00.000")], src[utc("07:07:00.000")])]
    assert cs["ID"].n_unique() == 2
    # store-event-data none (default): no custom data; the user events travel with the session
    assert r.tables["G_CUSTOM_DATA_P"].height == r.tables["G_CUSTOM_DATA_S"].height == 0
    assert r.event_keys.height == events.height and set(r.event_keys["key"]) == {sid}
    assert r.status.select("entity", "open").rows() == [(sid, False)]
    # without AgentRecordUserTypes nothing is recorded
    plain, _ = run(tmp_path / "plain", _states_log())
    assert all(plain.tables[name].height == 0 for name in CUSTOM_TABLES)


def _closure_log() -> Log:
    """a1 on two DNs: a break on 7001 still on at its logout; coaching on 7002 still on at the
    end of the data; a '-' after the logout of 7001, outside the session."""
    log = (Log()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:01.010", "EventAgentLogin", "7002", wm=0))
    user_event(log, "07:01:00.000", "7001", {"CS_Break": "+"})
    user_event(log, "07:02:00.000", "7002", {"CS_Coaching": "+", "Topic": "new hire"})
    log.agent("07:05:00.000", "EventAgentLogout", "7001", wm=0)
    user_event(log, "07:06:00.000", "7001", {"CS_Break": "-"})
    return log.agent("07:07:00.000", "EventAgentReady", "7002", wm=1)


def test_custom_state_closed_by_logout_open_at_end_and_closed_by_dss_end(tmp_path):
    opts = custom(AgentRecordUserTypes=STATES, AgentUserFields=FIELDS)
    r, events = run(tmp_path, _closure_log(), options=opts)
    sid = r.tables["G_LOGIN_SESSION"]["LOGINSESSIONID"][0]
    # the logout closes the break (an artificial end: the rule is named); the coaching state is
    # still on at the end of the data: open, provisional
    assert states(r, "LOGINSESSIONID") == [
        ("7001", 208, "CS_Break", utc("07:01:00.000"), utc("07:05:00.000"), None, None, "logout",
         sid),
        ("7002", 209, "CS_Coaching", utc("07:02:00.000"), None, "new hire", None, None, sid)]
    assert r.status.select("entity", "open").rows() == [(sid, True)] and r.open_keys["key"].to_list() == [sid]
    # the '-' after the logout of 7001 belongs to no session: not carried
    assert r.event_keys.height == events.height - 1
    ends = pl.DataFrame({"dss_id": [events["dss_id"][0]], "end_ts": [events["ts"].max()],
                         "end_src": [events.sort("ts")["src"][-1]]})
    closed, _ = run(tmp_path / "d", _closure_log(), options=opts, dss_ends=ends)
    assert states(closed)[1] == (
        "7002", 209, "CS_Coaching", utc("07:02:00.000"), utc("07:07:00.000"), "new hire", None,
        "dss_end")


def test_later_data_replaces_the_open_state(tmp_path):
    """Hour 1 ends with the coaching state on; hour 2 (the carried session + its new events)
    closes it: the session's rows of hour 2 replace those of hour 1 (same IDs, same entity)."""
    log = _closure_log()
    user_event(log, "07:08:00.000", "7002", {"CS_Coaching": "-", "Topic": "done"})
    log.agent("07:09:00.000", "EventAgentLogout", "7002", wm=0)
    opts = custom(AgentRecordUserTypes=STATES, AgentUserFields=FIELDS)
    whole, events = run(tmp_path, log, options=opts)
    kvpairs = pl.read_parquet(tmp_path / "parsed" / "kvpairs" / "*.parquet")
    config = ConfigSnapshot(None, CONFIG, None)
    cut = pl.col("ts") < pl.lit(utc("07:07:30.000")).dt.replace_time_zone("UTC")
    first = Window(events.filter(cut), kvpairs).keep(events.filter(cut))
    h1 = build_gls(first.events, first.kvpairs, config, "h1", opts)
    assert states(h1)[1][4] is None                       # open at the end of hour 1
    rest = Window(events.filter(~cut), kvpairs).keep(events.filter(~cut))
    second = carry_out(first, h1.open_keys, h1.event_keys) + rest
    h2 = build_gls(second.events, second.kvpairs, config, "h2", opts)
    assert states(h2) == [
        ("7001", 208, "CS_Break", utc("07:01:00.000"), utc("07:05:00.000"), None, None, "logout"),
        ("7002", 209, "CS_Coaching", utc("07:02:00.000"), utc("07:08:00.000"), "done", None, None)]
    before, after = (h.tables["G_CUSTOM_STATES"].sort("ID") for h in (h1, h2))
    assert before["ID"].to_list() == after["ID"].to_list()
    assert set(before["ETL_ENTITY"]) == set(after["ETL_ENTITY"]) == set(h1.open_keys["key"])
    assert h2.status["open"].to_list() == [False]
    assert after.drop("ETL_PARTITION").equals(
        whole.tables["G_CUSTOM_STATES"].sort("ID").drop("ETL_PARTITION"))


# ------------------------------------------------------------------------------------------------
# user event data: G_CUSTOM_DATA_P / G_CUSTOM_DATA_S
# ------------------------------------------------------------------------------------------------

def _data_log() -> Log:
    """User events on a call (with its CallUUID, with its ConnID only), without a call, outside
    any session (7003 is not logged in), with a KV-list value and with Extensions."""
    log = (Log()
           .agent("07:00:01.000", "EventAgentLogin", "7001", wm=0)
           .agent("07:00:02.000", "EventAgentReady", "7001", wm=1)
           .call("07:01:00.000", "EventRinging", "7001", U1)
           .call("07:01:05.000", "EventEstablished", "7001", U1))
    user_event(log, "07:01:10.000", "7001", {"FocusApp": "CRM", "Score": 5}, call=U1)
    user_event(log, "07:01:20.000", "7001", {"FocusApp": "Email", "Nested": {"a": "b"}}, call=U1,
               conn_only=True, ext={"Supervisor": "s1"})
    log.call("07:02:00.000", "EventReleased", "7001", U1)
    user_event(log, "07:03:00.000", "7001", {"FocusApp": "Browser", "CS_Break": "+"})
    user_event(log, "07:03:30.000", "7003", {"FocusApp": "Idle"}, agent=None)
    return log.agent("07:04:00.000", "EventAgentLogout", "7001", wm=0)


DATA_S = ("ADDED", "KEYNAME", "VALUE", "SOURCE", "CALLID", "PARTYID", "ENDPOINTDN", "ENDPOINTID",
          "AGENTID")


@pytest.mark.parametrize("store", ["none", "all", "conf"])
def test_store_event_data_modes(tmp_path, store):
    opts = custom(AgentRecordUserTypes=STATES, store_event_data=store,
                  EventData="char,FocusApp", EventData_1="int,Score",
                  store_event_extensions="all")
    r, _ = run(tmp_path, _data_log(), with_parties=True, options=opts)
    sid = r.tables["G_LOGIN_SESSION"]["LOGINSESSIONID"][0]
    p1 = f"{U1}.1"                                           # the PARTYGUID of 7001 in U1
    userdata = {
        "all": [(utc("07:01:10.000"), "FocusApp", "CRM", 1, U1, p1, "7001", 1001, 3001),
                (utc("07:01:10.000"), "Score", "5", 1, U1, p1, "7001", 1001, 3001),
                (utc("07:01:20.000"), "FocusApp", "Email", 1, U1, p1, "7001", 1001, 3001),
                (utc("07:03:00.000"), "CS_Break", "+", 1, None, None, "7001", 1001, 3001),
                (utc("07:03:00.000"), "FocusApp", "Browser", 1, None, None, "7001", 1001, 3001),
                (utc("07:03:30.000"), "FocusApp", "Idle", 1, None, None, "7003", 1003, None)],
        "conf": [(utc("07:01:10.000"), "FocusApp", "CRM", 1, U1, p1, "7001", 1001, 3001),
                 (utc("07:01:10.000"), "Score", "5", 1, U1, p1, "7001", 1001, 3001),
                 (utc("07:01:20.000"), "FocusApp", "Email", 1, U1, p1, "7001", 1001, 3001),
                 (utc("07:03:00.000"), "FocusApp", "Browser", 1, None, None, "7001", 1001, 3001),
                 (utc("07:03:30.000"), "FocusApp", "Idle", 1, None, None, "7003", 1003, None)],
        "none": []}[store]
    extensions = [(utc("07:01:20.000"), "Supervisor", "s1", 3, U1, p1, "7001", 1001, 3001)]
    data_s = r.tables["G_CUSTOM_DATA_S"]
    assert rows(data_s, *DATA_S, sort=("ADDED", "SOURCE", "KEYNAME")) == sorted(
        userdata + extensions, key=lambda x: (x[0], x[3], x[1]))
    # one principal record per event with data; the event outside sessions is its own entity
    data_p = r.tables["G_CUSTOM_DATA_P"]
    assert rows(data_p, "ADDED", "CALLID", "PARTYID", "ENDPOINTDN", "LOGINSESSIONID",
                sort=("ADDED",)) == sorted(
        {(x[0], x[4], x[5], x[6], sid if x[6] == "7001" else None) for x in userdata + extensions})
    assert set(data_s["EVENTKEY"]) == set(data_p["EVENTKEY"])
    assert data_p["EVENTKEY"].n_unique() == data_p.height
    lone = data_p.filter(pl.col("ENDPOINTDN") == "7003")
    if store == "none":
        assert lone.height == 0 and r.status.select("entity", "open").rows() == [(sid, False)]
    else:
        key = lone["EVENTKEY"][0]
        assert key.startswith(f"{APP}|7003|") and lone["ETL_ENTITY"][0] == key
        assert sorted(r.status.select("entity", "open").rows()) == sorted([(sid, False), (key, False)])
    assert set(data_p.filter(pl.col("ENDPOINTDN") == "7001")["ETL_ENTITY"]) == {sid}


def test_user_events_without_parties_frame_have_no_partyid(tmp_path):
    r, _ = run(tmp_path, _data_log(), options=custom(store_event_data="all"))
    on_call = r.tables["G_CUSTOM_DATA_P"].filter(pl.col("CALLID").is_not_null())
    assert on_call["CALLID"].to_list() == [U1, U1]          # the ConnID-only event finds U1 too
    assert on_call["PARTYID"].null_count() == 2


# ------------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------------

def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "icon-options.toml"
    path.write_text("[custom-states]\n" + body + "\n")
    return path


@pytest.mark.parametrize("body, message", [
    ('AgentRecordUserTypes = "150,CS_Break"',
     "state code '150' is not an integer greater than 199"),
    ('AgentRecordUserTypes = "208,CS_Break,209"', "3 items do not make whole groups of 2"),
    ('AgentRecordUserTypes = "x208,CS_Break"', "state code 'x208' is not an integer"),
    ('AgentRecordUserTypes = "208,A,208,B"', "state code '208' given more than once"),
    ('AgentRecordUserTypes = "208,A,,209,B"', "an empty item"),
    ('AgentUserFields = "char,CUSTOMER,Topic"', "field 'CUSTOMER' is not a G_CUSTOM_STATES custom "
                                                 "column (USERFIELD_1 … USERFIELD_8)"),
    ('AgentUserFields = "text,USERFIELD_1,Topic"', "type 'text' is not one of char, int"),
    ('AgentRecordUserTypes = "208,CS_Break"\nAgentUserFields = "char,USERFIELD_1,CS_Break"',
     "key 'CS_Break' is a custom state key"),
    ('AgentUserFields = "char,USERFIELD_1,Topic"\nEventData = "char,Topic"',
     "key 'Topic' is also in AgentUserFields"),
    ('EventData = "char,A"\nEventData_2 = "char,B,int"', "EventData (with its continuations)"),
])
def test_bad_custom_states_values_are_refused_with_a_clear_message(tmp_path, body, message):
    path = _write(tmp_path, body)
    with pytest.raises(OptionsError) as err:
        load_options(path)                       # refused when the file is loaded
    assert str(err.value).startswith(f"{path}: [custom-states] ")
    assert message in str(err.value)
    # options made without the loader are refused by build_gls, before building anything
    options = IconOptions(tomllib.loads(path.read_text()), str(path))
    events, kvpairs = load(tmp_path / "x", _states_log().text)
    with pytest.raises(OptionsError, match="custom-states"):
        build_gls(events, kvpairs, ConfigSnapshot(None, CONFIG, None), "p", options)


@pytest.mark.parametrize("body, message", [
    ('store-event-data = "some"', "[custom-states] store-event-data = 'some': allowed values are "
                                  "'none', 'all', 'conf'"),
    ('store-event-extensions = "All"', "store-event-extensions = 'All': allowed values"),
    ('EventData_0 = "char,A"', "unknown option 'EventData_0' in [custom-states]"),
    ('GlobalData = "char,A"', "unknown option 'GlobalData' in [custom-states]"),
    ('AgentRecordUserTypes = 208', "must be a string"),
])
def test_bad_custom_states_options_are_refused_when_loaded(tmp_path, body, message):
    with pytest.raises(OptionsError) as err:
        load_options(_write(tmp_path, body))
    assert message in str(err.value)


def test_good_custom_states_options_parse(tmp_path):
    path = _write(tmp_path, '\n'.join([
        'AgentRecordUserTypes = " 208 , CS_Break, 209,CS_Coaching "',
        'AgentUserFields = "char,userfield_3,Topic,INT,USERFIELD_1,Score"',
        'EventData = "char,A,"', 'EventData_10 = "char,C"', 'EventData_2 = ",int,B"',
        'store-event-data = "conf"', 'EventExtensions = "char,Supervisor"',
        'store-event-extensions = "conf"']))
    s = load_options(path).custom_states()
    assert s.states == ((208, "CS_Break"), (209, "CS_Coaching"))
    assert s.fields == (("USERFIELD_3", "Topic"), ("USERFIELD_1", "Score"))
    assert s.event_data_keys == ("A", "B", "C")            # continuations in numeric order
    assert s.event_data == "conf" and s.event_extension_keys == ("Supervisor",)
    assert IconOptions().custom_states().active is False
    example = load_options(Path(__file__).resolve().parents[1] / "examples"
                           / "icon-options.toml").custom_states()
    assert example.states == ((208, "CS_Break"), (209, "CS_Coaching"))


def test_custom_tables_are_gls_tables():
    assert set(CUSTOM_TABLES) <= set(GLS_TABLES)
    assert {table(name).role for name in CUSTOM_TABLES} == {"gls"}


# ------------------------------------------------------------------------------------------------
# a simulated run: hour by hour == at once with artificial closures; agreement with the truth
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("max_duration, cut, dss_end, closed_by", [
    (2400, False, False, "gls_max_duration"),    # states on at the cut of a long session
    (0, True, True, "dss_end"),                  # data ends at 2/3, the T-Servers' sessions too
    (0, True, False, None),                      # data ends at 2/3: states still on, open
])
def test_hour_by_hour_with_custom_state_closures_equals_the_whole_window(
        simulated, max_duration, cut, dss_end, closed_by):
    root, events, kvpairs, config = simulated
    if cut:
        t = events["ts"].min() + (events["ts"].max() - events["ts"].min()) * 2 / 3
        events = events.filter(pl.col("ts") <= t)
        kvpairs = kvpairs.join(events.select("file_id", "line"), on=["file_id", "line"],
                               how="semi")
    sim = (root, events, kvpairs, config)
    ends = events.sort("ts").group_by("dss_id").agg(
        end_ts=pl.col("ts").last(), end_src=pl.col("src").last()) if dss_end else None
    opts = IconOptions({"gts": {"gls-max-duration": max_duration},
                        "custom-states": SIM_CUSTOM_STATES})
    whole = _whole(sim, opts, ends).tables
    hourly = _hour_by_hour(sim, opts, ends)
    cs = whole["G_CUSTOM_STATES"]
    if closed_by:
        assert cs.filter(pl.col("ETL_CLOSED_BY") == closed_by).height > 0
    else:
        assert cs["TERMINATED"].null_count() > 0 and cs["ETL_CLOSED_BY"].null_count() == cs.height
    for name in CUSTOM_TABLES:
        a = whole[name].drop("ETL_PARTITION").sort("ID")
        b = hourly[name].drop("ETL_PARTITION").sort("ID")
        assert a.height > 0, name
        assert a.equals(b), name


def test_simulated_custom_states_agree_with_the_ground_truth(simulated):
    root, events, kvpairs = simulated[0], simulated[1], simulated[2]
    tables = _whole(simulated, IconOptions({"custom-states": SIM_CUSTOM_STATES})).tables
    report = compare_agents(tables, root / "truth", custom_states=True)
    assert report["all_agree"], report["disagreements"]
    checks = report["checks"]
    print({k: v for k, v in checks.items() if "custom" in k})
    assert checks["custom state interval (dn, code, key, start, end)"]["total"] > 10
    cs = tables["G_CUSTOM_STATES"]
    assert cs["USERFIELD_1"].null_count() < cs.height        # FocusApp sent during some states
    # store-event-data all: a row per user event of a T-Server (OCS logs a client-side copy of
    # the desktop's record requests) and one per top-level key of each, all of them in sessions
    user_events = events.filter((pl.col("message") == "EventUserEvent")
                                & (pl.col("direction") == "event"))
    keys = kvpairs.filter((pl.col("attribute") == "AttributeUserData") & (pl.col("depth") == 2)) \
        .join(user_events.select("file_id", "line"), on=["file_id", "line"], how="semi")
    assert tables["G_CUSTOM_DATA_P"].height == user_events.height
    assert tables["G_CUSTOM_DATA_S"].height == keys.height
    assert keys.height > user_events.height          # the desktop's record requests: several keys
    assert tables["G_CUSTOM_DATA_P"]["LOGINSESSIONID"].null_count() == 0
    # the comparison sees a wrong end and a missing state
    moved = cs.with_columns(pl.when(pl.int_range(pl.len()) == 0)
                            .then(pl.col("TERMINATED") + pl.duration(milliseconds=1))
                            .otherwise(pl.col("TERMINATED")).alias("TERMINATED"))
    bad = compare_agents({**tables, "G_CUSTOM_STATES": moved}, root / "truth", custom_states=True)
    check = bad["checks"]["custom state interval (dn, code, key, start, end)"]
    assert check["agree"] == check["total"] - 1
    gone = compare_agents({**tables, "G_CUSTOM_STATES": cs.clear()}, root / "truth",
                          custom_states=True)
    assert not gone["all_agree"]
    # without custom states configured the check is skipped (auto), or fails when asked for
    plain = _whole(simulated).tables
    assert "custom states (count)" not in compare_agents(plain, root / "truth")["checks"]
    assert not compare_agents(plain, root / "truth", custom_states=True)["all_agree"]
