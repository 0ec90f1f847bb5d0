"""Tests of the contact-center log simulator (docs/simulator.md).

They run the real simulator into tmp folders and read its files back with a small,
independent reader of the T-Server log format written here from
docs/log-format.md (not the simulator's own code).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from simulator import PROFILES, SCENARIOS, simulate

HEADER_KEYS = ("Application name:", "Application type:", "Command line:", "Host name:", "DST:",
               "Time zone:", "UTC time:", "Local time:", "Start time (UTC):", "Running time:",
               "Host info:", "File:")
EVENT_RE = re.compile(r"^@(\d\d):(\d\d):(\d\d)\.(\d{4}) \[0\] 8\.1\.101\.25 "
                      r"(distribute_event|distribute call/party event|send_to_client): message (Event\w+)$")
ISO_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) (Std|Trc|Int|Dbg|Alr) (\d{5}) (.*)$")
REQ_RE = re.compile(r"^(Request\w+) received from \[\d+\] \([0-9a-f]{8} \S+ [\d.]+:\d+\)$")
ATTR_RE = re.compile(r"^\t(Attribute\w+)\t(.*)$")
KV_HEAD_RE = re.compile(r"^\[(\d+)\] ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) 00\.\.$")
MEMBER_RE = re.compile(r"^'[^']*'(\t('[^']*'|\d+)|\(list\) )$")
UUID_RE = re.compile(r"AttributeCallUUID\t'([A-Z0-9]{32})'")
OUTCOMES = {"answered", "abandoned_in_queue", "abandoned_ringing", "transferred", "conferenced",
            "consult_cancelled", "transfer_failed", "busy", "merged", None,
            "no_answer", "answering_machine", "dropped"}         # calls an OCS dialed


# ---------------------------------------------------------------------------------------------
# an independent reader of the log files
# ---------------------------------------------------------------------------------------------
class Segment:
    def __init__(self, path: Path):
        self.path = path
        text = path.read_text(encoding="ascii")
        assert text.endswith("\n"), path
        lines = text[:-1].split("\n")
        blank = lines.index("")
        self.header_lines = lines[:blank]
        self.header = {}
        for line in self.header_lines:
            key = next(k for k in HEADER_KEYS if line.startswith(k))
            self.header[key[:-1]] = line[len(key):].strip()
        self.content = lines[blank + 1:]
        self.ordinal = int(re.match(r"\((\d+)\) ", self.header["File"]).group(1))


def segments(folder: Path, app: str) -> list[Segment]:
    segs = sorted((Segment(p) for p in folder.glob(f"{app}.*.log")), key=lambda s: s.ordinal)
    assert [s.ordinal for s in segs] == list(range(1, len(segs) + 1))
    return segs


class Block:
    def __init__(self, kind: str, name: str, head: str, lineno: int):
        self.kind = kind          # event / request / line
        self.name = name
        self.head = head
        self.lineno = lineno
        self.body: list[str] = []

    def attrs(self) -> dict[str, str]:
        out = {}
        for line in self.body:
            m = ATTR_RE.match(line)
            if m:
                out[m.group(1)] = m.group(2)
        return out


def parse_blocks(lines: list[str]) -> list[Block]:
    """Blocks of the concatenated content of one T-Server; asserts the line grammar."""
    blocks: list[Block] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        m = EVENT_RE.match(line)
        if m:
            b = Block("event", m.group(6), line, i)
        else:
            m = ISO_RE.match(line)
            assert m, f"line {i}: not a block start: {line!r}"
            rm = REQ_RE.match(m.group(4)) if m.group(3) == "04541" else None
            if rm:
                assert lines[i + 1] == f"message {rm.group(1)}", lines[i:i + 2]
                b = Block("request", rm.group(1), line, i)
                i += 1
            else:
                b = Block("line", m.group(4), line, i)
        i += 1
        while i < n and lines[i].startswith("\t"):
            b.body.append(lines[i])
            i += 1
        if b.kind != "line":
            assert b.body, f"block without attributes at line {b.lineno}: {b.head}"
        else:
            assert not b.body, f"standard line followed by TAB lines at {b.lineno}"
        blocks.append(b)
    return blocks


def check_block_grammar(b: Block) -> None:
    """Attribute lines at depth 1; KV-list headers announce exactly their members."""
    body = b.body
    j = 0
    while j < len(body):
        m = ATTR_RE.match(body[j])
        assert m, f"{b.head}: bad attribute line {body[j]!r}"
        kv = KV_HEAD_RE.match(m.group(2))
        j += 1
        if not kv:
            assert not (j < len(body) and body[j].startswith("\t\t")), (b.head, body[j])
            continue
        count = int(kv.group(2) + kv.group(3), 16)
        members = []
        while j < len(body) and body[j].startswith("\t\t"):
            line = body[j]
            depth = len(line) - len(line.lstrip("\t"))
            assert MEMBER_RE.match(line[depth:]), f"{b.head}: bad member {line!r}"
            if depth == 2:
                members.append(line[2:])
            j += 1
        assert len(members) == count, f"{b.head}: {m.group(1)} says {count} pairs, has {len(members)}"
        if members:
            first = members[0]
            want = "03" if first.endswith("(list) ") else ("00" if first.split("\t")[1].startswith("'") else "01")
            assert kv.group(4) == want, (b.head, m.group(1), first)


def read_log(folder: Path, app: str) -> tuple[list[Segment], list[Block]]:
    segs = segments(folder, app)
    lines = [line for s in segs for line in s.content]
    return segs, parse_blocks(lines)


def content(folder: Path, app: str) -> str:
    return "\n".join(line for s in segments(folder, app) for line in s.content)


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# runs shared by several tests (small profile, defaults: 3 h from 2026-03-09T22:00Z, seed 7)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    lines: list[str] = []
    summary = simulate(out, progress=lines.append)
    return out, summary, lines


@pytest.fixture(scope="module")
def small_again(tmp_path_factory):
    out = tmp_path_factory.mktemp("small_again")
    simulate(out)
    return out


@pytest.fixture(scope="module")
def small_replicas(tmp_path_factory):
    out = tmp_path_factory.mktemp("small_replicas")
    simulate(out, replicas=2)
    return out


# ---------------------------------------------------------------------------------------------
def test_same_seed_is_byte_identical_and_other_seed_differs(small, small_again, tmp_path):
    out, _, _ = small
    first = all_files(out)
    assert any(k.startswith("logs/") for k in first) and "config.json" in first
    assert "truth/calls.jsonl" in first and "truth/agents.jsonl" in first
    assert first == all_files(small_again)
    simulate(tmp_path, seed=8)
    other = all_files(tmp_path)
    assert other["config.json"] == first["config.json"]        # configuration: profile only
    assert other["truth/calls.jsonl"] != first["truth/calls.jsonl"]
    north = sorted(k for k in first if "TS_NORTH" in k)
    assert first[north[0]] != other[sorted(k for k in other if "TS_NORTH" in k)[0]]


def test_every_segment_has_a_header_and_blocks_are_well_formed(small):
    out, _, _ = small
    for app, host, tz in (("TS_NORTH", "cc-north-01", "-3600"), ("TS_SOUTH", "cc-south-01", "18000")):
        segs, blocks = read_log(out / "logs", app)
        for s in segs:
            assert [line.split(":")[0] + ":" for line in s.header_lines] == list(HEADER_KEYS)
            assert s.header["Application name"] == app
            assert s.header["Application type"] == "TServer (1)"
            assert s.header["Host name"] == host
            assert s.header["Time zone"].split(",")[0] == tz
            assert s.header["File"].endswith("/" + s.path.name)
            stamp = s.path.name[len(app) + 1:-4]
            local = datetime.strptime(s.header["Local time"], "%Y-%m-%dT%H:%M:%S.%f")
            assert stamp == local.strftime("%Y%m%d_%H%M%S_") + f"{local.microsecond // 1000:03d}"
        assert any(line.endswith("Trc 04100 Logging service started") for line in segs[0].content[:20])
        assert not any("Logging service started" in line for s in segs[1:] for line in s.content)
        for b in blocks:
            check_block_grammar(b)
            if b.kind == "request":
                assert b.body[0].startswith("\tAttributeReferenceID\t"), b.head
            if b.kind == "event":
                assert b.body[0].startswith("\tAttributeEventSequenceNumber\t")
                assert b.attrs()["AttributeCustomerID"] == "'Resources'"


def test_sequence_numbers_increase_by_one_per_tserver_across_segments(small):
    out, summary, _ = small
    for app, switch in (("TS_NORTH", "SW_NORTH"), ("TS_SOUTH", "SW_SOUTH")):
        segs, blocks = read_log(out / "logs", app)
        seqs = [int(b.attrs()["AttributeEventSequenceNumber"], 16) for b in blocks if b.kind == "event"]
        assert all(len(b.attrs()["AttributeEventSequenceNumber"]) == 16 for b in blocks if b.kind == "event")
        assert seqs and all(b - a == 1 for a, b in zip(seqs, seqs[1:]))
        assert len(seqs) == summary["switches"][switch]["events"]
    assert len(segments(out / "logs", "TS_NORTH")) >= 2     # the north log rolled over


def _local_times(seg_list: list[Segment], blocks: list[Block]):
    """(block, local datetime) for every event, dating `@` lines from the header and midnight."""
    local = datetime.strptime(seg_list[0].header["Local time"], "%Y-%m-%dT%H:%M:%S.%f")
    day = local.date()
    prev = None
    for b in blocks:
        if b.kind == "event":
            m = EVENT_RE.match(b.head)
            tod = timedelta(hours=int(m.group(1)), minutes=int(m.group(2)), seconds=int(m.group(3)),
                            microseconds=int(m.group(4)) * 100)
            if prev is not None and tod < prev:
                day += timedelta(days=1)      # the `@` clock wrapped at midnight
            prev = tod
            yield b, datetime.combine(day, datetime.min.time()) + tod
        else:
            iso = datetime.strptime(ISO_RE.match(b.head).group(1), "%Y-%m-%dT%H:%M:%S.%f")
            assert iso.date() == day or (prev is not None and iso.date() == day + timedelta(days=1))
            yield b, iso


def test_event_times_agree_with_epoch_attributes_and_time_zone(small):
    out, _, _ = small
    for app in ("TS_NORTH", "TS_SOUTH"):
        segs, blocks = read_log(out / "logs", app)
        west = int(segs[0].header["Time zone"].split(",")[0])
        last = None
        for b, local in _local_times(segs, blocks):
            assert last is None or local >= last - timedelta(milliseconds=1), b.head
            last = local
            if b.kind != "event":
                continue
            a = b.attrs()
            secs_txt, paren = a["AttributeTimeinSecs"].split(" ")
            epoch = datetime.fromtimestamp(int(secs_txt), timezone.utc).replace(tzinfo=None)
            utc = epoch + timedelta(microseconds=int(a["AttributeTimeinuSecs"]))
            assert utc - timedelta(seconds=west) == local, b.head
            assert paren == "(" + b.head[1:9] + ")"


def test_small_run_crosses_local_midnight_with_check_points(small):
    out, _, _ = small
    segs, blocks = read_log(out / "logs", "TS_NORTH")
    heads = [b.head for b in blocks if b.kind == "event"]
    assert heads[0].startswith("@23:") and any(h.startswith("@00:") for h in heads)
    points = [b.head for b in blocks if b.kind == "line" and " 04120 Check point " in b.head]
    assert len(points) == 2                                   # hourly, 3 h window
    dates = [p.split("Check point ")[1] for p in points]
    assert dates[0].startswith("2026-03-10T00:00") and dates[1].startswith("2026-03-10T01:00")
    assert all(p[:10] == d[:10] for p, d in zip(points, dates))


def test_a_block_is_split_across_two_segments(small):
    out, summary, _ = small
    starts = [s.content[0] for app in ("TS_NORTH", "TS_SOUTH")
              for s in segments(out / "logs", app)[1:]]
    assert any(line.startswith("\t") for line in starts), starts
    assert summary["replicas"]["a"]["split_blocks"] >= 1


def test_every_scenario_occurs_and_truth_is_consistent(small):
    out, summary, lines = small
    calls = load_jsonl(out / "truth" / "calls.jsonl")
    assert {c["scenario"] for c in calls} >= set(SCENARIOS)
    assert all(summary["scenarios"][s] >= 1 for s in SCENARIOS)
    for hour in ("2026-03-09T22", "2026-03-09T23", "2026-03-10T00"):   # walk-through every hour
        assert {c["scenario"] for c in calls if c["created"].startswith(hour)} >= set(SCENARIOS), hour
    assert {c["outcome"] for c in calls} <= OUTCOMES
    by_uuid = {c["call_uuid"]: c for c in calls}
    assert len(by_uuid) == len(calls)
    for c in calls:
        if c["merged_into"]:
            assert c["outcome"] == "merged" and c["merged_into"] in by_uuid
            assert c["parent_call_uuid"] == c["merged_into"]
        if c["terminated"]:
            assert c["created"] <= c["terminated"]
            for p in c["parties"]:
                assert p["ended"] is not None and p["ended"] <= c["terminated"]
    for variant in ("consult_cancelled", "transfer_failed", "busy", "conferenced"):
        assert any(c["outcome"] == variant for c in calls), variant
    assert len(lines) == 3 and all(re.match(r"simulated 2026-03-\d\d \d\d:00Z: [\d,]+ calls, [\d,]+ events$", x)
                                   for x in lines)


def test_truth_and_logs_name_the_same_calls(small):
    out, _, _ = small
    calls = load_jsonl(out / "truth" / "calls.jsonl")
    logged: dict[str, str] = {}
    created: dict[str, int] = {}
    deleted: set[str] = set()
    text = {}
    for app, switch in (("TS_NORTH", "SW_NORTH"), ("TS_SOUTH", "SW_SOUTH")):
        text[switch] = content(out / "logs", app)
        for u in UUID_RE.findall(text[switch]):
            logged.setdefault(u, switch)
        for b in read_log(out / "logs", app)[1]:
            if b.name == "EventCallCreated":
                u = b.attrs()["AttributeCallUUID"].strip("'")
                created[u] = created.get(u, 0) + 1
                assert logged[u] == switch
            elif b.name == "EventCallDeleted":
                deleted.add(b.attrs()["AttributeCallUUID"].strip("'"))
    assert set(logged) == {c["call_uuid"] for c in calls}
    assert set(created) == set(logged) and set(created.values()) == {1}
    for c in calls:
        assert logged[c["call_uuid"]] == c["switch"]
        assert (c["terminated"] is not None) == (c["call_uuid"] in deleted)
        for conn in c["conn_ids"]:
            assert re.fullmatch(r"[0-9a-f]{16}", conn) and f"AttributeConnID\t{conn}\n" in text[c["switch"]] + "\n"
    assert "'CustomerPIN'\t'" in text["SW_NORTH"] + text["SW_SOUTH"]


def test_requests_come_before_the_events_they_cause(small):
    out, _, _ = small
    for app in ("TS_NORTH", "TS_SOUTH"):
        pending: dict[tuple[str, str], int] = {}
        answered = 0
        for b in read_log(out / "logs", app)[1]:
            a = b.attrs()
            if b.kind == "request":
                pending[(a.get("AttributeThisDN", ""), a["AttributeReferenceID"])] = b.lineno
            elif b.kind == "event" and "AttributeReferenceID" in a:
                key = (a.get("AttributeThisDN", ""), a["AttributeReferenceID"])
                assert key in pending, f"{b.head} has ReferenceID but no request before it"
                del pending[key]
                answered += 1
        assert not pending and answered > 100


def test_agent_truth_matches_agent_events(small):
    out, _, _ = small
    sessions = load_jsonl(out / "truth" / "agents.jsonl")
    logins: list[tuple[str, str, str]] = []
    kinds: set[str] = set()
    for app in ("TS_NORTH", "TS_SOUTH"):
        segs, blocks = read_log(out / "logs", app)
        for b in blocks:
            if b.kind == "event" and b.name.startswith(("EventAgent", "EventDND", "EventUserEvent")):
                a = b.attrs()
                kinds.add(b.name)
                if b.name.startswith("EventAgent"):
                    for key in ("AttributeThisDN", "AttributeAgentID", "AttributeThisQueue", "AttributeAgentWorkMode"):
                        assert key in a, (b.head, key)
                if b.name == "EventAgentLogin":
                    secs = int(a["AttributeTimeinSecs"].split()[0])
                    t = datetime.fromtimestamp(secs, timezone.utc) + timedelta(microseconds=int(a["AttributeTimeinuSecs"]))
                    logins.append((a["AttributeAgentID"].strip("'"), a["AttributeThisDN"].strip("'"), t.isoformat()))
    assert kinds >= {"EventAgentLogin", "EventAgentLogout", "EventAgentReady", "EventAgentNotReady",
                     "EventDNDOn", "EventDNDOff", "EventUserEvent"}
    assert len(logins) == sum(len(s["dns"]) for s in sessions)
    assert any(len(s["dns"]) == 2 for s in sessions)
    assert any(s["logout"] is None for s in sessions) and any(s["logout"] for s in sessions)
    login_set = set(logins)
    for s in sessions:
        assert (s["agent"], s["dns"][0], s["login"]) in login_set
        states = s["states"]
        assert states[0]["state"] == "login"
        assert {x["state"] for x in states} <= {"login", "ready", "notready", "acw"}
        for dn in s["dns"]:
            mine = [x for x in states if x["dn"] == dn]
            for x, y in zip(mine, mine[1:]):
                assert x["end"] == y["start"]
    all_states = [x for s in sessions for x in s["states"]]
    assert any(x["state"] == "acw" and x["workmode"] == 3 for x in all_states)
    assert any(x["reasons"].get("Reason") in {"Break", "Lunch", "Training", "Meeting"} for x in all_states)


def test_two_replicas_carry_the_same_events(small, small_replicas):
    out, _, _ = small
    for app in ("TS_NORTH", "TS_SOUTH"):
        a = segments(small_replicas / "logs" / "a", app)
        b = segments(small_replicas / "logs" / "b", app)
        assert all(s.header["Host name"].endswith("-b") for s in b)
        assert not any(s.header["Host name"].endswith("-b") for s in a)
        assert content(small_replicas / "logs" / "a", app) == content(small_replicas / "logs" / "b", app)
        # replica a is exactly what a single-replica run writes
        assert all_files(small_replicas / "logs" / "a") == all_files(out / "logs")
    na = [s.path.name for s in segments(small_replicas / "logs" / "a", "TS_NORTH")]
    nb = [s.path.name for s in segments(small_replicas / "logs" / "b", "TS_NORTH")]
    assert na[0] == nb[0] and na[1:] != nb[1:]               # b rolls at other points


def test_config_snapshot_describes_the_logged_dns(small):
    out, _, _ = small
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["format"] == "icon-etl-config/1"
    dns = {(d["switch_dbid"], d["number"]): d for d in cfg["dns"]}
    types = {d["type"] for d in cfg["dns"]}
    assert types == {"Extension", "ACDQueue", "RoutingPoint", "VirtACDQueue", "ExtRoutingPoint", "Trunk"}
    persons = {p["dbid"] for p in cfg["persons"]}
    assert all(lg["person_dbid"] in persons for lg in cfg["agent_logins"])
    assert len(cfg["agent_logins"]) == 11 and sum(len(p["dn_dbids"]) == 2 for p in cfg["places"]) == 1
    for app, sw in (("TS_NORTH", 1), ("TS_SOUTH", 2)):
        this_dns = set(re.findall(r"AttributeThisDN\t'([^']+)'", content(out / "logs", app)))
        assert this_dns and all((sw, dn) in dns for dn in this_dns)


def test_custom_profile_object_and_dict(tmp_path):
    tiny = dataclasses.replace(PROFILES["small"], name="tiny", segment_mb=0.1, north_agents=4,
                               south_agents=1, calls_per_hour=(30.0,) * 24, walkthrough=False)
    s = simulate(tmp_path / "obj", profile=tiny, hours=1, seed=3)
    assert s["arguments"]["profile"] == "tiny" and s["agents"] == 5
    assert len(segments(tmp_path / "obj" / "logs", "TS_NORTH")) >= 3
    d = simulate(tmp_path / "dict", profile={"segment_mb": 0.1, "north_agents": 4, "south_agents": 1},
                 hours=0.5, seed=3)
    assert d["agents"] == 5


def test_bep300_runs(tmp_path):
    s = simulate(tmp_path, profile="bep300", start="2026-03-10T09:00:00Z", hours=0.05)
    assert s["agents"] == 300 and s["calls"] > 100
    segs, blocks = read_log(tmp_path / "logs", "TS_NORTH")
    for b in blocks[:2000]:
        check_block_grammar(b)


@pytest.mark.parametrize("kwargs, message", [
    ({"profile": "huge"}, "profile"),
    ({"hours": 0}, "hours"),
    ({"hours": -1}, "hours"),
    ({"replicas": 3}, "replicas"),
    ({"start": "yesterday"}, "start"),
])
def test_bad_arguments_raise_value_error(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate(tmp_path, **kwargs)


def test_segment_writer_moves_a_roll_over_into_a_block(tmp_path):
    """When the size limit falls exactly on a block boundary, the first roll-over is moved one
    line earlier so that a block is split (H11 occurs in every run)."""
    from simulator.clock import SiteClock, parse_start
    from simulator.logwriter import SegmentWriter

    t0 = parse_start("2026-03-09T22:00:00Z")
    block = "@23:00:01.0000 [0] 8.1.101.25 distribute_event: message EventX\n\tAttributeA\t1\n\tAttributeB\t2\n"
    probe = SegmentWriter(tmp_path / "probe", "TS_T", "h", "-3600, x, y", SiteClock(3600), 10**6, 10**6, False)
    (tmp_path / "probe").mkdir()
    probe.restart(t0, t0)
    header_len = probe._size
    probe.close()
    for force, folder in ((False, "plain"), (True, "forced")):
        (tmp_path / folder).mkdir()
        limit = header_len + 2 * len(block)          # full after exactly two blocks
        w = SegmentWriter(tmp_path / folder, "TS_T", "h", "-3600, x, y", SiteClock(3600), limit, limit, force)
        w.restart(t0, t0)
        for i in range(3):
            w.write(t0 + i * 10_000, block)
        w.close()
        segs = segments(tmp_path / folder, "TS_T")
        assert len(segs) == 2
        assert parse_blocks([line for s in segs for line in s.content])  # still well formed
        first_line = segs[1].content[0]
        assert first_line.startswith("\t") == force, (folder, first_line)
        assert w.splits == (1 if force else 0)


# ---------------------------------------------------------------------------------------------
# faults in HA replicas (docs/simulator.md "Faults")
# ---------------------------------------------------------------------------------------------
F1 = "gap:a:north@30m+10m; link_down:b:north@1h10m+3m; restart:a:south@1h30m+2m; skew:b:south=+2s"
F2 = "switchover:a:north@1h30m+5s; restart:b:north@2h+1m"


@pytest.fixture(scope="module")
def faulted(tmp_path_factory):
    out1 = tmp_path_factory.mktemp("faults1")
    simulate(out1, replicas=2, faults=F1)
    out2 = tmp_path_factory.mktemp("faults2")
    simulate(out2, replicas=2, faults=F2)
    return out1, out2


@pytest.fixture(scope="module")
def default_faults(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults_default")
    summary = simulate(out, replicas=2, faults="default")
    return out, summary


def log_segments(folder: Path, app: str) -> list[Segment]:
    """All segments of a T-Server in time order, including a restarted process (ordinals start
    again at 1) and a switchover's backup (`<app>_B`): ordered by the name's time stamp."""
    paths = [p for p in folder.glob("*.log") if p.name.split(".")[0] in (app, app + "_B")]
    return [Segment(p) for p in sorted(paths, key=lambda p: p.name.split(".", 1)[1])]


def read_any(folder: Path, app: str) -> tuple[list[Segment], list[Block], list[int]]:
    """Segments, well-formed blocks of their concatenated content, first line of each segment."""
    segs = log_segments(folder, app)
    lines, starts = [], []
    for s in segs:
        assert [line.split(":")[0] + ":" for line in s.header_lines] == list(HEADER_KEYS), s.path
        assert s.header["File"].endswith("/" + s.path.name)
        assert s.header["Application name"] == s.path.name.split(".")[0]
        starts.append(len(lines))
        lines += s.content
    blocks = parse_blocks(lines)
    for b in blocks:
        check_block_grammar(b)
        if b.kind == "event":
            assert b.body[0].startswith("\tAttributeEventSequenceNumber\t"), b.head
    return segs, blocks, starts


def utc_of(b: Block, west: int) -> datetime:
    if b.kind == "event":
        a = b.attrs()
        secs = int(a["AttributeTimeinSecs"].split()[0])
        return (datetime.fromtimestamp(secs, timezone.utc).replace(tzinfo=None)
                + timedelta(microseconds=int(a["AttributeTimeinuSecs"])))
    local = datetime.strptime(ISO_RE.match(b.head).group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return local + timedelta(seconds=west)


def text(b: Block, seq: bool = True) -> str:
    body = [x for x in b.body if seq or not x.startswith("\tAttributeEventSequenceNumber\t")]
    return "\n".join([b.head] + body)


def seq_of(b: Block) -> int:
    return int(b.attrs()["AttributeEventSequenceNumber"], 16)


def block_end(b: Block) -> int:
    """Line index after the block in the concatenated content."""
    return b.lineno + len(b.body) + (2 if b.kind == "request" else 1)


def iso_utc(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(timezone.utc).replace(tzinfo=None)


def fault_record(out: Path, replica: str, tserver: str, kind: str) -> dict:
    doc = json.loads((out / "truth" / "faults.json").read_text())
    found = [f for f in doc["faults"] if (f["replica"], f["tserver"], f["kind"]) == (replica, tserver, kind)]
    assert len(found) == 1, doc
    return found[0]


def test_gap_removes_exactly_the_window_from_that_replica(small_replicas, faulted):
    out, _ = faulted
    f = fault_record(out, "a", "TS_NORTH", "gap")
    t0, t1 = iso_utc(f["start"]), iso_utc(f["end"])
    assert (t0, t1) == (datetime(2026, 3, 9, 22, 30), datetime(2026, 3, 9, 22, 40))
    assert (iso_utc(f["missing"]["start"]), iso_utc(f["missing"]["end"])) == (t0, t1)
    _, ref, _ = read_any(small_replicas / "logs" / "a", "TS_NORTH")
    segs, got, starts = read_any(out / "logs" / "a", "TS_NORTH")
    inside = [b for b in ref if t0 <= utc_of(b, -3600) < t1]
    # exactly the entries of the window are gone, everything else is the same text (same numbers)
    assert [text(b) for b in got] == [text(b) for b in ref if not t0 <= utc_of(b, -3600) < t1]
    events = [b for b in inside if b.kind == "event"]
    assert f["missing"]["entries"] == len(inside) > 20 and f["missing"]["events"] == len(events)
    assert f["missing"]["first_event_seq"] == events[0].attrs()["AttributeEventSequenceNumber"]
    assert f["missing"]["last_event_seq"] == events[-1].attrs()["AttributeEventSequenceNumber"]
    assert f["dsconn_type"] is None and f["injected"] == []
    # the segment before ends with the last whole block before t0; the next one starts at the
    # first entry at/after t1 with a fresh header (next ordinal, same process)
    before = max((b for b in got if utc_of(b, -3600) < t0), key=lambda b: b.lineno)
    after = min((b for b in got if utc_of(b, -3600) >= t1), key=lambda b: b.lineno)
    j = starts.index(after.lineno)
    assert block_end(before) == starts[j] and j >= 1
    prev, nxt = segs[j - 1], segs[j]
    assert nxt.ordinal == prev.ordinal + 1 and nxt.header["Start time (UTC)"] == prev.header["Start time (UTC)"]
    first_local = after.head[1:13] if after.kind == "event" else after.head[11:23]
    assert nxt.header["Local time"][11:23] == first_local
    seqs = [seq_of(b) for b in got if b.kind == "event"]
    jumps = [(x, y) for x, y in zip(seqs, seqs[1:]) if y != x + 1]
    assert jumps == [(seq_of(events[0]) - 1, seq_of(events[-1]) + 1)]    # the T-Server numbered them
    # replica b of north and both replicas of south are untouched by this fault
    _, ref_b, _ = read_any(small_replicas / "logs" / "b", "TS_NORTH")
    _, got_b, _ = read_any(out / "logs" / "b", "TS_NORTH")
    assert [text(b) for b in got_b if t0 <= utc_of(b, -3600) < t1] == [text(b) for b in inside]


def test_link_down_writes_link_events_and_loses_the_tlib_traffic_between(small_replicas, faulted):
    out, _ = faulted
    f = fault_record(out, "b", "TS_NORTH", "link_down")
    t0, t1 = iso_utc(f["start"]), iso_utc(f["end"])
    _, ref, _ = read_any(small_replicas / "logs" / "b", "TS_NORTH")
    _, got, _ = read_any(out / "logs" / "b", "TS_NORTH")

    def link_event(name: str, t: datetime) -> str:
        local = t - timedelta(seconds=-3600)
        epoch = int(t.replace(tzinfo=timezone.utc).timestamp())
        return "\n".join([f"@{local:%H:%M:%S}.0000 [0] 8.1.101.25 distribute_event: message {name}",
                          "\tAttributeCustomerID\t'Resources'", "\tAttributeTimeinuSecs\t0",
                          f"\tAttributeTimeinSecs\t{epoch} ({local:%H:%M:%S})"])

    expected, lost = [], []
    for b in ref:
        t = utc_of(b, -3600)
        if t >= t0 and link_event("EventLinkDisconnected", t0) not in expected:
            expected.append(link_event("EventLinkDisconnected", t0))
        if t >= t1 and link_event("EventLinkConnected", t1) not in expected:
            expected.append(link_event("EventLinkConnected", t1))
        if t0 <= t < t1 and (b.kind != "line" or " 04542 " in b.head):
            lost.append(b)
        else:
            expected.append(text(b, seq=False))
    assert [text(b, seq=False) for b in got] == expected
    assert f["missing"]["entries"] == len(lost) > 5
    assert f["missing"]["events"] == sum(b.kind == "event" for b in lost)
    assert [x["event"] for x in f["injected"]] == ["EventLinkDisconnected", "EventLinkConnected"]
    assert [iso_utc(x["time"]) for x in f["injected"]] == [t0, t1] and f["dsconn_type"] == 2
    # the replica's T-Server numbers what it saw: the same numbers as the other replica up to
    # the link down, then one sequence without a jump, the link events included
    seqs = [seq_of(b) for b in got if b.kind == "event"]
    assert all(y == x + 1 for x, y in zip(seqs, seqs[1:]))
    before = [b for b in got if b.kind == "event" and utc_of(b, -3600) < t0]
    assert [seq_of(b) for b in before] == [seq_of(b) for b in ref if b.kind == "event" and utc_of(b, -3600) < t0]


def test_restart_gives_a_new_process_header_and_restarts_the_sequence(small_replicas, faulted):
    _, out = faulted
    f = fault_record(out, "b", "TS_NORTH", "restart")
    t0, t1 = iso_utc(f["start"]), iso_utc(f["end"])
    _, ref, _ = read_any(small_replicas / "logs" / "b", "TS_NORTH")
    segs, got, starts = read_any(out / "logs" / "b", "TS_NORTH")
    new = [i for i, s in enumerate(segs) if s.header["Start time (UTC)"] == f"{t1 - timedelta(seconds=1):%Y-%m-%dT%H:%M:%S}"]
    assert new and new[0] > 0 and [segs[i].ordinal for i in new] == list(range(1, len(new) + 1))
    seg = segs[new[0]]
    assert seg.ordinal == 1 and seg.header["Running time"] == "0:00:00:00"
    assert seg.header["Host name"] == "cc-north-01-b" and seg.header["Application name"] == "TS_NORTH"
    assert iso_utc(f["process_start"]) == t1 - timedelta(seconds=1)
    assert seg.content[0].endswith("Std 04106 Log Messages file 'common.lms' successfully loaded")
    assert seg.content[8].endswith("Trc 04100 Logging service started")
    assert "Std 04500 New client" in seg.content[9] and "URS_NORTH" in seg.content[9]
    mine = [b for b in got if b.lineno >= starts[new[0]]]
    server = next(b for b in mine if b.kind == "event")
    assert server.name == "EventServerConnected" and seq_of(server) == 1
    assert server.attrs()["AttributeApplicationName"] == "'TS_NORTH'"
    assert utc_of(server, -3600) < t1 and f["injected"][0]["seq"] == "0000000000000001"
    seqs = [seq_of(b) for b in mine if b.kind == "event"]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 50
    # before: the same as the other run; the outage: nothing; after: the same entries
    old = [b for b in got if b.lineno < starts[new[0]]]
    assert [text(b) for b in old] == [text(b) for b in ref if utc_of(b, -3600) < t0]
    assert block_end(old[-1]) == starts[new[0]]
    after = [text(b, seq=False) for b in mine if utc_of(b, -3600) >= t1]
    assert after == [text(b, seq=False) for b in ref if utc_of(b, -3600) >= t1]
    assert f["missing"]["entries"] == sum(t0 <= utc_of(b, -3600) < t1 for b in ref) > 0
    assert f["dsconn_type"] == 3


def test_switchover_continues_from_the_backup_tserver(small_replicas, faulted):
    _, out = faulted
    f = fault_record(out, "a", "TS_NORTH", "switchover")
    t0, t1 = iso_utc(f["start"]), iso_utc(f["end"])
    assert (f["to_tserver"], f["to_host"], f["dsconn_type"]) == ("TS_NORTH_B", "cc-north-02", 5)
    _, ref, _ = read_any(small_replicas / "logs" / "a", "TS_NORTH")
    segs, got, starts = read_any(out / "logs" / "a", "TS_NORTH")
    backup = [i for i, s in enumerate(segs) if s.header["Application name"] == "TS_NORTH_B"]
    assert backup and backup == list(range(backup[0], len(segs)))     # from then on: the backup
    first = segs[backup[0]]
    assert first.path.name.startswith("TS_NORTH_B.") and first.ordinal == 1
    assert first.header["Host name"] == "cc-north-02"
    assert "-app TS_NORTH_B" in first.header["Command line"]
    assert first.header["Start time (UTC)"] == "2026-03-09T21:00:00"          # running all along
    assert re.search(r" Std 20033 Switchover: 'TS_NORTH_B' is now primary \(was backup of 'TS_NORTH'\)$",
                     first.content[0])
    mine = [b for b in got if b.lineno >= starts[backup[0]]]
    server = next(b for b in mine if b.kind == "event")
    assert server.name == "EventServerConnected"
    assert server.attrs()["AttributeApplicationName"] == "'TS_NORTH_B'"
    assert server.attrs()["AttributeEventSequenceNumber"] == f["first_seq"]
    seqs = [seq_of(b) for b in mine if b.kind == "event"]
    assert all(y == x + 1 for x, y in zip(seqs, seqs[1:]))
    primary_seqs = {seq_of(b) for b in got if b.kind == "event" and b.lineno < starts[backup[0]]}
    assert not primary_seqs & set(seqs)                              # its own numbers
    old = [b for b in got if b.lineno < starts[backup[0]]]
    assert [text(b) for b in old] == [text(b) for b in ref if utc_of(b, -3600) < t0]
    assert [text(b, seq=False) for b in mine if utc_of(b, -3600) >= t1] == \
        [text(b, seq=False) for b in ref if utc_of(b, -3600) >= t1]


def _shift(line: str, d: timedelta) -> str:
    """Move every time stamp of a log line by d (an independent rendering of the formats)."""
    m = re.match(r"^@(\d\d:\d\d:\d\d)\.(\d{4})( .*)$", line)
    if m:
        t = datetime.strptime(m.group(1), "%H:%M:%S") + d
        return f"@{t:%H:%M:%S}.{m.group(2)}{m.group(3)}"
    m = re.match(r"^\tAttributeTimeinSecs\t(\d+) \((\d\d:\d\d:\d\d)\)$", line)
    if m:
        t = datetime.strptime(m.group(2), "%H:%M:%S") + d
        return f"\tAttributeTimeinSecs\t{int(m.group(1)) + int(d.total_seconds())} ({t:%H:%M:%S})"
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})( .*)$", line)
    if m:
        t = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f") + d
        rest = m.group(2)
        cp = re.match(r"^( Trc 04120 Check point )(\S+)$", rest)
        if cp:
            rest = cp.group(1) + f"{datetime.strptime(cp.group(2), '%Y-%m-%dT%H:%M:%S') + d:%Y-%m-%dT%H:%M:%S}"
        return f"{t:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + rest
    return line


def test_skew_shifts_every_timestamp_of_that_replica(small_replicas, faulted):
    out, _ = faulted
    f = fault_record(out, "b", "TS_SOUTH", "skew")
    assert f["skew_seconds"] == 2.0 and "missing" not in f
    d = timedelta(seconds=2)
    ref = log_segments(small_replicas / "logs" / "b", "TS_SOUTH")
    got = log_segments(out / "logs" / "b", "TS_SOUTH")
    assert len(ref) == len(got)
    for r, g in zip(ref, got):
        stamp = datetime.strptime(r.path.name.split(".")[1], "%Y%m%d_%H%M%S_%f") + d
        assert g.path.name == f"TS_SOUTH.{stamp:%Y%m%d_%H%M%S_}{stamp.microsecond // 1000:03d}.log"
        for key in ("UTC time", "Local time"):
            assert g.header[key] == f"{datetime.strptime(r.header[key], '%Y-%m-%dT%H:%M:%S.%f') + d:%Y-%m-%dT%H:%M:%S.%f}"[:-3]
        assert g.header["Start time (UTC)"] == f"{datetime.strptime(r.header['Start time (UTC)'], '%Y-%m-%dT%H:%M:%S') + d:%Y-%m-%dT%H:%M:%S}"
        assert g.header["Running time"] == r.header["Running time"]
        assert g.content == [_shift(line, d) for line in r.content]
        assert g.content != r.content
    # the other T-Server of replica b keeps the true clock
    assert log_segments(out / "logs" / "b", "TS_NORTH")[0].header["UTC time"] == "2026-03-09T22:00:00.000"


def test_default_fault_set_and_faults_json(small_replicas, default_faults, tmp_path):
    out, summary = default_faults
    assert summary["arguments"]["faults"] == "default"
    doc = json.loads((out / "truth" / "faults.json").read_text())
    assert doc["spec"] == "default" and doc["window"]["start"] == "2026-03-09T22:00:00.000000+00:00"
    got = [(f["replica"], f["tserver"], f["kind"], f["start"][:19], f["end"][:19]) for f in doc["faults"]]
    assert got == [("a", "TS_NORTH", "gap", "2026-03-09T23:10:00", "2026-03-09T23:20:00"),
                   ("b", "TS_NORTH", "link_down", "2026-03-09T23:40:00", "2026-03-09T23:43:00"),
                   ("b", "TS_SOUTH", "skew", "2026-03-09T22:00:00", "2026-03-10T01:00:00"),
                   ("a", "TS_NORTH", "restart", "2026-03-10T00:20:00", "2026-03-10T00:20:30")]
    # truth and configuration describe what really happened: unchanged by faults
    ref, mine = all_files(small_replicas), all_files(out)
    for name in ("config.json", "truth/calls.jsonl", "truth/agents.jsonl"):
        assert mine[name] == ref[name], name
    # untouched replica logs are byte-identical; replica b covers a's gap completely
    assert {k: v for k, v in mine.items() if k.startswith("logs/a/TS_SOUTH")} == \
        {k: v for k, v in ref.items() if k.startswith("logs/a/TS_SOUTH")}
    gap = doc["faults"][0]
    t0, t1 = iso_utc(gap["start"]), iso_utc(gap["end"])
    _, ref_a, _ = read_any(small_replicas / "logs" / "a", "TS_NORTH")
    _, got_b, _ = read_any(out / "logs" / "b", "TS_NORTH")
    window = [text(b) for b in ref_a if t0 <= utc_of(b, -3600) < t1]
    assert window and [text(b) for b in got_b if t0 <= utc_of(b, -3600) < t1] == window
    # same seed and faults: byte-identical output
    simulate(tmp_path, replicas=2, faults="default")
    assert all_files(tmp_path) == mine


def test_both_gap_leaves_a_window_that_no_replica_has(default_faults, tmp_path):
    simulate(tmp_path, replicas=2, faults="both_gap")
    doc = json.loads((tmp_path / "truth" / "faults.json").read_text())
    assert [(f["replica"], f["kind"]) for f in doc["faults"]] == [("a", "gap"), ("b", "gap")]
    assert doc["faults"][0]["missing"] == doc["faults"][1]["missing"]
    t0, t1 = iso_utc(doc["faults"][0]["start"]), iso_utc(doc["faults"][0]["end"])
    assert t1 - t0 == timedelta(minutes=5)
    for replica in ("a", "b"):
        _, blocks, _ = read_any(tmp_path / "logs" / replica, "TS_NORTH")
        assert not [b for b in blocks if t0 <= utc_of(b, -3600) < t1]
    calls = load_jsonl(tmp_path / "truth" / "calls.jsonl")
    assert any(c["switch"] == "SW_NORTH" and t0 <= iso_utc(c["created"]) < t1 for c in calls)
    assert doc["faults"][0]["missing"]["events"] > 0


@pytest.mark.parametrize("faults, replicas", [
    ("gap:c:north@1h", 2), ("gap:a:east@1h", 2), ("jam:a:north@1h", 2), ("gap:a:north@5h", 2),
    ("gap:a:north@1h+10m; link_down:a:north@1h5m", 2), ("skew:a:north@1h", 2),
    ("restart:a:north@1h+1s", 2), ("default", 1), (42, 2),
])
def test_bad_fault_specs_raise_value_error(tmp_path, faults, replicas):
    with pytest.raises(ValueError, match="faults"):
        simulate(tmp_path, replicas=replicas, faults=faults)
