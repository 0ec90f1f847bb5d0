"""Load profiles: plain data that says how big the contact center is and how busy.

A profile is a frozen dataclass so that a test (or the CLI) can derive a variant with
``dataclasses.replace(PROFILES["small"], segment_mb=0.2)``; a plain ``dict`` of field
overrides is accepted too (applied on top of ``small``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

# Scenario names, in the order of docs/simulator.md "Call scenarios". The small profile walks
# through them in this order at the start of every simulated hour.
SCENARIOS: tuple[str, ...] = (
    "inbound_routed",
    "inbound_acd",
    "abandon_in_queue",
    "abandon_ringing",
    "default_route",
    "transfer_two_step",
    "consult_cancel",
    "transfer_single_step",
    "conference",
    "outbound",
    "internal",
    "iscc_transfer",
)

# Share of *inbound* calls per scenario (docs/simulator.md "Mix"); inbound_routed takes the rest.
DEFAULT_MIX: Mapping[str, float] = {
    "inbound_acd": 0.15,
    "abandon_in_queue": 0.06,
    "abandon_ringing": 0.02,
    "default_route": 0.02,
    "transfer_two_step": 0.20,
    "consult_cancel": 0.04,
    "transfer_single_step": 0.10,
    "conference": 0.10,
    "iscc_transfer": 0.01,
}

# Share of north's inbound calls per agent group (Sales, Support, Billing).
GROUP_SHARES: tuple[float, ...] = (0.45, 0.35, 0.20)

# bep300 day curve, share of the peak hour per local hour 0..23: a 24-hour service with a
# 10:00 peak, a shallow lunch dip, a second peak at 14:00 and a thin night. Sum = 9.745 peak
# hours; scaled so that the day has 41,040 calls (Genesys BEP 300 sizing), the peak hour then
# has 4,211 (1.17 arrivals/s). BEP 300's own busy hour (7,920 = 2.2/s, a fifth of the day) cannot
# be served by 300 agents on 8.5 h shifts; see docs/simulator.md "Load figures".
BEP300_CURVE: tuple[float, ...] = (
    0.02, 0.015, 0.01, 0.01, 0.01, 0.02, 0.06, 0.22, 0.60, 0.88, 1.00, 0.97,
    0.85, 0.88, 0.98, 0.92, 0.78, 0.58, 0.38, 0.24, 0.15, 0.09, 0.05, 0.03,
)
BEP300_CALLS_PER_DAY = 41_040.0
# bep300 mix: the default one with a quarter of the inbound calls queued directly to an ACD
# queue (no routing point, no URS), which keeps a day's log at ~670 MB
BEP300_MIX: Mapping[str, float] = {**DEFAULT_MIX, "inbound_acd": 0.25}


@dataclass(frozen=True)
class Profile:
    name: str = "small"

    # --- topology -------------------------------------------------------------------------
    north_agents: int = 8
    south_agents: int = 3
    two_dn_share: float = 0.05          # places with two DNs (at least one when > 0)
    north_rps: int = 2
    north_vqs: int = 2
    north_queues: int = 2
    # south always has one RP, one VQ and one ACD queue (it serves VAG_South)

    # --- load -----------------------------------------------------------------------------
    # New calls (inbound + outbound + internal) per hour for each local hour 0..23 of the
    # site's clock; split between the sites by south_share.
    calls_per_hour: tuple[float, ...] = (60.0,) * 24
    south_share: float = 0.10
    outbound_share: float = 0.08        # of all new calls
    outbound_busy_share: float = 0.20   # of outbound calls
    internal_share: float = 0.05        # of all new calls
    internal_giveup_share: float = 0.10
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    hold_share: float = 0.30            # answered calls with one hold/retrieve
    single_step_fail_share: float = 0.05
    abandon_acd_share: float = 0.30     # planned abandons that use the ACD-queue variant
    walkthrough: bool = True            # first calls of every hour: every scenario once

    # --- durations (seconds) ----------------------------------------------------------------
    talk_mean_s: float = 180.0
    outbound_talk_mean_s: float = 120.0
    internal_talk_mean_s: float = 60.0
    hold_mean_s: float = 40.0
    acw_mean_s: float = 30.0
    patience_mean_s: float = 600.0      # callers of non-abandon scenarios
    router_timeout_s: float = 10.0

    # --- attached data ----------------------------------------------------------------------
    desktop_data_requests: int = 3      # desktop attach/update/delete requests per answered call
    note_bytes: int = 200               # size of the free-text note a desktop writes
    secure_pin_share: float = 0.25      # answered calls that get CustomerPIN attached

    # --- agents ---------------------------------------------------------------------------
    staffing: str = "all"               # "all": everybody starts at the beginning; "curve": shifts
    staff_by_share: bool = False        # deal north agents to groups by GROUP_SHARES, not evenly
    shift_hours: float = 8.5
    shift_min_h: float = 1.5            # "all" staffing: first shift length range (hours)
    shift_max_h: float = 6.0
    relogin_share: float = 0.35         # after a logout, chance of a new session later
    break_every_s: float = 2400.0
    dnd_every_s: float = 3600.0
    custom_state_every_s: float = 3000.0
    user_event_every_s: float = 1500.0
    hardware_reason_share: float = 0.35
    logout_without_notready_share: float = 0.20

    # --- outbound -------------------------------------------------------------------------
    outbound_campaigns: bool = True     # an OCS per site, its campaign groups and their logs

    # --- logs -----------------------------------------------------------------------------
    segment_mb: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["calls_per_hour"] = list(self.calls_per_hour)
        d["mix"] = dict(self.mix)
        return d


SMALL = Profile()

BEP300 = Profile(
    name="bep300",
    north_agents=280,
    south_agents=20,
    north_rps=3,
    north_vqs=3,
    north_queues=3,
    calls_per_hour=tuple(round(w * BEP300_CALLS_PER_DAY / sum(BEP300_CURVE), 3)
                         for w in BEP300_CURVE),
    south_share=0.06,
    mix=BEP300_MIX,
    walkthrough=False,
    talk_mean_s=120.0,
    acw_mean_s=20.0,
    patience_mean_s=240.0,
    desktop_data_requests=2,
    note_bytes=160,
    staffing="curve",
    staff_by_share=True,
    break_every_s=6600.0,
    dnd_every_s=7200.0,
    custom_state_every_s=7200.0,
    user_event_every_s=3600.0,
    segment_mb=10.0,
)

PROFILES: dict[str, Profile] = {"small": SMALL, "bep300": BEP300}


def resolve_profile(profile: str | Profile | Mapping[str, Any]) -> Profile:
    """Accept a profile name, a Profile, or a dict of overrides on top of ``small``."""
    if isinstance(profile, Profile):
        p = profile
    elif isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
        p = PROFILES[profile]
    elif isinstance(profile, Mapping):
        known = {f.name for f in dataclasses.fields(Profile)}
        unknown = sorted(set(profile) - known)
        if unknown:
            raise ValueError(f"unknown profile field(s): {', '.join(unknown)}")
        base = PROFILES.get(str(profile.get("name", "small")), SMALL)
        p = dataclasses.replace(base, **dict(profile))
    else:
        raise ValueError(f"profile must be a name, a Profile or a dict, not {type(profile).__name__}")
    _validate(p)
    return p


def _validate(p: Profile) -> None:
    if len(p.calls_per_hour) != 24:
        raise ValueError("profile.calls_per_hour needs 24 values (one per local hour)")
    if p.north_agents < 2 or p.south_agents < 1:
        raise ValueError("profile needs at least 2 north agents and 1 south agent")
    if min(p.north_rps, p.north_vqs, p.north_queues) < 1:
        raise ValueError("profile needs at least one RP, VQ and ACD queue on north")
    if p.segment_mb <= 0:
        raise ValueError("profile.segment_mb must be > 0")
    if p.staffing not in ("all", "curve"):
        raise ValueError("profile.staffing must be 'all' or 'curve'")
    unknown = sorted(set(p.mix) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"profile.mix has unknown scenario(s): {', '.join(unknown)}")
    if sum(p.mix.values()) > 1.0 + 1e-9:
        raise ValueError("profile.mix shares add up to more than 1")
