"""The real Dagster webserver over the demo's instance: lineage and a materialized partition,
asserted through its GraphQL API (issue 5, "Lineage and UI").

One module-scoped fixture simulates two hours of the small contact center, runs `icon-etl demo`
over them (one run for both hours) into a temporary ICON_HOME (in subprocesses, so no ICON_*/DAGSTER_HOME leaks into or out
of this process), then starts `dagster-webserver -w workspace.yaml` on 127.0.0.1 and a free port.
Needs no browser and no network beyond the loopback interface.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tools.ui_screenshot import free_port
from tools.ui_screenshot import stop as stop_server

ROOT = Path(__file__).resolve().parents[1]
DEMO_START = "2026-03-09T22:00:00Z"   # the hours we simulate, so the hours we expect in the UI
DEMO_PARTITION = "2026-03-09-22:00"
DEMO_HOURS = ["2026-03-09-22:00", "2026-03-09-23:00"]
REPLICA = "a"                         # the demo writes one replica's logs directly (no sub-folders)
STARTUP_TIMEOUT = 60.0


def _env(home: Path) -> dict[str, str]:
    """This process's environment without any ICON_*/DAGSTER_HOME, pointed at `home`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ICON_") and k != "DAGSTER_HOME"}
    env.update(ICON_HOME=str(home), DAGSTER_HOME=str(home / "dagster_home"),
               ICON_LOG_DIR=str(home / "demo" / "logs"),
               ICON_CONFIG_SNAPSHOT=str(home / "demo" / "config.json"),
               ICON_OPTIONS=str(ROOT / "examples" / "icon-options.toml"),
               PYTHONUNBUFFERED="1")
    return env


def _cli(env: dict[str, str], *args: str, timeout: float = 240) -> None:
    try:
        proc = subprocess.run([sys.executable, "-m", "dagster_project.cli", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(f"icon-etl {' '.join(args)} took over {timeout:.0f}s:\n{(err or '')[-4000:]}")
    if proc.returncode:
        pytest.fail(f"icon-etl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")


def _post(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        answer = json.load(resp)
    assert not answer.get("errors"), f"GraphQL errors: {answer['errors']}"
    return answer["data"]


class Server:
    """A running dagster-webserver; `graphql` posts a query and returns its `data`."""

    def __init__(self, proc: subprocess.Popen, base: str, log: Path):
        self.proc, self.base, self.log = proc, base, log

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        return _post(f"{self.base}/graphql", query, variables)

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""


LOCATION_QUERY = """{ workspaceOrError { __typename
  ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message stack } } } }
  ... on PythonError { message } } }"""


def _wait_until_loaded(server: Server) -> None:
    """Until the server answers and the code location is loaded; fail with its output if not."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited with code {server.proc.returncode} before "
                        f"answering on {server.base}:\n{server.output()}")
        try:
            data = _post(f"{server.base}/graphql", LOCATION_QUERY, timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = repr(exc)
        else:
            entries = data["workspaceOrError"].get("locationEntries") or []
            errors = [e for e in entries
                      if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError"]
            if errors:
                err = errors[0]["locationOrLoadError"]
                pytest.fail(f"code location {errors[0]['name']} failed to load: {err['message']}"
                            f"{''.join(err['stack'])}")
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
            last = f"workspace: {data['workspaceOrError']}"
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not come up on {server.base} within {STARTUP_TIMEOUT:.0f}s "
                f"(last: {last}); its output:\n{server.output()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("icon_home")
    env = _env(home)
    _cli(env, "simulate", "--out", str(home / "demo"), "--start", DEMO_START, "--hours", "2")
    _cli(env, "demo", "--hours", "2")
    port = free_port()
    log = home / "webserver.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-w", str(ROOT / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    srv = Server(proc, f"http://127.0.0.1:{port}", log)
    srv.home = home
    try:
        _wait_until_loaded(srv)
        yield srv
    finally:
        stop_server(proc)


NODES_QUERY = """{ assetNodes { assetKey { path } groupName isPartitioned
  dependencyKeys { path } dependedByKeys { path } } }"""


@pytest.fixture(scope="module")
def graph(server):
    """key -> node, keys as `a/b` strings; plus the set of (upstream, downstream) edges."""
    nodes = {"/".join(n["assetKey"]["path"]): n for n in server.graphql(NODES_QUERY)["assetNodes"]}
    edges = {("/".join(d["path"]), key) for key, n in nodes.items() for d in n["dependencyKeys"]}
    return nodes, edges


GCC_TABLES = ["G_IR", "G_CALL", "G_PARTY", "G_CALL_HISTORY", "G_PARTY_HISTORY", "G_CALL_STAT",
              "G_PARTY_STAT", "G_ROUTE_RESULT", "G_VIRTUAL_QUEUE", "G_CALL_ACTIVE"]
GLS_TABLES = ["G_LOGIN_SESSION", "GX_SESSION_ENDPOINT", "G_AGENT_STATE_HISTORY", "G_DND_HISTORY"]
GUD_TABLES = ["G_USERDATA_HISTORY", "G_CALL_USERDATA"]
DSS_TABLES = ["G_DSS_GCC_PROVIDER", "G_DSS_GLS_PROVIDER", "G_DSS_GUD_PROVIDER"]
SEGMENTS, PARSED = f"replica_{REPLICA}/log_segments", f"replica_{REPLICA}/parsed_events"
GROUPS = {SEGMENTS: "raw_logs", PARSED: "parsed_events",
          "ha/data_source_sessions": "ha_reconciliation", "ha/coverage": "ha_reconciliation",
          "ha/reconciled_events": "ha_reconciliation",
          "roles/gcc": "idb_by_role", "roles/gls": "idb_by_role", "roles/gud": "idb_by_role",
          "idb/reference": "idb",
          **{f"idb/{t}": "idb" for t in GCC_TABLES + GLS_TABLES + GUD_TABLES + DSS_TABLES}}
# the edges that make the ICON flow: segments -> parsed -> reconciled -> roles -> IDB tables
FLOW = [
    (SEGMENTS, PARSED),
    (SEGMENTS, "ha/data_source_sessions"),
    ("ha/data_source_sessions", "ha/coverage"),
    (PARSED, "ha/reconciled_events"),
    ("ha/data_source_sessions", "ha/reconciled_events"),
    ("ha/reconciled_events", "roles/gcc"),
    ("ha/reconciled_events", "roles/gls"),
    ("ha/reconciled_events", "roles/gud"),
    ("roles/gcc", "roles/gls"),   # agent states need the calls' parties
    ("roles/gcc", "roles/gud"),   # attached data belongs to calls
    (SEGMENTS, "idb/reference"),
    *[("ha/data_source_sessions", f"idb/{t}") for t in DSS_TABLES],
    *[("roles/gcc", f"idb/{t}") for t in GCC_TABLES],
    *[("roles/gls", f"idb/{t}") for t in GLS_TABLES],
    *[("roles/gud", f"idb/{t}") for t in GUD_TABLES],
]


def test_asset_nodes_and_groups(graph):
    nodes, _ = graph
    missing = sorted(set(GROUPS) - set(nodes))
    assert not missing, f"asset nodes missing from the webserver's graph: {missing}"
    wrong = {k: (nodes[k]["groupName"], g) for k, g in GROUPS.items() if nodes[k]["groupName"] != g}
    assert not wrong, f"assets in the wrong group (got, expected): {wrong}"
    # one node per IDB table beside idb/reference, every one in the idb group
    idb_tables = [k for k in nodes if k.startswith("idb/") and k != "idb/reference"]
    assert len(idb_tables) >= 25, idb_tables
    assert {nodes[k]["groupName"] for k in nodes if k.startswith("idb/")} == {"idb"}
    assert not nodes[SEGMENTS]["isPartitioned"]
    for key in (PARSED, "ha/reconciled_events", "roles/gcc", "idb/G_CALL"):
        assert nodes[key]["isPartitioned"], f"{key} should be hourly-partitioned"


def test_lineage_edges(graph):
    nodes, edges = graph
    missing = [e for e in FLOW if e not in edges]
    # no hour waits for the hour before: no role depends on itself
    assert not [(u, d) for u, d in edges if u == d], "a role depends on its own previous hour"
    assert not missing, "lineage edges missing (upstream -> downstream):\n" + "\n".join(
        f"  {u} -> {d}" for u, d in missing)
    # dependedByKeys mirrors dependencyKeys
    reverse = {(key, "/".join(d["path"])) for key, n in nodes.items() for d in n["dependedByKeys"]}
    assert reverse == edges
    # every HA, role and IDB asset traces back to the raw segments
    reached, todo = {SEGMENTS}, [SEGMENTS]
    while todo:
        up = todo.pop()
        for u, d in edges:
            if u == up and d not in reached:
                reached.add(d)
                todo.append(d)
    cut_off = sorted(k for k in nodes if k.startswith(("ha/", "roles/", "idb/")) and k not in reached)
    assert not cut_off, f"assets not downstream of {SEGMENTS}: {cut_off}"
    # IDB tables are written from roles (or HA/segment bookkeeping), never from parsed events
    assert not [d for u, d in edges if u == PARSED and d.startswith(("idb/", "roles/"))]


PARTITION_QUERY = """query($key: AssetKeyInput!, $partitions: [String!]) {
  assetNodeOrError(assetKey: $key) { __typename ... on AssetNode {
    partitionStats { numMaterialized numFailed }
    assetPartitionStatuses { __typename
      ... on TimePartitionStatuses { ranges { startKey endKey status } } }
    assetMaterializations(partitions: $partitions) { partition runId
      metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""

RUN_QUERY = """query($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { status } } }"""


@pytest.mark.parametrize("key,count", [(PARSED, "events"), ("idb/G_CALL", "rows_written")])
def test_materialized_partition_shows_up(server, key, count):
    node = server.graphql(PARTITION_QUERY, {"key": {"path": key.split("/")},
                                            "partitions": [DEMO_PARTITION]})["assetNodeOrError"]
    assert node["__typename"] == "AssetNode", node
    statuses = node["assetPartitionStatuses"]
    assert statuses["__typename"] == "TimePartitionStatuses", statuses
    materialized = [(r["startKey"], r["endKey"]) for r in statuses["ranges"]
                    if r["status"] == "MATERIALIZED"]
    assert any(s <= DEMO_PARTITION <= e for s, e in materialized), (
        f"{key}: partition {DEMO_PARTITION} not shown as materialized; ranges: {statuses['ranges']}")
    assert node["partitionStats"]["numMaterialized"] >= 1
    assert node["partitionStats"]["numFailed"] == 0

    events = node["assetMaterializations"]
    assert events and {e["partition"] for e in events} == {DEMO_PARTITION}, events
    metadata = {m["label"]: m.get("intValue") for m in events[0]["metadataEntries"]}
    assert (metadata.get(count) or 0) > 0, f"{key} {DEMO_PARTITION}: metadata {metadata}"
    run = server.graphql(RUN_QUERY, {"id": events[0]["runId"]})["runOrError"]
    assert run == {"__typename": "Run", "status": "SUCCESS"}, run


FIRST_PARTITION_QUERY = """query($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode { partitionKeysByDimension {
    partitionKeys } } } }"""


def test_partitions_start_at_the_first_hour_of_the_logs(server):
    """Not at a fixed date years before any log: the first partition is the logs' first hour."""
    node = server.graphql(FIRST_PARTITION_QUERY, {"key": {"path": ["idb", "G_CALL"]}})
    keys = node["assetNodeOrError"]["partitionKeysByDimension"][0]["partitionKeys"]
    assert keys[:2] == DEMO_HOURS


CHECKS_QUERY = """query($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode {
    assetChecksOrError { __typename ... on AssetChecks { checks { name
      partitionStatuses { __typename
        ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } } } } } } } }"""


@pytest.mark.parametrize("key", ["idb/G_CALL", "idb/G_LOGIN_SESSION", PARSED])
def test_each_hour_of_a_ranged_run_shows_its_check_result(server, key):
    """The demo loads both hours in one run; every check still shows each hour as evaluated
    (succeeded or failed), never as skipped or missing."""
    node = server.graphql(CHECKS_QUERY, {"key": {"path": key.split("/")}})["assetNodeOrError"]
    checks = node["assetChecksOrError"]["checks"]
    assert len(checks) >= 2, checks
    for check in checks:
        statuses = check["partitionStatuses"]
        assert statuses["__typename"] == "AssetCheckTimePartitionStatuses", (check["name"], statuses)
        shown = {}
        for r in statuses["ranges"]:
            for hour in DEMO_HOURS:
                if r["startKey"] <= hour <= r["endKey"]:
                    shown[hour] = r["status"]
        assert set(shown) == set(DEMO_HOURS), (key, check["name"], statuses["ranges"])
        assert set(shown.values()) <= {"SUCCEEDED", "FAILED"}, (key, check["name"], shown)


TABLE_QUERY = """query($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode {
    metadataEntries { label __typename
      ... on TableSchemaMetadataEntry { schema { columns { name type
        constraints { nullable unique } } } }
      ... on TextMetadataEntry { text } }
    assetMaterializations(limit: 1) { metadataEntries { label
      ... on IntMetadataEntry { intValue } } } } } }"""


def test_idb_tables_show_their_columns_name_and_row_count(server):
    """The catalog lists an IDB table's columns (as the IDB declares them), its table name, and
    how many rows the IDB holds."""
    from transforms.idb import table

    node = server.graphql(TABLE_QUERY, {"key": {"path": ["idb", "G_CALL"]}})["assetNodeOrError"]
    entries = {e["label"]: e for e in node["metadataEntries"]}
    columns = entries["dagster/column_schema"]["schema"]["columns"]
    assert [c["name"] for c in columns] == table("G_CALL").column_names
    by_name = {c["name"]: c for c in columns}
    assert by_name["CALLID"]["constraints"]["unique"] is True
    assert by_name["CALLID"]["type"] == "VARCHAR(50)"
    assert by_name["PARENTCALLID"]["constraints"] == {"nullable": True, "unique": False}
    assert entries["dagster/table_name"]["text"] == "G_CALL"
    latest = {e["label"]: e.get("intValue")
              for e in node["assetMaterializations"][0]["metadataEntries"]}
    with sqlite3.connect(server.home / "idb.sqlite") as idb:
        assert latest["dagster/row_count"] == idb.execute("SELECT COUNT(*) FROM G_CALL").fetchone()[0] > 0


VERSION_QUERY = """query($key: AssetKeyInput!, $partition: String) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode {
    opVersion staleStatus(partition: $partition) } } }"""


@pytest.mark.parametrize("key, rules", [("roles/gud", "gud"), ("idb/G_CALL", "write gcc")])
def test_the_ui_shows_each_asset_the_version_of_its_rules_and_fresh_hours(server, key, rules):
    """The code version the UI shows is the version of the rules the demo ran with (the options
    file, its attached-data spec, the configuration: docs/semantics.md §16), so its hours are
    fresh; editing one of those files would make them stale (tests/test_reprocess.py)."""
    from transforms.config import RuleVersions

    env = _env(server.home)
    versions = RuleVersions(env["ICON_OPTIONS"], env["ICON_CONFIG_SNAPSHOT"])
    role = rules.split()[-1]
    expected = versions.writer(role) if rules.startswith("write") else versions.role(role)
    node = server.graphql(VERSION_QUERY, {"key": {"path": key.split("/")},
                                          "partition": DEMO_PARTITION})["assetNodeOrError"]
    assert node["opVersion"] == expected
    assert node["staleStatus"] == "FRESH"
