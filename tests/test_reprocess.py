"""Changing the rules re-processes history (docs/semantics.md §16): the attached-data spec is
edited after a load; the Dagster instance then reports `roles/gud` stale (and nothing else), and
one `icon-etl backfill --changed` over the range rewrites the attached-data tables only: every
other table keeps every row, every column, untouched. A filter changes the gcc writer's tables
only, the same way."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

import tests.badinput as bi
from dagster_project.definitions import build_definitions
from dagster_project.settings import Settings
from tests.test_gcc_options import CONFIG, LOG_NAME, Log, conn, uuid
from transforms.idb import TABLES, IdbStore
from transforms.idb.dictionary import TCallState as TCS
from transforms.roles import ROLE_TABLES

CUST = "+15550001000"
CALLS = [uuid(f"SPEC000{n}") for n in range(1, 4)]
SPEC = """<?xml version="1.0" encoding="UTF-8"?>
<adata-spec xmlns="http://www.genesyslab.com/standards/icon/ed1">
  <public>
{keys}
  </public>
</adata-spec>
"""
OPTIONS = """[callconcentrator]
adata-spec-name = "spec.xml"
adata-userdata-history = "none"
"""
START, END = "2026-03-10T06:00Z", "2026-03-10T07:00Z"


def spec(*keys: str) -> str:
    return SPEC.format(keys="\n".join(f'    <key name="{k}" source="userdata" history="all"/>'
                                      for k in keys))


def calls_with_data() -> Log:
    lg = Log()
    for n, call in enumerate(CALLS):
        c, t = conn(n + 1), 100.0 * n
        lg.created(t, call, c, CUST)
        lg.call(t + 1, "EventQueued", call, c, "8101", queue="8101", other=CUST, other_role=1,
                ud=[("ServiceType", "'Sales'"), ("CustomerSegment", f"'Tier{n}'")])
        lg.call(t + 5, "EventDiverted", call, c, "8101", queue="8101", other=CUST, other_role=1,
                third="7001", third_role=2)
        lg.call(t + 5.1, "EventRinging", call, c, "7001", other=CUST, other_role=1, state=TCS.OK)
        lg.call(t + 8, "EventEstablished", call, c, "7001", other=CUST, other_role=1,
                state=TCS.OK)
        lg.call(t + 30, "EventReleased", call, c, "7001", other=CUST, other_role=1, state=TCS.OK)
        lg.deleted(t + 30.1, call, c, "7001")
    return lg


def idb(url: str) -> dict[str, pl.DataFrame]:
    store = IdbStore(url)
    return {name: store.read(name) for name in TABLES}


def stale(env: dict[str, str], home) -> set[str]:
    """The hourly assets the Dagster instance reports stale for the loaded hour (what the UI
    shows)."""
    settings = Settings.from_env(env={**env, "ICON_HOME": str(home),
                                      "DAGSTER_HOME": str(home / "dagster_home")})
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        resolver = CachingStaleStatusResolver(instance, graph,
                                              LoadingContextForTest(instance))
        out = set()
        for key in graph.get_all_asset_keys():
            node = graph.get(key)
            if not (node.is_materializable and node.is_partitioned):
                continue
            partition = "2026-03-10-06:00"
            if resolver.get_status(key, partition) == StaleStatus.STALE:
                out.add(key.to_user_string())
        return out


def load(tmp_path) -> tuple:
    """The three calls loaded by `icon-etl load` with the spec keeping ServiceType: (ICON_HOME,
    IDB URL, the environment of the commands)."""
    home, logs = tmp_path / "home", tmp_path / "logs"
    logs.mkdir()
    (logs / LOG_NAME).write_text(calls_with_data().text())
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    (tmp_path / "options.toml").write_text(OPTIONS)
    (tmp_path / "spec.xml").write_text(spec("ServiceType"))
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"
    env = {"ICON_LOG_DIR": str(logs), "ICON_IDB_URL": url,
           "ICON_CONFIG_SNAPSHOT": str(tmp_path / "config.json"),
           "ICON_OPTIONS": str(tmp_path / "options.toml")}
    loaded = bi.run_cli(["load", "--logs", logs], home, timeout=300, **env)
    assert loaded.rc == 0, loaded.stderr[-3000:]
    return home, url, env


def test_a_spec_change_is_reprocessed_by_one_backfill_of_the_attached_data_tables(tmp_path):
    home, url, env = load(tmp_path)
    before = idb(url)
    assert sorted(before["G_USERDATA_HISTORY"]["KEYNAME"]) == ["ServiceType"] * 3
    assert stale(env, home) == set()

    # the spec now also keeps CustomerSegment: gud is stale ("code version changed"), nothing
    # else (Dagster marks what is downstream once gud has new data)
    (tmp_path / "spec.xml").write_text(spec("ServiceType", "CustomerSegment"))
    assert stale(env, home) == {"roles/gud"}
    gud_assets = {"roles/gud", *(f"idb/{n}" for n in ROLE_TABLES["gud"])}

    redone = bi.run_cli(["backfill", "--start", START, "--end", END, "--changed"], home,
                        timeout=300, **env)
    assert redone.rc == 0, redone.stderr[-3000:]
    summary = json.loads(redone.stdout.strip().splitlines()[-1])
    assert set(summary["changed_assets"]) == gud_assets
    after = idb(url)
    assert sorted(after["G_USERDATA_HISTORY"].select("CALLID", "KEYNAME", "VALUE").rows()) == \
        sorted([(c, "CustomerSegment", f"Tier{n}") for n, c in enumerate(CALLS)]
               + [(c, "ServiceType", "Sales") for c in CALLS])
    untouched = [n for n in TABLES if n not in ROLE_TABLES["gud"]]
    for name in untouched:
        assert after[name].equals(before[name]), f"{name} was rewritten"
    assert stale(env, home) == set()

    # nothing changed since: a second --changed backfill rebuilds nothing
    again = bi.run_cli(["backfill", "--start", START, "--end", END, "--changed"], home,
                       timeout=300, **env)
    assert again.rc == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["changed_assets"] == []
    assert "rules changed: 0 hourly assets to rebuild" in again.stderr


def test_a_filter_change_rewrites_the_tables_of_its_writer_only(tmp_path):
    home, url, env = load(tmp_path)
    before = idb(url)
    assert before["G_CALL_STAT"].height == 3

    # call-metrics = 1: the gcc writer's rules change, not gcc's
    (tmp_path / "options.toml").write_text(OPTIONS + "\n[filter-data]\ncall-metrics = 1\n")
    gcc_tables = {f"idb/{n}" for n in ROLE_TABLES["gcc"]}
    assert stale(env, home) == gcc_tables
    redone = bi.run_cli(["backfill", "--start", START, "--end", END, "--changed"], home,
                        timeout=300, **env)
    assert redone.rc == 0, redone.stderr[-3000:]
    assert "warning: [filter-data] call-metrics = 1 with [callconcentrator] " \
           "store-releasing-party = 1" in redone.stderr
    changed = set(json.loads(redone.stdout.strip().splitlines()[-1])["changed_assets"])
    # the interval reports read the gcc tables: rebuilt too (from the same rows)
    assert changed == gcc_tables | {"reports/kpi"}
    after = idb(url)
    assert after["G_CALL_STAT"].height == 0
    for name in TABLES:
        if name != "G_CALL_STAT":
            assert after[name].equals(before[name]), f"{name} changed"


# ---- what each change versions (transforms/config/versions.py) ---------------------------------

def versions_of(tmp_path, options: str, spec_keys=("ServiceType",), config=None):
    """Every version of RuleVersions for an options file's text, a spec and a snapshot."""
    from transforms.config import RuleVersions

    folder = tmp_path / f"v{len(list(tmp_path.glob('v*')))}"
    folder.mkdir()
    (folder / "options.toml").write_text(options)
    (folder / "spec.xml").write_text(spec(*spec_keys))
    snapshot = folder / "config.json"
    snapshot.write_text(config if config is not None else json.dumps(CONFIG))
    v = RuleVersions(folder / "options.toml", snapshot)
    return {**{f"roles/{r}": v.role(r) for r in ROLE_TABLES},
            **{f"write/{r}": v.writer(r) for r in ROLE_TABLES},
            "reference": v.reference, "dss": v.dss, "reports": v.reports}


def changed(a: dict, b: dict) -> set[str]:
    return {k for k in a if a[k] != b[k]}


def test_each_change_versions_only_what_depends_on_it(tmp_path):
    base = versions_of(tmp_path, OPTIONS)
    assert changed(base, versions_of(tmp_path, OPTIONS)) == set()
    assert changed(base, versions_of(tmp_path, OPTIONS, ("ServiceType", "X"))) == {"roles/gud"}
    assert changed(base, versions_of(tmp_path, OPTIONS + "[gts]\ngls-max-duration = 3600\n")) \
        == {"roles/gls"}
    assert changed(base, versions_of(tmp_path, OPTIONS + "[gts]\nsst-options = 1\n")) \
        == {"roles/gcc"}
    assert changed(base, versions_of(tmp_path, OPTIONS + "[icon-etl]\nmax-call-idle = 600\n")) \
        == {"roles/gcc", "roles/gud"}
    assert changed(base, versions_of(tmp_path, OPTIONS + "[filter-data]\ngls-queue = 1\n")) \
        == {"write/gls"}
    assert changed(base, versions_of(
        tmp_path, OPTIONS + "[icon-etl]\nservice-level-threshold = 30\n")) == {"reports"}
    # a default written down, or the snapshot re-indented: nothing
    assert changed(base, versions_of(tmp_path, OPTIONS + "[gts]\nsst-options = 0\n")) == set()
    assert changed(base, versions_of(tmp_path, OPTIONS,
                                     config=json.dumps(CONFIG, indent=4))) == set()
    # the configuration: every role, the reference tables and the sessions
    other = {**CONFIG, "persons": [{"dbid": 3001, "employee_id": "a1"}]}
    assert changed(base, versions_of(tmp_path, OPTIONS, config=json.dumps(other))) == {
        "roles/gcc", "roles/gud", "roles/gls", "roles/gos", "reference", "dss"}


def test_a_folder_of_snapshots_is_versioned_by_content_not_by_file_names(tmp_path):
    from transforms.config.versions import config_digest

    first = {**CONFIG, "exported_at": "2026-03-01T00:00:00+00:00"}
    second = {**CONFIG, "exported_at": "2026-03-10T00:00:00+00:00", "persons": [
        {"dbid": 3001, "employee_id": "a1"}]}
    for folder, names in (("one", ("a.json", "b.json")), ("two", ("z.json", "c.json"))):
        (tmp_path / folder).mkdir()
        for name, doc in zip(names, (first, second)):
            (tmp_path / folder / name).write_text(json.dumps(doc))
    assert config_digest(tmp_path / "one") == config_digest(tmp_path / "two")
    (tmp_path / "two" / "d.json").write_text(json.dumps(
        {**CONFIG, "exported_at": "2026-03-11T00:00:00+00:00"}))      # a new snapshot
    assert config_digest(tmp_path / "one") != config_digest(tmp_path / "two")
