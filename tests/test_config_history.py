"""A folder of dated configuration snapshots is a configuration history (docs/config-snapshot.md,
"A folder of snapshots: configuration history"): the GC_* / GCX_* tables keep CREATED, DELETED,
LASTCHANGE, STATUS and STATE as objects appear, change and go, and each hour's rows are resolved
with the snapshot valid at the hour's start.

The history of the tests: t1 the base; t2 adds an agent (person 3002 with login 4002, who also
replaces 3001 in agent group 6001) and retypes DN 7001 from Extension to ACDPosition; t3 deletes
place 5002 (with its DN association), disables DN 7002 and puts 3001 back in group 6001."""

from __future__ import annotations

import copy
import json
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from transforms.config import ConfigError, ConfigHistory, ConfigSnapshot, load_snapshot
from transforms.idb.dictionary import DnType, ObjectState, RecordStatus

ACTIVE, GONE = int(RecordStatus.ACTIVE), int(RecordStatus.INACTIVE)
ENABLED, DISABLED = int(ObjectState.ENABLED), int(ObjectState.DISABLED)
EXTENSION, ACD_POSITION = int(DnType.EXTENSION), int(DnType.ACD_POSITION)

T1 = datetime(2026, 3, 9, 0, 0)
T2 = datetime(2026, 3, 10, 6, 30)        # inside the hour 06:00: valid from the hour 07:00
T3 = datetime(2026, 3, 10, 8, 0)

BASE = {
    "format": "icon-etl-config/1",
    "tenants": [{"dbid": 101, "name": "Resources"}],
    "switches": [{"dbid": 1, "name": "SW_TEST", "tenant_dbid": 101, "tserver": "TS_TEST"}],
    "dns": [{"dbid": 1001, "number": "7001", "switch_dbid": 1, "type": "Extension",
             "tenant_dbid": 101},
            {"dbid": 1002, "number": "7002", "switch_dbid": 1, "type": "Extension",
             "tenant_dbid": 101}],
    "persons": [{"dbid": 3001, "employee_id": "agent001", "user_name": "agent001",
                 "tenant_dbid": 101}],
    "agent_logins": [{"dbid": 4001, "login_code": "agent001", "switch_dbid": 1,
                      "person_dbid": 3001}],
    "places": [{"dbid": 5001, "name": "Place_7001", "dn_dbids": [1001], "person_dbid": 3001},
               {"dbid": 5002, "name": "Place_7002", "dn_dbids": [1002]}],
    "agent_groups": [{"dbid": 6001, "name": "VAG_Sales", "person_dbids": [3001]}],
    "fields": [{"dbid": 8301, "name": "pin", "icon_attribute": 2}],
}


def iso(moment: datetime) -> str:
    return moment.replace(tzinfo=timezone.utc).isoformat()


def snapshots() -> dict[str, dict]:
    """file name -> document of the three snapshots."""
    t1 = {**copy.deepcopy(BASE), "exported_at": iso(T1)}
    t2 = {**copy.deepcopy(t1), "exported_at": iso(T2)}
    t2["dns"][0]["type"] = "ACDPosition"
    t2["persons"].append({"dbid": 3002, "employee_id": "agent002", "user_name": "agent002",
                          "tenant_dbid": 101})
    t2["agent_logins"].append({"dbid": 4002, "login_code": "agent002", "switch_dbid": 1,
                               "person_dbid": 3002})
    t2["agent_groups"][0]["person_dbids"] = [3002]
    del t2["fields"]                     # a field secure once stays masked
    t3 = {**copy.deepcopy(t2), "exported_at": iso(T3)}
    t3["places"] = [p for p in t3["places"] if p["dbid"] != 5002]
    t3["dns"][1]["state"] = "disabled"
    t3["agent_groups"][0]["person_dbids"] = [3001, 3002]
    # the file names do not order the snapshots: exported_at does
    return {"c_base.json": t1, "b_agent_and_retype.json": t2, "a_place_gone.json": t3}


def write_history(folder: Path, docs: dict[str, dict] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in (docs or snapshots()).items():
        (folder / name).write_text(json.dumps(doc))
    (folder / "README.txt").write_text("not a snapshot: only *.json files are read\n")
    return folder


def rows(frame: pl.DataFrame, columns: list[str]) -> list[tuple]:
    return frame.select(columns).rows()


RECORD = ["STATUS", "CREATED", "LASTCHANGE", "DELETED"]
LINK = ["STATUS", "CREATED", "DELETED"]


# ---- the snapshot of a moment -------------------------------------------------------------------

def test_a_folder_is_a_history_ordered_by_exported_at(tmp_path):
    history = load_snapshot(write_history(tmp_path / "config"))
    assert isinstance(history, ConfigHistory)
    assert [s.path.name for s in history.snapshots] == [
        "c_base.json", "b_agent_and_retype.json", "a_place_gone.json"]
    assert history.exported_at == T3.replace(tzinfo=timezone.utc)

    def name(moment: datetime) -> str:
        return history.at(moment.replace(tzinfo=timezone.utc)).path.name

    assert name(datetime(2026, 3, 1)) == "c_base.json"          # before the first: the first
    assert name(T1) == name(datetime(2026, 3, 10, 6, 29, 59)) == "c_base.json"
    assert name(T2) == name(datetime(2026, 3, 10, 7)) == "b_agent_and_retype.json"
    assert name(T3) == name(datetime(2026, 4, 1)) == "a_place_gone.json"
    assert history.at(datetime(2026, 3, 10, 7)).endpoints().filter(pl.col("dn") == "7001") \
        ["endpoint_type"].to_list() == [ACD_POSITION]
    # hours are resolved at their start: cut where that snapshot changes
    keys = ["2026-03-10-05:00", "2026-03-10-06:00", "2026-03-10-07:00", "2026-03-10-08:00",
            "2026-03-10-09:00"]
    assert history.split_hours(keys) == [keys[:2], keys[2:3], keys[3:]]
    single = load_snapshot(tmp_path / "config" / "c_base.json")
    assert isinstance(single, ConfigSnapshot) and single.at(T3) is single
    assert single.split_hours(keys) == [keys]


def test_questions_without_a_moment_cover_every_snapshot(tmp_path):
    history = load_snapshot(write_history(tmp_path / "config"))
    assert history.switches()["app"].to_list() == ["TS_TEST"]
    # every object of every snapshot, the newest version of each
    assert sorted(history.endpoints().select("dn", "endpoint_type").rows()) == [
        ("7001", ACD_POSITION), ("7002", EXTENSION)]
    assert sorted(history.logins().select("login_code", "agent_id").rows()) == [
        ("agent001", 3001), ("agent002", 3002)]
    assert sorted(history.places().rows()) == [(1001, 5001), (1002, 5002)]
    assert history.secure_fields() == {"pin"}
    assert history.at(T3).secure_fields() == frozenset()


# ---- GC_* / GCX_* as a slowly changing dimension ------------------------------------------------

def test_gc_tables_keep_created_deleted_lastchange_and_status(tmp_path):
    gc = load_snapshot(write_history(tmp_path / "config")).gc_tables()
    assert rows(gc["GC_ENDPOINT"], ["ID", "DN", "TYPE", "STATE", *RECORD]) == [
        (1001, "7001", ACD_POSITION, ENABLED, ACTIVE, T1, T2, None),      # retyped at t2
        (1002, "7002", EXTENSION, DISABLED, ACTIVE, T1, T3, None),        # disabled at t3
    ]
    assert rows(gc["GC_AGENT"], ["ID", "EMPLOYEEID", *RECORD]) == [
        (3001, "agent001", ACTIVE, T1, T1, None),
        (3002, "agent002", ACTIVE, T2, T2, None),                         # added at t2
    ]
    assert rows(gc["GC_LOGIN"], ["ID", "LOGINCODE", *RECORD]) == [
        (4001, "agent001", ACTIVE, T1, T1, None),
        (4002, "agent002", ACTIVE, T2, T2, None),
    ]
    assert rows(gc["GC_PLACE"], ["ID", "NAME", *RECORD]) == [
        (5001, "Place_7001", ACTIVE, T1, T1, None),
        (5002, "Place_7002", GONE, T1, T3, T3),                           # deleted at t3
    ]
    assert rows(gc["GC_GROUP"], ["ID", *RECORD]) == [(6001, ACTIVE, T1, T1, None)]
    assert rows(gc["GC_SWITCH"], ["ID", *RECORD]) == [(1, ACTIVE, T1, T1, None)]
    # the time triples agree with each other
    place = gc["GC_PLACE"].row(1, named=True)
    ts = int(T3.replace(tzinfo=timezone.utc).timestamp())
    assert (place["DELETED_TS"], place["DELETED_TCODE"], place["LASTCHANGE_TS"]) == (ts, ts, ts)
    assert place["CREATED_TS"] == int(T1.replace(tzinfo=timezone.utc).timestamp())

    assert rows(gc["GCX_ENDPOINT_PLACE"], ["ID", "ENDPOINTID", "PLACEID", *LINK]) == [
        (1, 1001, 5001, ACTIVE, T1, None),
        (2, 1002, 5002, GONE, T1, T3),
    ]
    assert rows(gc["GCX_AGENT_LOGIN"], ["ID", "AGENTID", "LOGINID", *LINK]) == [
        (1, 3001, 4001, ACTIVE, T1, None),
        (2, 3002, 4002, ACTIVE, T2, None),
    ]
    # 3001 left the group at t2 and came back at t3: a new row, the old one kept
    assert rows(gc["GCX_GROUP_AGENT"], ["ID", "GROUPID", "AGENTID", *LINK]) == [
        (1, 6001, 3001, GONE, T1, T2),
        (2, 6001, 3001, ACTIVE, T3, None),
        (3, 6001, 3002, ACTIVE, T2, None),
    ]
    assert rows(gc["GCX_AGENT_PLACE"], ["ID", "AGENTID", "PLACEID", *LINK]) == [
        (1, 3001, 5001, ACTIVE, T1, None)]


def test_an_object_that_comes_back_is_reactivated(tmp_path):
    docs = snapshots()
    # agent001 (person, login, place owner, group member) is gone at t2 and back at t3
    t2 = docs["b_agent_and_retype.json"]
    t2["persons"] = [p for p in t2["persons"] if p["dbid"] != 3001]
    t2["agent_logins"] = [lg for lg in t2["agent_logins"] if lg["dbid"] != 4001]
    del t2["places"][0]["person_dbid"]
    gc = load_snapshot(write_history(tmp_path / "config", docs)).gc_tables()
    assert rows(gc["GC_AGENT"], ["ID", *RECORD]) == [
        (3001, ACTIVE, T1, T3, None),        # back: active, DELETED null, LASTCHANGE its return
        (3002, ACTIVE, T2, T2, None)]
    assert rows(gc["GCX_AGENT_LOGIN"], ["ID", "AGENTID", *LINK]) == [
        (1, 3001, GONE, T1, T2), (2, 3001, ACTIVE, T3, None), (3, 3002, ACTIVE, T2, None)]


def test_a_single_snapshot_is_a_history_of_one_moment(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, "exported_at": iso(T1)}))
    gc = load_snapshot(path).gc_tables()
    assert rows(gc["GC_PLACE"], ["ID", "STATE", *RECORD]) == [
        (5001, ENABLED, ACTIVE, T1, T1, None), (5002, ENABLED, ACTIVE, T1, T1, None)]
    assert rows(gc["GCX_ENDPOINT_PLACE"], ["ID", "ENDPOINTID", *LINK]) == [
        (1, 1001, ACTIVE, T1, None), (2, 1002, ACTIVE, T1, None)]
    # no exported_at: no times, as before
    path.write_text(json.dumps(BASE))
    assert rows(load_snapshot(path).gc_tables()["GC_TENANT"], ["ID", *RECORD]) == [
        (101, ACTIVE, None, None, None)]


# ---- what is refused ----------------------------------------------------------------------------

def test_a_snapshot_of_the_folder_without_exported_at_is_refused(tmp_path):
    docs = snapshots()
    del docs["b_agent_and_retype.json"]["exported_at"]
    folder = write_history(tmp_path / "config", docs)
    with pytest.raises(ConfigError, match="exported_at' is missing") as err:
        load_snapshot(folder)
    assert str(err.value).startswith(f"{folder / 'b_agent_and_retype.json'}: ")


def test_two_snapshots_of_one_moment_are_refused(tmp_path):
    docs = snapshots()
    # the same instant written in another time zone
    docs["a_place_gone.json"]["exported_at"] = "2026-03-10T07:30:00+01:00"
    folder = write_history(tmp_path / "config", docs)
    with pytest.raises(ConfigError, match="two snapshots of one moment") as err:
        load_snapshot(folder)
    assert "b_agent_and_retype.json" in str(err.value) and "a_place_gone.json" in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not a readable JSON configuration snapshot"),
    (json.dumps({**BASE, "exported_at": iso(T2),
                 "dns": [{**BASE["dns"][0], "state": "off"}]}),
     "dns[0].state = 'off': must be \"enabled\" or \"disabled\""),
])
def test_a_bad_file_in_the_folder_is_named(tmp_path, text, message):
    folder = write_history(tmp_path / "config")
    (folder / "d_broken.json").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_snapshot(folder)
    assert str(err.value).startswith(f"{folder / 'd_broken.json'}: ") and message in str(err.value)


def test_a_folder_without_snapshots_is_refused(tmp_path):
    (tmp_path / "config").mkdir()
    with pytest.raises(ConfigError, match="holds no \\*.json file"):
        load_snapshot(tmp_path / "config")


# ---- through `icon-etl load`: each hour resolved with its snapshot ------------------------------

CALL_BEFORE, CALL_AFTER = "AAAAAAAAAAAAAAAAAAAAAAAAHIST0001", "AAAAAAAAAAAAAAAAAAAAAAAAHIST0002"


def two_hours_of_calls(folder: Path) -> Path:
    """Two calls answered on DN 7001 by agent002: at 06:40 UTC (after t2, in the hour 06:00
    that starts before it) and at 07:01 UTC (the first hour that starts after t2)."""
    from tests.logtext import CallLog

    logs = folder / "logs"
    logs.mkdir()
    log = CallLog("TS_TEST")
    for start, uuid, conn in ((2400, CALL_BEFORE, "006c00000000a101"),
                              (3660, CALL_AFTER, "006c00000000a102")):
        for dt, name in ((0, "EventRinging"), (2, "EventEstablished"), (30, "EventReleased")):
            log.call(start + dt, name, uuid, conn, "7001", other="5550101", other_role=1,
                     agent="agent002")
    (logs / "TS_TEST.20260310_070000_000.log").write_text(log.text())
    return logs


def test_each_hour_is_resolved_with_the_configuration_valid_at_its_start(tmp_path):
    from tests import badinput as bi

    logs = two_hours_of_calls(tmp_path)
    config = write_history(tmp_path / "config")
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    result = bi.run_cli(["load", "--logs", logs, "--idb", url, "--config", config,
                         "--no-checks"], tmp_path / "home")
    assert result.rc == 0, result.stderr[-2000:]
    parties = (bi.idb_table(url, "G_PARTY").filter(pl.col("ENDPOINTDN") == "7001")
               .sort("CALLID"))
    # one chunk of the two hours is cut at t2: the call of 06:40 has t1's DN type and no
    # agent002 yet, the call of 07:01 t2's
    assert rows(parties, ["CALLID", "ETL_PARTITION", "ENDPOINTID", "ENDPOINTTYPE", "AGENTID"]) == [
        (CALL_BEFORE, "2026-03-10-06:00", 1001, EXTENSION, None),
        (CALL_AFTER, "2026-03-10-07:00", 1001, ACD_POSITION, 3002),
    ]
    # the reference tables are the history's
    assert rows(bi.idb_table(url, "GC_PLACE"), ["ID", *RECORD]) == [
        (5001, ACTIVE, T1, T1, None), (5002, GONE, T1, T3, T3)]
    assert rows(bi.idb_table(url, "GCX_GROUP_AGENT"), ["ID", "AGENTID", *LINK]) == [
        (1, 3001, GONE, T1, T2), (2, 3001, ACTIVE, T3, None), (3, 3002, ACTIVE, T2, None)]


def test_icon_etl_load_refuses_a_bad_folder_naming_the_file(tmp_path):
    from tests import badinput as bi

    docs = snapshots()
    del docs["a_place_gone.json"]["exported_at"]
    config = write_history(tmp_path / "config", docs)
    home, idb = tmp_path / "home", tmp_path / "idb.sqlite"
    result = bi.run_cli(["load", "--logs", two_hours_of_calls(tmp_path), "--idb",
                         f"sqlite:///{idb}", "--config", config], home)
    assert result.rc == 2 and bi.no_traceback(result.stderr), result.stderr[-2000:]
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"icon-etl load: {config / 'a_place_gone.json'}: 'exported_at' is "
                           f"missing"), line
    assert not idb.exists()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_an_idb_made_before_the_history_columns_gets_them_and_keeps_its_views(
        tmp_path, engine, request):
    import sqlalchemy as sa

    from transforms.idb import IdbStore

    context = (nullcontext(f"sqlite:///{tmp_path / 'old.sqlite'}") if engine == "sqlite"
               else _pg_url(request.getfixturevalue("pg_server")))
    with context as url:
        old = sa.create_engine(url)
        with old.begin() as conn:       # GC_TENANT and GCX_AGENT_PLACE as icon-etl made them
            conn.execute(sa.text("CREATE TABLE GC_TENANT (ID integer NOT NULL, NAME varchar(255), "
                                 "STATE integer, STATUS integer, CREATED timestamp, "
                                 "CREATED_TS integer, CREATED_TCODE integer)"))
            conn.execute(sa.text("INSERT INTO GC_TENANT (ID, NAME) VALUES (101, 'old')"))
            conn.execute(sa.text("CREATE VIEW TENANTS AS SELECT ID, NAME FROM GC_TENANT"))
            conn.execute(sa.text("CREATE TABLE GCX_AGENT_PLACE (AGENTID integer, PLACEID "
                                 "integer, STATUS integer, CREATED timestamp, CREATED_TS "
                                 "integer, CREATED_TCODE integer)"))
            conn.execute(sa.text("CREATE UNIQUE INDEX ux_gcx_agent_place_key ON "
                                 "GCX_AGENT_PLACE (AGENTID, PLACEID)"))
        old.dispose()
        store = IdbStore(url)
        store.create_schema()
        inspector = sa.inspect(store.engine)
        name = {n.upper(): n for n in inspector.get_table_names()}
        columns = {c["name"].upper() for c in inspector.get_columns(name["GC_TENANT"])}
        assert {"DELETED", "LASTCHANGE", "DELETED_TS", "LASTCHANGE_TS"} <= columns
        assert store.read("GC_TENANT")["NAME"].to_list() == ["old"]     # rows and view kept
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT NAME FROM TENANTS")).scalar_one() == "old"
        key = {i["name"].lower(): [c.upper() for c in i["column_names"]]
               for i in inspector.get_indexes(name["GCX_AGENT_PLACE"])}["ux_gcx_agent_place_key"]
        assert key == ["ID"]            # a pair may now come back (a new row, a new ID)
        # the reference asset then writes the history whole
        store.replace_all(ConfigSnapshot(None, {"format": "icon-etl-config/1", "tenants": [
            {"dbid": 101, "name": "Resources"}]}, None).gc_tables())
        assert store.read("GC_TENANT")["NAME"].to_list() == ["Resources"]
        store.create_schema()                         # an up-to-date table is left alone
        store.engine.dispose()


@contextmanager
def _pg_url(server):
    """A new PostgreSQL database's URL (dropped afterwards)."""
    with server.database("icon_cfg_old") as name:
        yield server.url(name)
