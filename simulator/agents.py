"""Agent shift behaviour: login, ready/not-ready, after-call work, breaks with reasons,
DND, custom states and user events, logout; and the availability the router relies on.

Every agent state change is a desktop request followed by the T-Server event, per DN of the
agent's place (a two-DN place logs in on both). After-call work concerns the DN that had the
call only. State changes wait for the agent to be idle where a real desktop would (a break
or a logout requested during a call is *deferred* until the call and its ACW are over).
Timers carry the session generation (``Agent.gen``) so that a timer of an ended session is
ignored instead of acting on the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import tlib
from .clock import TPS, seconds
from .profiles import GROUP_SHARES
from .topology import CUSTOM_STATE_CODES, Agent

if TYPE_CHECKING:  # pragma: no cover
    from .profiles import Profile
    from .sim import Simulation

OUT, LOGIN, NOTREADY, READY, ACW = "out", "login", "notready", "ready", "acw"
WM_UNKNOWN, WM_MANUAL_IN, WM_ACW, WM_AUX = 0, 1, 3, 4

BREAKS = (("Break", 0.50, 600.0), ("Lunch", 0.20, 1800.0), ("Training", 0.15, 1200.0),
          ("Meeting", 0.15, 900.0))
HARDWARE_REASON = "22"
FOCUS_APPS = ("CRM", "Email", "Knowledge", "Browser")


def _shift_kernel(shift_hours: float) -> list[float]:
    """Expected share of local hour h + k that a shift starting at h + U(0, 1) h covers."""
    n = 200                                    # midpoint rule over the start minute
    span = int(shift_hours) + 2
    cover = [0.0] * span
    for i in range(n):
        u = (i + 0.5) / n
        for k in range(span):
            cover[k] += max(0.0, min(k + 1.0, u + shift_hours) - max(float(k), u)) / n
    return [round(c, 6) for c in cover if c > 0]


def shift_plan(p: "Profile", share: float, agents: int) -> list[int]:
    """Local start hour of each agent's daily shift ("curve" staffing) for a team that takes
    ``share`` of all calls, sorted.

    The day curve gives the team's offered load per local hour in Erlangs,
    R = share × calls/h × AHT / 3600 with AHT = talk + ACW + 30 s (ringing, consults, the
    ACW floor); the wanted staff is
    R + 1.5 √R (square-root staffing: small night teams need relatively more slack), scaled to
    the agent-hours the team has (agents × shift_hours). Shifts are placed one by one in the
    start hour that covers most of what is still missing (ties: the earlier hour), then single
    shifts are moved to another start hour while that brings the cover closer to what is
    wanted (least squares relative to the wanted staff). Plain arithmetic, no random numbers.
    """
    aht = p.talk_mean_s + p.acw_mean_s + 30.0
    load = [max(0.0, c) * share * aht / 3600.0 for c in p.calls_per_hour]
    want = [r + 1.5 * r ** 0.5 for r in load]
    total = sum(want)
    if total <= 0:
        want, total = [1.0] * 24, 24.0
    want = [w * agents * p.shift_hours / total for w in want]
    kernel = _shift_kernel(p.shift_hours)
    cover = [0.0] * 24
    count = [0] * 24
    for _ in range(agents):
        best, gain = 0, -1.0
        for h in range(24):
            g = sum(min(k, max(0.0, want[(h + i) % 24] - cover[(h + i) % 24]))
                    for i, k in enumerate(kernel))
            if g > gain + 1e-9:
                best, gain = h, g
        _add(cover, kernel, best, 1)
        count[best] += 1
    # then move single shifts while that lowers sum((cover - want)^2 / want)
    weight = [1.0 / max(w, 0.5) for w in want]

    def cost() -> float:
        return sum((c - w) ** 2 * x for c, w, x in zip(cover, want, weight))

    current = cost()
    for _ in range(20 * agents):
        move, best = None, current - 1e-9
        for a in range(24):
            if not count[a]:
                continue
            _add(cover, kernel, a, -1)
            for b in range(24):
                if b == a:
                    continue
                _add(cover, kernel, b, 1)
                c = cost()
                if c < best:
                    move, best = (a, b), c
                _add(cover, kernel, b, -1)
            _add(cover, kernel, a, 1)
        if move is None:
            break
        a, b = move
        _add(cover, kernel, a, -1)
        _add(cover, kernel, b, 1)
        count[a] -= 1
        count[b] += 1
        current = best
    return [h for h in range(24) for _ in range(count[h])]


def _add(cover: list[float], kernel: list[float], h: int, sign: int) -> None:
    for i, k in enumerate(kernel):
        cover[(h + i) % 24] += sign * k


class AgentDesk:
    def __init__(self, sim: "Simulation"):
        self.sim = sim
        self.rng = sim.rng
        self.p = sim.profile
        self.engine = sim.engine
        self.last_t = 0                 # tick of the last agent event written by _state

    # -- planning ----------------------------------------------------------------------------
    def plan(self) -> None:
        """Schedule the first login of every agent (and, with shifts, every later one)."""
        sim, rng, p = self.sim, self.rng, self.p
        start, end = sim.start, sim.end
        starts: dict = {}
        if p.staffing == "curve":
            # each agent group is staffed for its own share of the calls, so that a small
            # night team still has somebody of every skill
            for site in sim.topo.sites:
                share = p.south_share if site.key == "south" else 1.0 - p.south_share
                shares = GROUP_SHARES[:len(site.groups)] if len(site.groups) > 1 else (1.0,)
                for g, gs in zip(site.groups, shares):
                    hours = shift_plan(p, share * gs / sum(shares), len(g.agents))
                    rng.shuffle(hours)
                    starts.update(zip(g.agents, hours))
        for a in sim.topo.agents:
            if p.staffing == "all":
                # a T-Server that just started: everybody (re)logs in within the first minutes
                login = start + seconds(rng.uniform(2.0, 480.0))
                shift = self._shift_len()
                if a is a.group.agents[0]:
                    shift = end - login + 3600 * TPS   # every group keeps one agent all along
                self.engine.at(login, self.login, a, login + shift)
                continue
            # one shift a day in the site's local time, always starting in the same hour
            # (`shift_plan`: the start hours cover the day curve); the minute varies per day
            off = a.site.utc_offset_s * TPS
            h = starts[a]
            day0 = (start + off) // (86400 * TPS) - 1
            day1 = (end + off) // (86400 * TPS)
            for day in range(day0, day1 + 1):
                s = day * 86400 * TPS - off + seconds(h * 3600 + rng.uniform(0, 3600))
                e = s + seconds(p.shift_hours * 3600 + rng.uniform(-900, 900))
                if e <= start or s >= end:
                    continue
                login = max(s, start + seconds(rng.uniform(2.0, 300.0)))
                self.engine.at(login, self.login, a, e)

    def _shift_len(self) -> int:
        return seconds(self.rng.uniform(self.p.shift_min_h, self.p.shift_max_h) * 3600)

    # -- availability --------------------------------------------------------------------------
    def refresh(self, a: Agent) -> None:
        """Keep the group's ready list (longest ready first) in line with the agent's state."""
        avail = (a.mode == READY and a.calls == 0 and not a.reserved and not a.dnd
                 and not a.deferred and a.session is not None)
        ready = a.group.ready
        if avail:
            if a not in ready:
                ready[a] = self.engine.now
                self.sim.dispatch(a.group)
        else:
            ready.pop(a, None)

    def free_for_direct(self, a: Agent) -> bool:
        """Can take a direct (consult/transfer/internal) call right now."""
        return (a.session is not None and a.calls == 0 and not a.reserved and not a.dnd
                and not a.deferred and (a.mode == READY or a.mode == ACW))

    def reserve(self, a: Agent) -> None:
        a.reserved = True
        a.group.ready.pop(a, None)

    def unreserve(self, a: Agent) -> None:
        """A reservation that ends without a call (an outbound dial that reached nobody):
        what waited for the agent to be idle runs now, else the agent is ready again."""
        a.reserved = False
        self._idle(a)

    def call_arrives(self, a: Agent) -> None:
        a.reserved = False
        a.calls += 1
        a.group.ready.pop(a, None)

    def leave_call(self, a: Agent, t: int, acw: bool) -> None:
        """A call leg of the agent ended at ``t``; ``acw`` for customer (ACD) calls."""
        a.calls -= 1
        if a.calls > 0 or a.session is None:
            return
        if acw and (a.mode == READY or a.mode == ACW) and not a.on_break:
            if a.mode == READY:
                self._state(a, t + self.sim.gap(), a.dns[:1], "RequestAgentNotReady",
                            "EventAgentNotReady", WM_ACW, ACW)
                a.mode = ACW
            a.acw_gen += 1              # a call taken during ACW restarts the ACW time
            a.acw_due = False
            dur = seconds(self.rng.gammavariate(2.0, self.p.acw_mean_s / 2.0) + 3.0)
            self.engine.at(t + dur, self._acw_end, a, a.acw_gen)
            self.refresh(a)
            return
        if a.mode == ACW and a.acw_due:
            self._acw_end(a, a.acw_gen)
            return
        self._idle(a)

    def _acw_end(self, a: Agent, acw_gen: int) -> None:
        if a.acw_gen != acw_gen or a.mode != ACW:
            return
        if a.calls or a.reserved:
            a.acw_due = True            # finish ACW when the current call is over
            return
        a.acw_due = False
        if a.deferred:
            self._idle(a)
            return
        self._state(a, self.engine.now, a.dns[:1], "RequestAgentReady", "EventAgentReady",
                    WM_MANUAL_IN, READY)
        a.mode = READY
        self.refresh(a)

    def _idle(self, a: Agent) -> None:
        """The agent has no call and no reservation: run what was deferred, else be ready."""
        if a.calls or a.reserved:
            return
        if "logout" in a.deferred:
            a.deferred.clear()
            self._logout(a)
        elif "break" in a.deferred:
            a.deferred.clear()
            self._start_break(a)
        else:
            self.refresh(a)

    # -- rendering -----------------------------------------------------------------------------
    def _state(self, a: Agent, t: int, dns: list, req: str, ev: str, wm: int | None,
               state: str | None, reasons: dict | None = None, hw: str | None = None) -> int:
        """Desktop request + T-Server event for each DN; opens truth state ``state``."""
        log = a.site.log
        gap = self.sim.gap
        q = a.group.queue.number
        extra = ""
        if reasons:
            extra += tlib.reasons(reasons)
        if hw:
            extra += tlib.extensions({"ReasonCode": hw})
        wm_line = f"\tAttributeAgentWorkMode\t{wm}\n" if wm is not None else ""
        for dn in dns:
            t, ref = log.request(t, a.client,
                                 req, f"\tAttributeThisDN\t'{dn.number}'\n\tAttributeThisQueue\t'{q}'\n"
                                      f"\tAttributeAgentID\t'{a.login}'\n{wm_line}{extra}")
            t = log.event(t + self.sim.rgap(), ev,
                          f"\tAttributeThisDN\t'{dn.number}'\n\tAttributeAgentID\t'{a.login}'\n"
                          f"\tAttributeThisQueue\t'{q}'\n{wm_line}\tAttributeReferenceID\t{ref}\n{extra}")
            if state is not None:
                self._open_state(a, dn.number, state, wm, t, reasons, hw)
            else:
                self._close_state(a, dn.number, t)
            self.last_t = t
            t += gap()
        return t

    def _open_state(self, a: Agent, dn: str, state: str, wm: int | None, t: int,
                    reasons: dict | None, hw: str | None) -> None:
        self._close_state(a, dn, t)
        rec = {"dn": dn, "state": state, "workmode": wm, "start": t, "end": None,
               "reasons": dict(reasons or {}), "hardware_reason": hw}
        a.session["states"].append(rec)
        a.states[dn] = rec

    @staticmethod
    def _close_state(a: Agent, dn: str, t: int) -> None:
        rec = a.states.pop(dn, None)
        if rec is not None:
            rec["end"] = t

    def _simple(self, a: Agent, t: int, req: str, ev: str, body: str) -> int:
        """Request + event on the agent's first DN (DND, user events)."""
        log = a.site.log
        dn = a.dns[0].number
        t, ref = log.request(t, a.client, req, f"\tAttributeThisDN\t'{dn}'\n{body}")
        return log.event(t + self.sim.rgap(), ev,
                         f"\tAttributeThisDN\t'{dn}'\n\tAttributeAgentID\t'{a.login}'\n"
                         f"\tAttributeReferenceID\t{ref}\n{body}")

    # -- session -------------------------------------------------------------------------------
    def login(self, a: Agent, logout_at: int) -> None:
        if a.session is not None:       # still in the previous session (long call): skip
            return
        sim, rng = self.sim, self.rng
        a.gen += 1
        gen = a.gen
        t = self.engine.now
        client = sim.connect(a.site, f"WDE_{a.login}", t)
        a.client = client
        a.session = {"agent": a.login, "person_dbid": a.person_dbid, "switch": a.site.switch,
                     "dns": [d.number for d in a.dns], "login": None, "logout": None,
                     "states": [], "busy": [], "dnd": [], "custom_states": []}
        sim.sessions.append(a.session)
        a.mode = LOGIN
        a.deferred = []
        a.on_break = 0
        a.shift_end = logout_at
        t += seconds(rng.uniform(0.05, 0.4))
        t_login = t
        t = self._state(a, t, a.dns, "RequestAgentLogin", "EventAgentLogin", WM_UNKNOWN, LOGIN)
        a.session["login"] = a.states[a.dns[0].number]["start"] if a.dns else t_login
        self.engine.at(t + seconds(rng.uniform(1.0, 3.0)), self._after_login, a, gen)
        self.engine.at(max(logout_at, t + TPS), self._logout_due, a, gen)
        self.engine.at(t + seconds(rng.expovariate(1.0 / self.p.break_every_s)), self._break_due, a, gen)
        self.engine.at(t + seconds(rng.expovariate(1.0 / self.p.dnd_every_s)), self._dnd_due, a, gen)
        self.engine.at(t + seconds(rng.expovariate(1.0 / self.p.custom_state_every_s)),
                       self._custom_due, a, gen)
        self.engine.at(t + seconds(rng.expovariate(1.0 / self.p.user_event_every_s)),
                       self._user_event_due, a, gen)

    def _after_login(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.mode != LOGIN:
            return
        t = self._state(a, self.engine.now, a.dns, "RequestAgentNotReady", "EventAgentNotReady",
                        WM_AUX, NOTREADY)
        a.mode = NOTREADY
        self.engine.at(t + seconds(self.rng.uniform(5.0, 60.0)), self._first_ready, a, gen)

    def _first_ready(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.mode != NOTREADY or a.on_break:
            return
        self._state(a, self.engine.now, a.dns, "RequestAgentReady", "EventAgentReady",
                    WM_MANUAL_IN, READY)
        a.mode = READY
        self.refresh(a)

    def _logout_due(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.session is None:
            return
        if a.calls or a.reserved:
            if "logout" not in a.deferred:
                a.deferred.append("logout")
            self.refresh(a)
            return
        self._logout(a)

    def _logout(self, a: Agent) -> None:
        rng = self.rng
        t = self.engine.now
        a.acw_gen += 1
        a.on_break = 0
        a.deferred = []
        a.group.ready.pop(a, None)
        if a.dnd:
            t = self._dnd_off(a, a.gen, t) + self.sim.gap()
        for key in list(a.custom):
            t = self._custom_end(a, a.gen, key, t) + self.sim.gap()
        if a.mode != NOTREADY and rng.random() >= self.p.logout_without_notready_share:
            t = self._state(a, t, a.dns, "RequestAgentNotReady", "EventAgentNotReady", WM_AUX,
                            NOTREADY)
            a.mode = NOTREADY
            t += seconds(rng.uniform(2.0, 15.0))
        a.mode = NOTREADY               # nothing may route to the agent any more
        self.engine.at(t, self._finish_logout, a, a.gen)

    def _finish_logout(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.session is None:
            return
        if a.calls or a.reserved:       # a call slipped in between: log out after it
            a.deferred = ["logout"]
            return
        t = self._state(a, self.engine.now, a.dns, "RequestAgentLogout", "EventAgentLogout",
                        WM_UNKNOWN, None)
        a.session["logout"] = self.last_t
        a.session = None
        a.mode = OUT
        a.gen += 1
        a.group.ready.pop(a, None)
        self.sim.disconnect(a.site, a.client, t)
        if self.p.staffing == "all":
            # everybody comes back (a short pause, or a longer one) so long runs stay staffed
            if self.rng.random() < self.p.relogin_share:
                back = t + seconds(self.rng.uniform(600.0, 2400.0))
            else:
                back = t + seconds(self.rng.uniform(3600.0, 3 * 3600.0))
            self.engine.at(back, self.login, a, back + self._shift_len())

    # -- breaks ----------------------------------------------------------------------------------
    def _break_due(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.session is None:
            return
        if a.mode == READY or a.mode == ACW:
            if a.calls or a.reserved:
                if "break" not in a.deferred:
                    a.deferred.append("break")
                self.refresh(a)
            else:
                self._start_break(a)
            return
        # still logging in, or already not ready: look again later
        self.engine.after(seconds(300.0), self._break_due, a, gen)

    def _start_break(self, a: Agent) -> None:
        rng = self.rng
        name, _, mean = rng.choices(BREAKS, [b[1] for b in BREAKS])[0]
        a.acw_gen += 1                  # a break ends after-call work
        a.acw_due = False
        a.on_break += 1
        bid = a.on_break
        t = self._state(a, self.engine.now, a.dns, "RequestAgentNotReady", "EventAgentNotReady",
                        WM_AUX, NOTREADY, {"Reason": name})
        a.mode = NOTREADY
        self.refresh(a)
        dur = seconds(mean * rng.uniform(0.7, 1.3))
        if rng.random() < self.p.hardware_reason_share:
            self.engine.at(t + seconds(rng.uniform(5.0, 60.0)), self._hardware_reason, a, a.gen, bid)
        self.engine.at(t + dur, self._break_end, a, a.gen, bid)

    def _hardware_reason(self, a: Agent, gen: int, bid: int) -> None:
        # same state, new reason: a NotReady self-transition carrying the switch's code
        if gen != a.gen or a.on_break != bid or a.mode != NOTREADY:
            return
        self._state(a, self.engine.now, a.dns, "RequestAgentNotReady", "EventAgentNotReady",
                    WM_AUX, NOTREADY, None, HARDWARE_REASON)

    def _break_end(self, a: Agent, gen: int, bid: int) -> None:
        if gen != a.gen or a.on_break != bid or a.mode != NOTREADY:
            return
        a.on_break = 0
        if "logout" in a.deferred:
            a.deferred.clear()
            self._logout(a)
            return
        a.deferred.clear()
        t = self._state(a, self.engine.now, a.dns, "RequestAgentReady", "EventAgentReady",
                        WM_MANUAL_IN, READY)
        a.mode = READY
        self.refresh(a)
        self.engine.at(t + seconds(self.rng.expovariate(1.0 / self.p.break_every_s)),
                       self._break_due, a, gen)

    # -- DND, custom states, user events ---------------------------------------------------------
    def _dnd_due(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.session is None:
            return
        if not a.dnd:
            t = self._simple(a, self.engine.now, "RequestSetDNDOn", "EventDNDOn", "")
            a.dnd = True
            rec = {"dn": a.dns[0].number, "on": t, "off": None}
            a.dnd_rec = [rec]
            a.session["dnd"].append(rec)
            self.refresh(a)
            self.engine.at(t + seconds(self.rng.uniform(60.0, 600.0)), self._dnd_timer, a, gen)

    def _dnd_timer(self, a: Agent, gen: int) -> None:
        if gen != a.gen or not a.dnd:
            return
        t = self._dnd_off(a, gen, self.engine.now)
        self.engine.at(t + seconds(self.rng.expovariate(1.0 / self.p.dnd_every_s)), self._dnd_due, a, gen)

    def _dnd_off(self, a: Agent, gen: int, t: int) -> int:
        t = self._simple(a, t, "RequestSetDNDOff", "EventDNDOff", "")
        a.dnd = False
        for rec in a.dnd_rec:
            rec["off"] = t
        a.dnd_rec = []
        self.refresh(a)
        return t

    def _custom_due(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.session is None:
            return
        key = "CS_Coaching" if self.rng.random() < 0.7 else "CS_Break"
        if key in a.custom:
            return
        t = self._simple(a, self.engine.now, "RequestDistributeUserEvent", "EventUserEvent",
                         tlib.user_data({key: "+"}))
        rec = {"dn": a.dns[0].number, "key": key, "code": CUSTOM_STATE_CODES[key], "start": t,
               "end": None}
        a.custom[key] = rec
        a.session["custom_states"].append(rec)
        end = t + seconds(self.rng.uniform(120.0, 900.0))
        self.engine.at(end, self._custom_timer, a, gen, key)

    def _custom_timer(self, a: Agent, gen: int, key: str) -> None:
        if gen != a.gen or key not in a.custom:
            return
        t = self._custom_end(a, gen, key, self.engine.now)
        self.engine.at(t + seconds(self.rng.expovariate(1.0 / self.p.custom_state_every_s)),
                       self._custom_due, a, gen)

    def _custom_end(self, a: Agent, gen: int, key: str, t: int) -> int:
        t = self._simple(a, t, "RequestDistributeUserEvent", "EventUserEvent",
                         tlib.user_data({key: "-"}))
        rec = a.custom.pop(key)
        rec["end"] = t
        return t

    def user_event(self, a: Agent, t: int, body: str) -> int:
        """A user event from the agent's desktop (request + EventUserEvent on the first DN);
        returns the event's tick."""
        return self._simple(a, t, "RequestDistributeUserEvent", "EventUserEvent", body)

    def _user_event_due(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.session is None:
            return
        t = self._simple(a, self.engine.now, "RequestDistributeUserEvent", "EventUserEvent",
                         tlib.user_data({"FocusApp": self.rng.choice(FOCUS_APPS)}))
        self.engine.at(t + seconds(self.rng.expovariate(1.0 / self.p.user_event_every_s)),
                       self._user_event_due, a, gen)
