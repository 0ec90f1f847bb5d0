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
from .topology import CUSTOM_STATE_CODES, Agent

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Simulation

OUT, LOGIN, NOTREADY, READY, ACW = "out", "login", "notready", "ready", "acw"
WM_UNKNOWN, WM_MANUAL_IN, WM_ACW, WM_AUX = 0, 1, 3, 4

BREAKS = (("Break", 0.50, 600.0), ("Lunch", 0.20, 1800.0), ("Training", 0.15, 1200.0),
          ("Meeting", 0.15, 900.0))
HARDWARE_REASON = "22"
FOCUS_APPS = ("CRM", "Email", "Knowledge", "Browser")


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
        for a in sim.topo.agents:
            if p.staffing == "all":
                # a T-Server that just started: everybody (re)logs in within the first minutes
                login = start + seconds(rng.uniform(2.0, 480.0))
                shift = self._shift_len()
                if a is a.group.agents[0]:
                    shift = end - login + 3600 * TPS   # every group keeps one agent all along
                self.engine.at(login, self.login, a, login + shift)
                continue
            # shifts in the site's local time; a start hour is weighted by the load its shift
            # would cover, so that staffing follows the day curve
            off = a.site.utc_offset_s * TPS
            span = max(1, int(round(p.shift_hours)))
            weights = [sum(p.calls_per_hour[(h + i) % 24] for i in range(span)) ** 4 + 1e-6
                       for h in range(24)]
            day0 = (start + off) // (86400 * TPS) - 1
            day1 = (end + off) // (86400 * TPS)
            for day in range(day0, day1 + 1):
                h = rng.choices(range(24), weights)[0]
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

    def _user_event_due(self, a: Agent, gen: int) -> None:
        if gen != a.gen or a.session is None:
            return
        t = self._simple(a, self.engine.now, "RequestDistributeUserEvent", "EventUserEvent",
                         tlib.user_data({"FocusApp": self.rng.choice(FOCUS_APPS)}))
        self.engine.at(t + seconds(self.rng.expovariate(1.0 / self.p.user_event_every_s)),
                       self._user_event_due, a, gen)
