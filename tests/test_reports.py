"""Interval reports (docs/semantics.md §12): the KPIs of a simulated contact center loaded by
the real asset graph agree with values computed independently from the simulator's ground
truth; hand-written frames give the expected rows (clipping at the hour's borders, a reason
code); an hour run again gives the same rows; and `icon-etl report` writes a page that real
headless Chromium shows with its charts and the tables' numbers."""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.reports import REPORTS_KEY
from dagster_project import cli, runner
from tests.graph import graph, simulate_with_examples
from transforms.idb import IdbStore, table
from transforms.idb.dictionary import (
    AgentState,
    CCEvent,
    DnType,
    ParentLinkType,
    PartyHistoryChange,
    PartyState,
    StateRecordType,
)
from transforms.reports import HourFrames, agent_kpis, queue_kpis, read_kpis

HOURS = ["2026-03-09-23:00", "2026-03-10-00:00"]
START = datetime(2026, 3, 9, 23)
END = START + timedelta(hours=2)
KPI = ("ETL_KPI_QUEUE", "ETL_KPI_AGENT", "ETL_KPI_AGENT_REASON")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    sim = simulate_with_examples(tmp_path_factory.mktemp("sim"), profile="small",
                                 start="2026-03-09T23:00:00Z", hours=2, seed=11)
    work = tmp_path_factory.mktemp("work")
    defs = graph(sim / "logs", sim / "config.json", work, options=sim / "icon-options.toml")
    with dg.instance_for_test() as instance:
        summary = runner.run_all(defs, instance, progress=lambda _: None, checks=False)
    assert summary["failed_runs"] == 0 and summary["partitions"] == 2
    return sim, work, defs, f"sqlite:///{work / 'idb.sqlite'}"


# ---- the ground truth, computed here from truth/*.jsonl -------------------------------------

def _t(text: str | None) -> datetime | None:
    if text is None:
        return None
    t = datetime.fromisoformat(text).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _hour(t: datetime) -> str:
    return t.strftime("%Y-%m-%d-%H:00")


def _clip(a: datetime, b: datetime | None, lo: datetime, hi: datetime) -> float:
    b = hi if b is None else min(b, hi)
    return max((b - max(a, lo)).total_seconds(), 0.0)


def _union(intervals: list[tuple[datetime, datetime]]) -> float:
    total, reach = 0.0, None
    for a, b in sorted(intervals):
        if reach is None or a > reach:
            total += (b - a).total_seconds()
            reach = b
        elif b > reach:
            total += (b - reach).total_seconds()
            reach = b
    return total


def truth_acw(sessions: list[dict], merged_into: dict[str, str]
              ) -> dict[tuple[str, str], list[tuple[datetime, datetime]]]:
    """(call uuid, dn) -> the after-call work it caused: each ACW state goes to the first call of
    the last busy episode (overlapping busy intervals) of its DN that ended before it began
    (`gls-acw-first = 1`, docs/semantics.md §8), or to the call that one was merged into by a
    transfer or conference (the DN's party moved with it); the time the DN is busy with another
    call meanwhile is not ACW."""

    def moved(call: str) -> str:
        while call in merged_into:
            call = merged_into[call]
        return call

    out: dict = defaultdict(list)
    for s in sessions:
        for dn in s["dns"]:
            busy = sorted((_t(b["start"]), _t(b["end"]) or END, b["call_uuid"])
                          for b in s["busy"] if b["dn"] == dn)
            episodes: list[list] = []
            for a, b, call in busy:
                if episodes and a <= episodes[-1][1]:
                    episodes[-1][1] = max(episodes[-1][1], b)
                else:
                    episodes.append([a, b, call])
            for st in s["states"]:
                if st["dn"] != dn or st["state"] != "acw":
                    continue
                a, b = _t(st["start"]), _t(st["end"]) or END
                before = [e for e in episodes if e[1] <= a]
                if not before:
                    continue
                pieces, cur = [], a
                for ba, bb, _ in busy:        # ACW minus the calls taken meanwhile
                    if bb <= cur or ba >= b:
                        continue
                    if ba > cur:
                        pieces.append((cur, ba))
                    cur = max(cur, bb)
                if cur < b:
                    pieces.append((cur, b))
                out[(moved(before[-1][2]), dn)].extend(pieces)
    return out


def truth_queue_kpis(truth: Path, threshold: int, acw: bool = True
                     ) -> dict[tuple[str, str], dict]:
    """`acw=False`: handle times without after-call work (talk and hold only)."""
    calls = [json.loads(line) for line in open(truth / "calls.jsonl")]
    sessions = [json.loads(line) for line in open(truth / "agents.jsonl")]
    merged = {c["call_uuid"]: c["merged_into"] for c in calls if c["merged_into"]}
    acw = truth_acw(sessions, merged) if acw else {}
    out: dict = defaultdict(lambda: defaultdict(float))
    for call in calls:
        parties = call["parties"]
        for n, p in enumerate(parties):
            if p["role"] not in ("virtual_queue", "acd_queue") or not p["queued"]:
                continue        # (a call an outbound dialer placed from the queue DN)
            entered, left = _t(p["queued"][0]), _t(p["ended"])
            out[(_hour(entered), p["dn"])]["OFFERED"] += 1
            if left is not None and p["end_event"] == "EventAbandoned":
                out[(_hour(left), p["dn"])]["ABANDONED"] += 1
            agent = next((q for q in parties[n + 1:] if q["role"] == "agent"), None)
            if agent is None or not agent["connected"] or p["end_event"] != "EventDiverted":
                continue
            answer = _t(agent["connected"][0])
            row = out[(_hour(answer), p["dn"])]
            wait = (answer - entered).total_seconds()
            row["ANSWERED"] += 1
            row["WAIT_SECONDS"] += wait
            row["ANSWERED_IN_THRESHOLD"] += wait <= threshold
            released = _t(agent["ended"])
            if released is not None and released < END:
                hi = datetime.strptime(_hour(released), "%Y-%m-%d-%H:%M") + timedelta(hours=1)
                row = out[(_hour(released), p["dn"])]
                row["HANDLED"] += 1
                row["HANDLE_SECONDS"] += (released - answer).total_seconds() + sum(
                    _clip(a, b, a, hi) for a, b in acw.get((call["call_uuid"], agent["dn"]), []))
    return out


def truth_agent_kpis(truth: Path) -> tuple[dict, dict]:
    """(hour, agent) -> seconds per state across the agent's DNs (busy > acw > ready >
    notready > login), and (hour, agent, hwflag, key, value) -> not-ready seconds per code."""
    rank = {"login": 1, "notready": 2, "ready": 3, "acw": 4, "busy": 5}
    states: dict = defaultdict(lambda: defaultdict(float))
    reasons: dict = defaultdict(list)
    for s in (json.loads(line) for line in open(truth / "agents.jsonl")):
        login, logout = _t(s["login"]), _t(s["logout"]) or END
        own = [(st["dn"], _t(st["start"]), _t(st["end"]) or logout, st["state"]) for st in s["states"]]
        busy = [(b["dn"], _t(b["start"]), _t(b["end"]) or logout) for b in s["busy"]]
        points = sorted({login, logout, START + timedelta(hours=1),
                         *[x[1] for x in own], *[x[2] for x in own],
                         *[x[1] for x in busy], *[x[2] for x in busy]})
        points = [p for p in points if login <= p <= logout]
        for a, b in zip(points, points[1:]):
            mid = a + (b - a) / 2
            best = 0
            for dn in s["dns"]:
                if any(d == dn and x <= mid < y for d, x, y in busy):
                    best = max(best, rank["busy"])
                    continue
                best = max([best] + [rank[st] for d, x, y, st in own if d == dn and x <= mid < y])
            key = (_hour(a), s["agent"])
            states[key]["LOGIN_SECONDS"] += (b - a).total_seconds()
            name = {v: k for k, v in rank.items()}.get(best)
            if name and name != "login":
                states[key][name] += (b - a).total_seconds()
        for st in s["states"]:
            if st["state"] != "notready":
                continue
            codes = [(0, k, str(v)) for k, v in st["reasons"].items()]
            if st["hardware_reason"] is not None:
                codes.append((1, "ReasonCode", str(st["hardware_reason"])))
            a, b = _t(st["start"]), _t(st["end"]) or logout
            for hour in HOURS:
                lo = datetime.strptime(hour, "%Y-%m-%d-%H:%M")
                hi = lo + timedelta(hours=1)
                if max(a, lo) < min(b, hi):
                    for code in codes:
                        reasons[(hour, s["agent"], *code)].append((max(a, lo), min(b, hi)))
    return states, {k: _union(v) for k, v in reasons.items()}


def test_queue_kpis_agree_with_the_ground_truth(loaded):
    sim, _, _, url = loaded
    rows = IdbStore(url).read("ETL_KPI_QUEUE")
    threshold = int(rows["SL_THRESHOLD_SECONDS"][0])
    want = truth_queue_kpis(sim / "truth", threshold)
    got = {(r["HOUR"], r["QUEUE"]): r for r in rows.iter_rows(named=True)}
    assert sorted(k for k in want if k[0] in HOURS) == sorted(got)
    for key, w in want.items():
        g = got[key]
        for column in ("OFFERED", "ANSWERED", "ABANDONED", "ANSWERED_IN_THRESHOLD", "HANDLED"):
            assert g[column] == int(w[column]), (key, column)
        if w["ANSWERED"]:
            assert g["ASA_SECONDS"] == pytest.approx(w["WAIT_SECONDS"] / w["ANSWERED"], abs=1.0), key
        decided = w["ANSWERED"] + w["ABANDONED"]
        if decided:
            # (stored to 6 decimals)
            assert g["SERVICE_LEVEL"] == pytest.approx(w["ANSWERED_IN_THRESHOLD"] / decided,
                                                       abs=5e-7)
    assert sum(r["OFFERED"] for r in got.values()) > 50


def test_queue_aht_agrees_with_the_ground_truth(loaded):
    """AHT = talk and hold + the after-call work ICON gives the party (`gls-acw-first`)."""
    sim, _, _, url = loaded
    rows = IdbStore(url).read("ETL_KPI_QUEUE")
    threshold = int(rows["SL_THRESHOLD_SECONDS"][0])
    want = truth_queue_kpis(sim / "truth", threshold)
    talk_only = truth_queue_kpis(sim / "truth", threshold, acw=False)
    with_acw = 0
    for r in rows.iter_rows(named=True):
        w = want[(r["HOUR"], r["QUEUE"])]
        if w["HANDLED"]:
            assert r["AHT_SECONDS"] == pytest.approx(w["HANDLE_SECONDS"] / w["HANDLED"],
                                                     abs=1.0), (r["HOUR"], r["QUEUE"])
            with_acw += w["HANDLE_SECONDS"] > talk_only[(r["HOUR"], r["QUEUE"])]["HANDLE_SECONDS"]
    assert with_acw > 0          # the after-call work is in it


def test_agent_kpis_agree_with_the_ground_truth(loaded):
    sim, _, _, url = loaded
    store = IdbStore(url)
    want, want_reasons = truth_agent_kpis(sim / "truth")
    got = {(r["HOUR"], r["AGENT"]): r for r in store.read("ETL_KPI_AGENT").iter_rows(named=True)}
    assert sorted(want) == sorted(got)
    columns = {"LOGIN_SECONDS": "LOGIN_SECONDS", "ready": "READY_SECONDS",
               "notready": "NOT_READY_SECONDS", "busy": "BUSY_SECONDS", "acw": "ACW_SECONDS"}
    for key, w in want.items():
        for name, column in columns.items():
            assert got[key][column] == pytest.approx(w.get(name, 0.0), abs=1.0), (key, column)
    reasons = {(r["HOUR"], r["AGENT"], r["HWFLAG"], r["KEYNAME"], r["VALUE"]): r["SECONDS"]
               for r in store.read("ETL_KPI_AGENT_REASON").iter_rows(named=True)}
    assert sorted(want_reasons) == sorted(reasons)
    for key, seconds in want_reasons.items():
        assert reasons[key] == pytest.approx(seconds, abs=1.0), key


def test_an_hour_run_again_gives_the_same_rows(loaded):
    _, _, defs, url = loaded
    store = IdbStore(url)
    before = {name: store.read(name) for name in KPI}
    with dg.instance_for_test() as instance:
        for _ in range(2):
            result = dg.materialize(defs.assets, selection=[REPORTS_KEY], instance=instance,
                                    resources=defs.resources, partition_key=HOURS[0],
                                    run_config=runner.quiet())
            assert result.success
        plotted = instance.fetch_observations(REPORTS_KEY, limit=10).records
    after = {name: store.read(name) for name in KPI}
    for name in KPI:
        assert after[name].sort(table(name).key).equals(before[name].sort(table(name).key)), name
    # each run recorded the hour's partition with numbers the UI plots
    hour = [r.asset_observation for r in plotted if r.asset_observation.partition == HOURS[0]]
    assert hour and hour[0].metadata["offered"].value == before["ETL_KPI_QUEUE"].filter(
        pl.col("HOUR") == HOURS[0])["OFFERED"].sum()


# ---- hand-written frames ------------------------------------------------------------------

def _frame(name: str, rows: list[dict]) -> pl.DataFrame:
    return table(name).conform(pl.DataFrame(rows, infer_schema_length=None))


def _at(minute: float, hour: int = 23) -> datetime:
    return datetime(2026, 3, 9, hour) + timedelta(minutes=minute)


def small_frames() -> HourFrames:
    """An ACD queue call entering at 22:59:50, answered at 23:00:05 by agent A (on 7001), released
    at 23:02:05, then 30 s of ACW; agent A logged in 22:50, ready 22:55, not ready (Break)
    23:05 .. logout 23:20; a second call entering at 23:59:00 and abandoned at 00:00:30."""
    sid, q, ag = "S1", "P-Q", "P-A"
    parties = [
        dict(PARTYID=q, CALLID="C1", ENDPOINTDN="8101", ENDPOINTID=10,
             ENDPOINTTYPE=int(DnType.ACD_QUEUE), SWITCHID=1, CREATED=_at(-1 / 6),
             TERMINATED=_at(1 / 12), CCEVENT=int(CCEvent.EVENT_DIVERTED)),
        dict(PARTYID=ag, CALLID="C1", ENDPOINTDN="7001", ENDPOINTTYPE=int(DnType.EXTENSION),
             PARENTPARTYID=q, PARENTLINKTYPE=int(ParentLinkType.DISTRIBUTED), SWITCHID=1,
             CREATED=_at(1 / 12), TERMINATED=_at(2 + 1 / 12), CCEVENT=int(CCEvent.EVENT_RELEASED)),
        dict(PARTYID="P-Q2", CALLID="C2", ENDPOINTDN="8101", ENDPOINTID=10,
             ENDPOINTTYPE=int(DnType.ACD_QUEUE), SWITCHID=1, CREATED=_at(59),
             TERMINATED=_at(0.5, 0).replace(day=10), CCEVENT=int(CCEvent.EVENT_ABANDONED)),
    ]
    history = [
        dict(PARTYID=q, PSEQ=1, CHANGETYPE=int(PartyHistoryChange.PARTY_CREATED),
             STATE=int(PartyState.QUEUED), CALLID="C1", ADDED=_at(-1 / 6)),
        dict(PARTYID=ag, PSEQ=1, CHANGETYPE=int(PartyHistoryChange.PARTY_CREATED),
             STATE=int(PartyState.ALERTING), CALLID="C1", ADDED=_at(1 / 12)),
        dict(PARTYID=ag, PSEQ=2, CHANGETYPE=int(PartyHistoryChange.PARTY_STATECHANGED),
             STATE=int(PartyState.CONNECTED), CALLID="C1", ADDED=_at(1 / 12)),
    ]
    state = int(StateRecordType.STATE)
    records = [(1, _at(-10), AgentState.LOGIN, None), (2, _at(-5), AgentState.READY, None),
               (3, _at(1 / 12), AgentState.BUSY, ag), (4, _at(2 + 1 / 12), AgentState.ACW, ag),
               (5, _at(2 + 7 / 12), AgentState.READY, None), (6, _at(5), AgentState.NOTREADY, None),
               (7, _at(20), AgentState.NULL, None)]
    return HourFrames(
        parties=_frame("G_PARTY", parties), history=_frame("G_PARTY_HISTORY", history),
        virtual_queues=table("G_VIRTUAL_QUEUE").empty(),
        endpoints=_frame("GC_ENDPOINT", [dict(ID=10, DN="8101", NAME="Q_Sales")]),
        sessions=_frame("G_LOGIN_SESSION", [dict(LOGINSESSIONID=sid, AGENTID=7, STATE=2,
                                                 CREATED=_at(-10), TERMINATED=_at(20),
                                                 ETL_LOGIN_CODE="a1")]),
        states=_frame("G_AGENT_STATE_HISTORY", [
            dict(LOGINSESSIONID=sid, ETL_DN="7001", SEQ=n, TYPE=state, STATE=int(s), PARTYID=p,
                 ADDED=t) for n, t, s, p in records]),
        reasons=_frame("G_AGENT_STATE_RC", [dict(
            SESSIONID=sid, ETL_DN="7001", AGENTSTATE=int(AgentState.NOTREADY), HWFLAG=0,
            KEYNAME="Reason", VALUE="Break", CREATED=_at(5), TERMINATED=_at(20))]),
        agents=_frame("GC_AGENT", [dict(ID=7, USERNAME="alice")]),
    )


def test_hand_written_frames_give_the_expected_rows():
    frames = small_frames()
    queue = queue_kpis(frames, "2026-03-09-23:00", threshold=20)
    assert queue.select("QUEUE", "QUEUE_NAME", "QUEUE_TYPE", "OFFERED", "ANSWERED", "ABANDONED",
                        "ANSWERED_IN_THRESHOLD", "HANDLED", "ASA_SECONDS", "AHT_SECONDS",
                        "SERVICE_LEVEL").rows() == [
        ("8101", "Q_Sales", "acd_queue", 1, 1, 0, 1, 1, 15.0, 120.0 + 30.0, 1.0)]
    # the call entered before the hour: offered in 22:00, nothing of it in 00:00
    before = queue_kpis(frames, "2026-03-09-22:00", threshold=20)
    assert before.select("OFFERED", "ANSWERED").rows() == [(1, 0)]
    # a wait of 15 s misses a 10 s threshold
    assert queue_kpis(frames, "2026-03-09-23:00", threshold=10)["SERVICE_LEVEL"].to_list() == [0.0]
    # the abandoned call counts where it was abandoned
    after = queue_kpis(frames, "2026-03-10-00:00", threshold=20)
    assert after.select("OFFERED", "ABANDONED", "SERVICE_LEVEL").rows() == [(0, 1, 0.0)]

    agent, reasons = agent_kpis(frames, "2026-03-09-23:00")
    # 23:00 .. 23:20 of a login from 22:50: ready 23:00-23:00:05, 23:02:35-23:05; busy 2 min;
    # ACW 30 s; not ready 15 min
    assert agent.select("AGENT", "AGENTID", "LOGIN_SECONDS", "READY_SECONDS", "BUSY_SECONDS",
                        "ACW_SECONDS", "NOT_READY_SECONDS").rows() == [
        ("alice", 7, 1200.0, 5.0 + 145.0, 120.0, 30.0, 900.0)]
    assert agent["OCCUPANCY"][0] == pytest.approx(150.0 / 300.0)
    assert reasons.select("AGENT", "HWFLAG", "KEYNAME", "VALUE", "SECONDS").rows() == [
        ("alice", 0, "Reason", "Break", 900.0)]
    earlier, _ = agent_kpis(frames, "2026-03-09-22:00")
    assert earlier.select("LOGIN_SECONDS", "READY_SECONDS").rows() == [(600.0, 300.0)]


# ---- the page, in real headless Chromium ----------------------------------------------------

def chromium() -> str | None:
    given = os.environ.get("CHROMIUM")
    if given:
        return given
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome",
                                               "google-chrome-stable")) if p), None)


def test_report_page_in_headless_chromium(loaded, tmp_path, capsys):
    browser_path = chromium()
    if browser_path is None:
        pytest.skip("no Chromium installed (apt-get install -y chromium, or set $CHROMIUM)")
    playwright = pytest.importorskip("playwright.sync_api")
    _, _, _, url = loaded
    assert cli.main(["report", "--idb", url, "--out", str(tmp_path / "page")]) == 0
    page_path = Path(capsys.readouterr().out.strip())
    assert page_path == tmp_path / "page" / "index.html"
    queue = read_kpis(IdbStore(url))["ETL_KPI_QUEUE"]
    offered = dict(queue.group_by("HOUR").agg(pl.col("OFFERED").sum()).iter_rows())
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, headless=True,
                                    args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            sizes = page.eval_on_selector_all(
                "svg.chart", "els => els.map(e => [e.getBoundingClientRect().width, "
                             "e.getBoundingClientRect().height, e.querySelectorAll('rect,polyline').length])")
            shown = page.eval_on_selector_all(
                "table.data[data-caption^='Calls per hour'] tbody tr",
                "rows => rows.map(r => [r.querySelector('th').textContent, "
                "r.querySelectorAll('td')[0].dataset.value, r.querySelectorAll('td')[0].textContent])")
        finally:
            browser.close()
    assert errors == []
    assert requests == [page_path.as_uri()]          # nothing fetched from anywhere
    assert len(sizes) == 6 and all(w > 0 and h > 0 and marks > 0 for w, h, marks in sizes)
    assert {hour: int(value) for hour, value, _ in shown} == offered
    assert all(text.replace(",", "") == value for _, value, text in shown)


def test_report_command_without_kpis_says_what_to_do(tmp_path, capsys):
    empty = tmp_path / "idb.sqlite"
    IdbStore(f"sqlite:///{empty}").create_schema()
    assert cli.main(["report", "--idb", f"sqlite:///{empty}", "--out", str(tmp_path)]) == 1
    assert "icon-etl load" in capsys.readouterr().err
    assert cli.main(["report", "--idb", f"sqlite:///{tmp_path / 'none.sqlite'}",
                     "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "index.html").exists()


def test_postgresql_gives_the_same_kpis_and_messages(pg_url, tmp_path):
    """The same logs (with a gap that leaves calls and login sessions to the closure rules) into
    SQLite and into a real PostgreSQL IDB: the same ETL_KPI_* rows, and the same messages about
    the stuck calls and sessions (G_LOG_MESSAGES, apart from when and where they were written)."""
    sim = simulate_with_examples(tmp_path / "sim", profile="small", start="2026-03-09T23:00:00Z",
                                 hours=2, seed=5, faults="gap:a:north@0h20m+20m")
    options = sim / "icon-options.toml"
    options.write_text(options.read_text().replace("[icon-etl]", "[icon-etl]\nmax-call-idle = 600"))
    stores = []
    for name, url in (("lite", f"sqlite:///{tmp_path / 'idb.sqlite'}"), ("pg", pg_url)):
        defs = graph(sim / "logs", sim / "config.json", tmp_path / name, options=options,
                     idb_url=url)
        with dg.instance_for_test() as instance:
            assert runner.run_all(defs, instance, progress=lambda _: None,
                                  checks=False)["failed_runs"] == 0
        stores.append(IdbStore(url))
    lite, pg = stores
    for name in KPI:
        a, b = (s.read(name).sort(table(name).key) for s in (lite, pg))
        assert a.height > 0 and a.equals(b), name
    a, b = (s.read("G_LOG_MESSAGES").drop("TIMEWRITTEN", "HOSTNAME").sort("ID") for s in (lite, pg))
    assert a.height >= 2 and a.equals(b)     # a call and the login sessions the gap cut
    a, b = (s.read("G_LOG_ATTRS").sort("ID", "ATTR_NAME") for s in (lite, pg))
    assert a.equals(b)
