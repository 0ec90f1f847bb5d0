"""Contact-center log simulator (docs/simulator.md).

    from simulator import simulate
    summary = simulate("out", profile="small", start="2026-03-09T22:00:00Z", hours=3, seed=7)
    simulate("out", replicas=2, faults="default")       # HA replicas with injected faults
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .clock import parse_start, seconds, utc_iso
from .faults import NAMED as FAULT_SETS
from .profiles import BEP300, PROFILES, SCENARIOS, SMALL, Profile, resolve_profile

__all__ = ["simulate", "Profile", "PROFILES", "SMALL", "BEP300", "SCENARIOS", "FAULT_SETS"]


def simulate(out_dir: str | Path, profile: str | Profile | Mapping[str, Any] = "small",
             start: str | datetime = "2026-03-09T22:00:00Z", hours: float = 3, seed: int = 7,
             replicas: int = 1, progress: Callable[[str], None] | None = None,
             faults: str | Sequence[str | Mapping[str, Any]] | None = None) -> dict:
    """Run the simulation and write logs, ``config.json`` and ``truth/`` into ``out_dir``.

    ``faults`` injects HA faults into single replicas' logs: a set name (``"default"``,
    ``"both_gap"``, ``"none"``), a spec string such as ``"gap:a:north@1h10m+10m;
    skew:b:south=+2s"``, or a list of such items or dicts (docs/simulator.md "Faults in HA
    replicas"). The simulated activity and ``truth/calls.jsonl``/``agents.jsonl`` do not depend
    on it; ``truth/faults.json`` lists what was injected.

    Returns the summary that is also written to ``truth/summary.json``. Raises ValueError on a
    bad profile, ``hours <= 0``, ``replicas`` not 1 or 2, an unparsable ``start`` or a bad
    fault spec.
    """
    from .faults import FaultPlan
    from .sim import Simulation  # imported here: keeps `import simulator` light
    from .truth import write_all

    prof = resolve_profile(profile)
    try:
        hours_f = float(hours)
    except (TypeError, ValueError):
        raise ValueError(f"hours must be a number, not {hours!r}") from None
    if not math.isfinite(hours_f) or hours_f <= 0:
        raise ValueError(f"hours must be > 0, got {hours!r}")
    if isinstance(replicas, bool) or replicas not in (1, 2):
        raise ValueError(f"replicas must be 1 or 2, got {replicas!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    start_tick = parse_start(start)
    plan = FaultPlan(faults, start_tick, start_tick + seconds(hours_f * 3600.0), replicas, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim = Simulation(out, prof, start_tick, hours_f, seed, replicas, progress, plan)
    sim.run()
    arguments = {"profile": prof.name, "start": utc_iso(start_tick), "hours": hours_f,
                 "seed": seed, "replicas": replicas, "faults": plan.name}
    return write_all(sim, arguments)
