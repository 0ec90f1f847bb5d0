"""Ground truth and the summary, written from the simulation's own records (never from the
logs): `truth/calls.jsonl`, `truth/agents.jsonl`, `truth/campaigns.jsonl`, `truth/chains.jsonl`,
`truth/summary.json`, and `config.json`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import utc_iso, utc_iso_opt
from .dialer import SCENARIO as CAMPAIGN
from .outbound import RESULTS
from .profiles import SCENARIOS
from .topology import config_snapshot

if TYPE_CHECKING:  # pragma: no cover
    from .outbound import Ocs
    from .sim import Simulation

OUTCOMES = ("answered", "abandoned_in_queue", "abandoned_ringing", "transferred", "conferenced",
            "consult_cancelled", "transfer_failed", "busy", "merged",
            # calls an OCS dialed that reached nobody (simulator/dialer.py)
            "no_answer", "answering_machine", "dropped")
# the scenarios of the summary: the arrival process's, and the calls OCS dials
SUMMARY_SCENARIOS = SCENARIOS + (CAMPAIGN,)


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))


def session_json(s: dict) -> dict:
    """Ticks -> UTC ISO strings for one agent session record."""
    out = dict(s)
    out["login"] = utc_iso_opt(s["login"])
    out["logout"] = utc_iso_opt(s["logout"])
    out["states"] = [{**r, "start": utc_iso(r["start"]), "end": utc_iso_opt(r["end"])}
                     for r in s["states"]]
    out["busy"] = [{**r, "start": utc_iso(r["start"]), "end": utc_iso_opt(r["end"])}
                   for r in s["busy"]]
    out["dnd"] = [{**r, "on": utc_iso(r["on"]), "off": utc_iso_opt(r["off"])} for r in s["dnd"]]
    out["custom_states"] = [{**r, "start": utc_iso(r["start"]), "end": utc_iso_opt(r["end"])}
                            for r in s["custom_states"]]
    return out


def write_all(sim: "Simulation", arguments: dict) -> dict:
    out = sim.out
    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    _write(out / "config.json", json.dumps(config_snapshot(sim.topo, sim.ocs), indent=2) + "\n")
    _write(truth / "calls.jsonl", "".join(_dump(c.to_json()) + "\n" for c in sim.calls))
    _write(truth / "agents.jsonl", "".join(_dump(session_json(s)) + "\n" for s in sim.sessions))
    _write(truth / "campaigns.jsonl", "".join(_dump(a.to_json(ocs.app)) + "\n"
                                              for ocs in sim.ocs for a in ocs.attempts if a.steps))
    _write(truth / "chains.jsonl", "".join(_dump(c.to_json()) + "\n"
                                           for ocs in sim.ocs for c in ocs.chains))
    plan = sim.plan
    faults = plan.to_json({s.key: s for s in sim.topo.sites}) if plan is not None else \
        {"format": "icon-etl-faults/1", "spec": None, "window": {"start": utc_iso(sim.start),
                                                                 "end": utc_iso(sim.end)},
         "faults": []}
    _write(truth / "faults.json", json.dumps(faults, indent=2) + "\n")
    summary = summarize(sim, arguments)
    _write(truth / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write(text)


def summarize(sim: "Simulation", arguments: dict) -> dict:
    scen = Counter(c.scenario for c in sim.calls)
    outcomes = Counter(c.outcome or "in_progress" for c in sim.calls)
    primary = Counter(c.scenario for c in sim.calls if c.parent is None and
                      not (c.scenario == "iscc_transfer" and c.site is sim.topo.south))
    switches = {}
    for site in sim.topo.sites:
        log = site.log
        switches[site.switch] = {
            "tserver": site.app,
            "events": log.events,
            "requests": log.requests,
            "other_lines": log.lines,
            "calls": sum(1 for c in sim.calls if c.site is site),
            "last_event_sequence_number": f"{log.seq:016x}",
        }
    outbound = {ocs.app: _outbound(ocs) for ocs in sim.ocs}
    replicas = {}
    files = 0
    size = 0
    splits = 0
    for name, idx in (("a", 0), ("b", 1))[:sim.replicas]:
        f = sum(len(s.log.writers[idx].files) for s in sim.topo.sites)
        b = sum(s.log.writers[idx].bytes for s in sim.topo.sites)
        replicas[name] = {"log_files": f, "bytes": b,
                          "split_blocks": sum(s.log.writers[idx].splits for s in sim.topo.sites)}
        files += f
        size += b
        splits += replicas[name]["split_blocks"]
    return {
        "arguments": arguments,
        "profile": sim.profile.to_dict(),
        "window": {"start": utc_iso(sim.start), "end": utc_iso(sim.end)},
        "calls": len(sim.calls),
        "scenarios": {s: scen.get(s, 0) for s in SUMMARY_SCENARIOS},
        "customer_calls_by_scenario": {s: primary.get(s, 0) for s in SUMMARY_SCENARIOS},
        "outcomes": {o: outcomes.get(o, 0) for o in OUTCOMES + ("in_progress",)},
        "switches": switches,
        "log_files": files,
        "log_bytes": size,
        "replicas": replicas,
        "agents": len(sim.topo.agents),
        "sessions": len(sim.sessions),
        "sessions_open_at_end": sum(1 for s in sim.sessions if s["logout"] is None),
        "outbound": outbound,
    }


def _outbound(ocs: "Ocs") -> dict:
    """An OCS's campaigns and what it dialed: chain processing attempts, call attempts (a
    ChainProcessing each), dialed calls and call results by CallResult code."""
    steps = [s for c in ocs.chains for s in c.steps]
    results = Counter(s["call_result"] for s in steps if s["code"] == "ChainProcessed")
    ends = Counter(s["cause"] for s in steps if s["code"] == "ChainTerminated")
    return {"campaign_groups": len(ocs.groups),
            "campaign_attempts": sum(1 for a in ocs.attempts if a.steps),
            "chains": len(ocs.chains),
            "chains_open_at_end": sum(1 for c in ocs.chains if c.terminated is None),
            "records": len({c.record.handle for c in ocs.chains}),
            "call_attempts": sum(1 for s in steps if s["code"] == "ChainProcessing"),
            "calls_dialed": sum(len(c.calls) for c in ocs.chains),
            "call_results": {str(r): results.get(r, 0) for r in RESULTS},
            "chains_terminated": {k: ends.get(k, 0) for k in
                                  ("Processed", "Rescheduled", "Callback", "CampaignUnloaded")},
            "field_changes": sum(len(c.field_changes) for c in ocs.chains),
            "log_files": sum(len(w.files) for w in ocs.writers)}
