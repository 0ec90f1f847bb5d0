"""Call flows (docs/simulator.md "Call scenarios"), one generator process per call.

A flow yields delays (ticks) and :class:`~simulator.engine.Wait` objects, writes the events
through :class:`~simulator.calls.Call` and records on the call/party objects what really
happened. When a flow cannot do what was planned (no free agent to consult), it falls back
and says so in ``call.scenario``. Letters in comments name the flows in docs/simulator.md,
"Call flows".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from . import tlib
from .calls import (
    ADDED_BY,
    CONFERENCED_BY,
    CONSULT,
    DELETED_BY,
    DELETED_PARTY,
    DESTINATION,
    INBOUND,
    INTERNAL,
    NEW_PARTY,
    ORIGINATION,
    OUTBOUND,
    TRANSFERRED_BY,
    Call,
    Party,
)
from .clock import TPMS, TPS, seconds
from .profiles import GROUP_SHARES, SCENARIOS

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Simulation
    from .topology import Agent, Group, Site

POST_ANSWER = ("transfer_two_step", "consult_cancel", "transfer_single_step", "conference",
               "iscc_transfer")
_SEGMENTS = ("gold", "silver", "bronze", "default")
_LANGS = ("en", "en", "en", "de", "fr", "es")
_TOPICS = ("billing", "invoice", "password", "upgrade", "cancel", "delivery", "complaint")
_DISPOSITIONS = ("Resolved", "FollowUp", "Escalated", "InfoGiven")
_WORDS = ("customer", "asked", "about", "the", "last", "invoice", "and", "wants", "a", "callback",
          "next", "week", "order", "delayed", "refund", "approved", "address", "changed",
          "contract", "renewal", "explained", "terms", "escalate", "if", "needed", "ticket")


class Plan:
    """What the arrival process asks for. ``variant`` picks the alternative of a scenario:
    ACD-queue abandon, consult cancelled while ringing, single-step transfer to a busy DN,
    conference member deleted by B, outbound busy, internal caller gives up."""

    __slots__ = ("scenario", "variant", "hold", "tries", "patient")

    def __init__(self, scenario: str, variant: bool = False, hold: bool = False, tries: int = 5,
                 patient: bool = False):
        self.scenario = scenario
        self.variant = variant
        self.hold = hold
        self.tries = tries              # attempts to find a free agent for a consult/outbound
        self.patient = patient          # caller waits (up to 2 h) rather than abandon


def walkthrough_plans(hour: int) -> list[Plan]:
    """Every scenario once; the variants alternate from hour to hour."""
    even = hour % 2 == 0
    variants = {"abandon_in_queue": not even, "consult_cancel": even,
                "transfer_single_step": not even, "conference": even, "outbound": not even,
                "internal": even}
    return [Plan(s, variants.get(s, False), hold=(s == "inbound_routed"), tries=120, patient=True)
            for s in SCENARIOS]


class Flows:
    def __init__(self, sim: "Simulation"):
        self.sim = sim
        self.rng = sim.rng
        self.p = sim.profile
        self.engine = sim.engine
        self.desk = sim.desk

    # -- small helpers -------------------------------------------------------------------------
    def to(self, t: int, delay: int = 0) -> int:
        """Ticks from now until ``t + delay`` (a flow's own cursor may run ahead of now)."""
        d = t + delay - self.engine.now
        return d if d > 0 else 0

    def u(self, lo: float, hi: float) -> int:
        return seconds(self.rng.uniform(lo, hi))

    def ms(self, lo: float, hi: float) -> int:
        return int(self.rng.uniform(lo, hi) * TPMS)

    def talk_len(self, mean: float) -> int:
        return seconds(max(10.0, self.rng.gammavariate(2.0, mean / 2.0)))

    def end(self, p: Party, t: int, event: str, releasing: int | None = None) -> None:
        p.ended = t
        p.end_event = event
        p.releasing_party = releasing
        if p.busy is not None:
            p.busy["end"] = t

    def busy(self, call: Call, p: Party, t: int) -> None:
        a = p.agent
        if a is not None and a.session is not None:
            p.busy = {"dn": p.dn, "call_uuid": call.uuid, "start": t, "end": None}
            a.session["busy"].append(p.busy)

    def request(self, call: Call, a: "Agent", name: str, body: str) -> tuple[int, int]:
        return call.log.request(self.engine.now, a.client, name, body)

    def pick_group(self, site: "Site") -> "Group":
        groups = site.groups
        if len(groups) == 1:
            return groups[0]
        weights = GROUP_SHARES[:len(groups)]
        return self.rng.choices(groups, weights)[0]

    def find_target(self, site: "Site", exclude: "Agent | None", tries: int) -> Iterator:
        """An agent free for a direct call (ready preferred, else in ACW); waits and retries
        a few times (the agent keeps talking to the customer meanwhile)."""
        for i in range(tries):
            cands = [a for a in site.agents if a is not exclude and self.desk.free_for_direct(a)]
            if cands:
                ready = [a for a in cands if a.mode == "ready"]
                return self.rng.choice(ready or cands)
            if i + 1 < tries:
                yield self.u(8.0, 20.0)
        return None

    # -- attached data ----------------------------------------------------------------------------
    def ivr_data(self, g: "Group") -> dict:
        r = self.rng
        return {"CustomerSegment": r.choice(_SEGMENTS), "ServiceType": g.skill.lower(),
                "CustomerID": f"C{r.randint(0, 9999999):07d}",
                "AccountID": f"{r.randint(10 ** 9, 10 ** 10 - 1)}", "Language": r.choice(_LANGS)}

    def note(self, n: int) -> str:
        words = self.rng.choices(_WORDS, k=max(1, n // 6 + 1))
        return " ".join(words)[:n].strip()

    def data_ops(self) -> list[str]:
        n = self.p.desktop_data_requests
        base = ["attach", "update", "delete"]
        return (base + ["update"] * max(0, n - 3))[:n]

    def data_op(self, call: Call, owner: Party, op: str, pin: bool) -> int:
        """A desktop attach/update/delete request and one EventAttachedDataChanged per
        monitored party of the call (ThirdPartyDN = the desktop's DN)."""
        r = self.rng
        ud = call.ud
        if op == "delete" and "TempFlag" not in ud:
            op = "update"
        if op == "attach":
            delta = {"CaseID": f"CS{r.randint(100000, 999999)}", "Topic": r.choice(_TOPICS),
                     "TempFlag": "review"}
            if pin:
                delta["CustomerPIN"] = f"{r.randint(0, 9999):04d}"   # secure key, printed as is
            name = "RequestAttachUserData"
            for k, v in delta.items():
                ud.setdefault(k, v)     # attach never overwrites (TAttachUserData)
        elif op == "delete":
            delta = {"TempFlag": ""}
            name = "RequestDeleteUserData"
            del ud["TempFlag"]
        elif op == "conf":
            delta = {"ConferenceNote": self.note(40)}
            name = "RequestUpdateUserData"
            ud.update(delta)
        else:
            delta = {"Notes": self.note(self.p.note_bytes), "Disposition": r.choice(_DISPOSITIONS)}
            name = "RequestUpdateUserData"
            ud.update(delta)
        call.ud_changed()
        t, ref = self.request(call, owner.agent, name,
                              f"\tAttributeThisDN\t'{owner.dn}'\n\tAttributeConnID\t{call.conn}\n"
                              + tlib.user_data(delta))
        gap = self.sim.gap
        t += self.sim.rgap()
        parties = call.monitored_agents()
        if owner in parties:            # the requester's copy first, with the ReferenceID
            parties.remove(owner)
            parties.insert(0, owner)
        for m in parties:
            t = call.ev(t, "EventAttachedDataChanged", m, other=None, third=owner.dn,
                        ref=ref if m is owner else None, ud=True) + gap()
        return t

    # -- common call pieces -------------------------------------------------------------------------
    def answer(self, call: Call, p: Party) -> int:
        t, ref = self.request(call, p.agent, "RequestAnswerCall",
                              f"\tAttributeThisDN\t'{p.dn}'\n\tAttributeConnID\t{call.conn}\n")
        t = call.ev(t + self.sim.rgap(), "EventEstablished", p, state=0, ref=ref, ud=True)
        p.connected.append(t)
        return t

    def hold(self, call: Call, p: Party, dur: int) -> Iterator:
        body = f"\tAttributeThisDN\t'{p.dn}'\n\tAttributeConnID\t{call.conn}\n"
        t, ref = self.request(call, p.agent, "RequestHoldCall", body)
        t = call.ev(t + self.sim.rgap(), "EventHeld", p, ref=ref)
        p.held.append(t)
        yield self.to(t, dur)
        t, ref = self.request(call, p.agent, "RequestRetrieveCall", body)
        t = call.ev(t + self.sim.rgap(), "EventRetrieved", p, state=0, ref=ref)
        p.retrieved.append(t)
        return t

    def talk(self, call: Call, owner: Party, length: int, ops: list[str], hold: bool,
             pin: bool = False) -> Iterator:
        """Conversation of ``length`` ticks with the desktop's data requests and maybe one
        hold/retrieve spread over it."""
        r = self.rng
        now = self.engine.now
        # the desktop's requests keep their order (attach before update before delete)
        times = sorted(now + int(length * r.uniform(0.05, 0.95)) for _ in ops)
        agenda = [(when, 1, op) for when, op in zip(times, ops)]
        if hold:
            dur = min(seconds(r.expovariate(1.0 / self.p.hold_mean_s)) + TPS, int(length * 0.35))
            agenda.append((now + int(length * r.uniform(0.1, 0.55)), 0, dur))
        agenda.sort(key=lambda x: (x[0], x[1]))
        for when, kind, x in agenda:
            yield self.to(when)
            if kind == 0:
                yield from self.hold(call, owner, x)
            else:
                self.data_op(call, owner, x, pin and x == "attach")
        yield self.to(now + length)

    def release(self, call: Call, owner: Party) -> None:
        """End of a two-party call: the customer (ReleasingParty 2) or the agent hangs up."""
        a = owner.agent
        if self.rng.random() < 0.55 and owner.peer is not None:
            t = call.ev(self.engine.now, "EventReleased", owner, state=0, rel=2)
            self.end(owner, t, "EventReleased", 2)
            ctrl = owner.peer
        else:
            t, ref = self.request(call, a, "RequestReleaseCall",
                                  f"\tAttributeThisDN\t'{owner.dn}'\n\tAttributeConnID\t{call.conn}\n")
            t = call.ev(t + self.sim.rgap(), "EventReleased", owner, state=0, rel=1, ref=ref)
            self.end(owner, t, "EventReleased", 1)
            ctrl = owner.dn
        call.deleted_event(t + self.sim.gap(), ctrl, outcome="answered")
        self.desk.leave_call(a, t, acw=call.call_type == INBOUND)

    # -- inbound -----------------------------------------------------------------------------------
    def inbound(self, plan: Plan, site: "Site") -> Iterator:
        """Every inbound scenario: arrival on an RP (routed, default route) or an ACD queue,
        the wait for an agent, ringing, then the talk with what the plan asks for."""
        sim, rng, p = self.sim, self.rng, self.p
        sc = plan.scenario
        if sc == "iscc_transfer" and site is not sim.topo.north:
            sc = "transfer_two_step"     # multi-site transfers go north -> south only
        g = self.pick_group(site)
        acd = sc == "inbound_acd" or (sc == "abandon_in_queue" and plan.variant)
        call = sim.new_call(site, INBOUND, sc, plan.scenario)
        call.ani = sim.new_ani()
        call.dnis = sim.dnis_of(g.queue if acd else g.rp)
        call.ud = self.ivr_data(g)
        planned_abandon = sc == "abandon_in_queue"
        if planned_abandon:
            patience = self.u(5.0, 45.0)
        elif plan.patient:
            patience = 7200 * TPS
        else:
            patience = seconds(rng.expovariate(1.0 / p.patience_mean_s)) + seconds(p.router_timeout_s)
        t = call.created_event(self.engine.now)
        if acd:
            agent, t, this_queue = yield from self.acd_queue(call, g, t + sim.gap(), patience,
                                                             planned_abandon)
        else:
            rp = call.party(g.rp.number, "routing_point", queue=g.rp.number)
            t = call.ev(t + sim.gap(), "EventRouteRequest", rp, ud=True)
            rp.queued.append(t)
            if sc == "default_route":
                # URS does not answer within router-timeout: T-Server routes to the default DN
                yield self.to(t, seconds(p.router_timeout_s))
                t = call.ev(self.engine.now, "EventRouteUsed", rp, third=g.queue.number,
                            third_role=DESTINATION)
                self.end(rp, t, "EventRouteUsed")
                agent, t, this_queue = yield from self.acd_queue(
                    call, g, t + sim.gap(), max(patience - seconds(p.router_timeout_s), 5 * TPS), False)
            else:
                agent, t = yield from self.routed(call, g, rp, t, patience, planned_abandon)
                this_queue = rp.dn
        if agent is None:
            return
        b = call.party(agent.dn, "agent", agent, DESTINATION, this_queue)
        self.desk.call_arrives(agent)
        t = call.ev(t + sim.gap(), "EventRinging", b, state=0, ud=True)
        b.alerting.append(t)
        self.busy(call, b, t)
        if sc == "abandon_ringing":     # 3b: the caller hangs up before the agent answers
            yield self.to(t, self.u(4.0, 15.0))
            t = call.ev(self.engine.now, "EventAbandoned", b, state=0, rel=2)
            self.end(b, t, "EventAbandoned", 2)
            call.deleted_event(t + sim.gap(), call.ani, outcome="abandoned_ringing")
            self.desk.leave_call(agent, t, acw=False)
            return
        yield self.to(t, self.u(2.0, 8.0))
        self.answer(call, b)
        yield from self.after_answer(call, b, plan)

    def routed(self, call: Call, g: "Group", rp: Party, t: int, patience: int,
               planned_abandon: bool) -> Iterator:
        """2a: URS attaches data, queues the call on its VQ, waits for a ready agent of the
        group, then routes (RouteUsed before the VQ's Diverted)."""
        sim = self.sim
        site = call.site
        urs = site.urs
        log = call.log
        vqid = sim.new_token()
        strategy = f"RS_{g.skill}_Main"
        t = self.urs_update(call, rp, t + self.ms(30, 300), {
            "RTargetAgentGroup": g.name, "RVQID": vqid, "RStrategyName": strategy,
            "RRequestedSkillCombination": "", "RRequestedSkills": {}, "RTargetRequested": g.name})
        vq = call.party(g.vq.number, "virtual_queue", queue=g.vq.number)
        vq_ext = tlib.extensions({"VQID": vqid, "SIGNATURE": "router", "NAME": urs.app,
                                  "Location": site.switch})
        base = (f"\tAttributeThisDN\t'{vq.dn}'\n\tAttributeThisQueue\t'{vq.dn}'\n"
                f"\tAttributeConnID\t{call.conn}\n\tAttributeCallUUID\t'{call.uuid}'\n")
        t, ref = log.request(t + self.ms(2, 30), urs, "RequestDistributeEvent",
                             f"\tAttributeUserEvent\tEventQueued\n{base}")
        t = call.ev(t + sim.rgap(), "EventQueued", vq, ref=ref, ud=True, ext=vq_ext)
        vq.queued.append(t)
        yield self.to(t)
        w = self.engine.wait(call)
        if not planned_abandon:         # a caller who gives up early is never offered
            g.waiting.append(w)
            sim.dispatch(g)
        w.fire_later(patience)
        agent = yield w
        t = self.engine.now
        if agent is None:               # 3a (RP/VQ): the caller hangs up while queued
            t = call.ev(t, "EventAbandoned", rp, state=0, rel=2)
            self.end(rp, t, "EventAbandoned", 2)
            t, ref = log.request(t + self.ms(1, 20), urs, "RequestDistributeEvent",
                                 f"\tAttributeUserEvent\tEventAbandoned\n{base}")
            t = call.ev(t + sim.rgap(), "EventAbandoned", vq, state=0, ref=ref,
                        ext=tlib.extensions({"ReleasingParty": 2, "VQID": vqid}))
            self.end(vq, t, "EventAbandoned", 2)
            call.deleted_event(t + sim.gap(), call.ani, outcome="abandoned_in_queue")
            call.scenario = "abandon_in_queue"
            return None, t
        t = self.urs_update(call, rp, t + self.ms(5, 40), {
            "RTargetTypeSelected": "2", "RTargetRuleSelected": "", "RTargetObjectSelected": g.name,
            "RTargetObjSelDBID": str(g.dbid), "RTargetAgentSelected": agent.login,
            "RTargetPlaceSelected": agent.place, "RTenant": tlib.TENANT, "RStrategyName": strategy,
            "RStrategyDBID": str(g.strategy_dbid)})
        t, ref = log.request(t + sim.gap(), urs, "RequestRouteCall",
                             f"\tAttributeThisDN\t'{rp.dn}'\n\tAttributeConnID\t{call.conn}\n"
                             f"\tAttributeOtherDN\t'{agent.dn}'\n\tAttributeRouteType\t1\n")
        t = call.ev(t + sim.rgap(), "EventRouteUsed", rp, third=agent.dn, third_role=DESTINATION,
                    ref=ref)
        self.end(rp, t, "EventRouteUsed")
        t, ref = log.request(t + self.ms(1, 20), urs, "RequestDistributeEvent",
                             f"\tAttributeUserEvent\tEventDiverted\n{base}"
                             f"\tAttributeThirdPartyDN\t'{agent.dn}'\n")
        t = call.ev(t + sim.rgap(), "EventDiverted", vq, third=agent.dn, third_role=DESTINATION,
                    ref=ref, ext=vq_ext)
        self.end(vq, t, "EventDiverted")
        return agent, t

    def urs_update(self, call: Call, rp: Party, t: int, delta: dict) -> int:
        call.ud.update(delta)
        call.ud_changed()
        t, ref = call.log.request(t, call.site.urs, "RequestUpdateUserData",
                                  f"\tAttributeThisDN\t'{rp.dn}'\n\tAttributeConnID\t{call.conn}\n"
                                  + tlib.user_data(delta))
        return call.ev(t + self.sim.rgap(), "EventAttachedDataChanged", rp, other=None,
                       third=rp.dn, ref=ref, ud=True)

    def acd_queue(self, call: Call, g: "Group", t: int, patience: int,
                  planned_abandon: bool) -> Iterator:
        """1a / 3a (ACD queue): queued on Q until an agent of the group is ready."""
        q = call.party(g.queue.number, "acd_queue", queue=g.queue.number)
        t = call.ev(t, "EventQueued", q, ud=True)
        q.queued.append(t)
        yield self.to(t)
        w = self.engine.wait(call)
        if not planned_abandon:
            g.waiting.append(w)
            self.sim.dispatch(g)
        w.fire_later(patience)
        agent = yield w
        if agent is None:
            t = call.ev(self.engine.now, "EventAbandoned", q, state=0, rel=2)
            self.end(q, t, "EventAbandoned", 2)
            call.deleted_event(t + self.sim.gap(), call.ani, outcome="abandoned_in_queue")
            if call.scenario != "default_route":
                call.scenario = "abandon_in_queue"
            return None, t, None
        t = call.ev(self.engine.now + self.ms(2, 50), "EventDiverted", q, third=agent.dn,
                    third_role=DESTINATION)
        self.end(q, t, "EventDiverted")
        return agent, t, q.dn

    def after_answer(self, call: Call, b: Party, plan: Plan) -> Iterator:
        p, r = self.p, self.rng
        total = self.talk_len(p.talk_mean_s)
        ops = self.data_ops()
        pin = r.random() < p.secure_pin_share
        hold = plan.hold or r.random() < p.hold_share
        sc = call.scenario
        if sc not in POST_ANSWER:
            yield from self.talk(call, b, total, ops, hold, pin)
            self.release(call, b)
            return
        first = int(total * r.uniform(0.25, 0.6))
        k = (len(ops) + 1) // 2
        yield from self.talk(call, b, first, ops[:k], hold, pin)
        if sc == "transfer_two_step":
            owner = yield from self.two_step(call, b, plan, cancel=False)
        elif sc == "consult_cancel":
            owner = yield from self.two_step(call, b, plan, cancel=True)
        elif sc == "transfer_single_step":
            owner = yield from self.single_step(call, b, plan)
        elif sc == "conference":
            owner = yield from self.conference(call, b, plan)
        else:
            owner = yield from self.iscc(call, b, plan, total - first, ops[k:])
        if owner is None:
            return
        yield from self.talk(call, owner, max(total - first, 10 * TPS), ops[k:], False)
        self.release(call, owner)

    def _fallback(self, call: Call) -> None:
        # nobody free to consult: the agent simply goes on with the customer
        call.scenario = "inbound_routed"

    def consult_call(self, call: Call, b: Party, c: "Agent", req: str, link_attr: str,
                     extra: str = "") -> tuple[Call, Party, int]:
        """B's desktop asks for a consultation: hold B's call, create the consult call U2 and
        dial from B (the first two steps of 4a / 6a)."""
        sim = self.sim
        t, ref = self.request(call, b.agent, req,
                              f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                              f"\tAttributeOtherDN\t'{c.dn}'\n{extra}")
        t = call.ev(t + sim.rgap(), "EventHeld", b, ref=ref)
        b.held.append(t)
        u2 = sim.new_call(call.site, CONSULT, call.scenario, call.planned)
        u2.parent = call
        u2.ud = dict(call.ud)           # consult-user-data = inherited
        t = u2.created_event(t + sim.gap(), orig_uuid=call.uuid)
        target = c.dn
        bc = u2.party(b.dn, "agent", b.agent, ORIGINATION, None, peer=target, peer_role=DESTINATION)
        self.desk.call_arrives(b.agent)
        kw = {"xfer": call.conn} if link_attr == "xfer" else {"conf": call.conn}
        t = u2.ev(t + sim.gap(), "EventDialing", bc, extra=extra, **kw)
        bc.dialing.append(t)
        self.busy(u2, bc, t)
        return u2, bc, t

    def two_step(self, call: Call, b: Party, plan: Plan, cancel: bool) -> Iterator:
        """4a (complete after answer) or 4d (reconnect: consult cancelled)."""
        sim = self.sim
        ba = b.agent
        c = yield from self.find_target(call.site, ba, plan.tries)
        if c is None:
            self._fallback(call)
            return b
        self.desk.reserve(c)
        u2, bc, t = self.consult_call(call, b, c, "RequestInitiateTransfer", "xfer")
        cc = u2.party(c.dn, "agent", c, DESTINATION, None, peer=b.dn, peer_role=ORIGINATION)
        self.desk.call_arrives(c)
        t = u2.ev(t + self.ms(30, 400), "EventRinging", cc, xfer=call.conn, state=0, ud=True)
        cc.alerting.append(t)
        self.busy(u2, cc, t)
        ringing = cancel and plan.variant
        if ringing:
            yield self.to(t, self.u(3.0, 10.0))
        else:
            yield self.to(t, self.u(2.0, 7.0))
            t = self.answer(u2, cc)
            t = u2.ev(t + sim.gap(), "EventEstablished", bc, state=0, ud=True)
            bc.connected.append(t)
            yield self.to(t, self.u(5.0, 30.0) if cancel else self.u(10.0, 45.0))
        body = (f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                f"\tAttributeTransferConnID\t{u2.conn}\n")
        if cancel:
            t, ref = self.request(call, ba, "RequestReconnectCall", body)
            t = u2.ev(t + sim.rgap(), "EventReleased", bc, state=0, rel=1, ref=ref)
            self.end(bc, t, "EventReleased", 1)
            if ringing:
                t = u2.ev(t + sim.gap(), "EventAbandoned", cc, prev=call.conn, state=0, rel=2)
                self.end(cc, t, "EventAbandoned", 2)
            else:
                t = u2.ev(t + sim.gap(), "EventReleased", cc, state=0, rel=2)
                self.end(cc, t, "EventReleased", 2)
            t = u2.deleted_event(t + sim.gap(), b.dn, outcome="consult_cancelled")
            t = call.ev(t + sim.gap(), "EventRetrieved", b, state=0)
            b.retrieved.append(t)
            self.desk.leave_call(ba, t, acw=False)
            self.desk.leave_call(c, t, acw=False)
            return b
        t, ref = self.request(call, ba, "RequestCompleteTransfer", body)
        t = u2.ev(t + sim.rgap(), "EventReleased", bc, state=1, rel=1, ref=ref)
        self.end(bc, t, "EventReleased", 1)
        t = call.ev(t + sim.gap(), "EventReleased", b, third=c.dn, state=1, rel=1)
        self.end(b, t, "EventReleased", 1)
        c1 = call.party(c.dn, "agent", c, DESTINATION, None)
        t = call.ev(t + sim.gap(), "EventPartyChanged", c1, prev=u2.conn, third=b.dn,
                    third_role=TRANSFERRED_BY, state=1, ud=True)
        self.end(cc, t, "EventPartyChanged")
        cc.moved_to = call.uuid
        c1.connected.append(t)
        self.busy(call, c1, t)
        self._merged(u2, call, "transfer", b.dn, t)
        call.outcome = "transferred"
        self.desk.leave_call(ba, t, acw=False)      # the consult leg
        self.desk.leave_call(ba, t, acw=True)       # the customer call -> ACW
        return c1

    def _merged(self, u2: Call, into: Call, how: str, ctrl: str, t: int) -> int:
        t = u2.deleted_event(t + self.sim.gap(), ctrl, ref_uuid=into.uuid, outcome="merged")
        u2.merged_into = into.uuid
        u2.merge_type = how
        return t

    def single_step(self, call: Call, b: Party, plan: Plan) -> Iterator:
        """5a; in the failure variant the destination is busy and the request gets EventError."""
        sim = self.sim
        ba = b.agent
        c = None
        if plan.variant:
            busy = [a for a in call.site.agents if a is not ba and a.calls > 0 and a.session]
            c = self.rng.choice(busy) if busy else None
        if c is not None:
            t, ref = self.request(call, ba, "RequestSingleStepTransfer",
                                  f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                                  f"\tAttributeOtherDN\t'{c.dn}'\n")
            t = call.log.event(t + sim.rgap(), "EventError",
                               f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                               f"\tAttributeReferenceID\t{ref}\n\tAttributeErrorCode\t56\n"
                               f"\tAttributeErrorMessage\t'Invalid Destination'\n", tlib.REPLY)
            call.log.line(t + sim.gap(), f"Trc 04542 EventError sent to [{ba.client.fd}] ({ba.client.label})")
            call.outcome = "transfer_failed"
            return b
        c = yield from self.find_target(call.site, ba, plan.tries)
        if c is None:
            self._fallback(call)
            return b
        self.desk.reserve(c)
        t, ref = self.request(call, ba, "RequestSingleStepTransfer",
                              f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                              f"\tAttributeOtherDN\t'{c.dn}'\n")
        t = call.ev(t + sim.rgap(), "EventReleased", b, third=c.dn, state=1, rel=1, ref=ref)
        self.end(b, t, "EventReleased", 1)
        self.desk.leave_call(ba, t, acw=True)
        cp = call.party(c.dn, "agent", c, DESTINATION, None)
        self.desk.call_arrives(c)
        t = call.ev(t + self.ms(20, 300), "EventRinging", cp, third=b.dn, third_role=TRANSFERRED_BY,
                    state=0, ud=True)
        cp.alerting.append(t)
        self.busy(call, cp, t)
        yield self.to(t, self.u(2.0, 8.0))
        self.answer(call, cp)
        call.outcome = "transferred"
        return cp

    def conference(self, call: Call, b: Party, plan: Plan) -> Iterator:
        """6a, then 6b: B deletes C (variant) or C leaves; A-B go on."""
        sim = self.sim
        ba = b.agent
        c = yield from self.find_target(call.site, ba, plan.tries)
        if c is None:
            self._fallback(call)
            return b
        self.desk.reserve(c)
        u2, bc, t = self.consult_call(call, b, c, "RequestInitiateConference", "conf")
        cc = u2.party(c.dn, "agent", c, DESTINATION, None, peer=b.dn, peer_role=ORIGINATION)
        self.desk.call_arrives(c)
        t = u2.ev(t + self.ms(30, 400), "EventRinging", cc, conf=call.conn, state=0, ud=True)
        cc.alerting.append(t)
        self.busy(u2, cc, t)
        yield self.to(t, self.u(2.0, 7.0))
        t = self.answer(u2, cc)
        t = u2.ev(t + sim.gap(), "EventEstablished", bc, state=0, ud=True)
        bc.connected.append(t)
        yield self.to(t, self.u(5.0, 30.0))
        t, ref = self.request(call, ba, "RequestCompleteConference",
                              f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                              f"\tAttributeConferenceConnID\t{u2.conn}\n")
        t = u2.ev(t + sim.rgap(), "EventReleased", bc, state=2, rel=1, ref=ref)
        self.end(bc, t, "EventReleased", 1)
        t = call.ev(t + sim.gap(), "EventRetrieved", b, state=0)
        b.retrieved.append(t)
        t = call.ev(t + sim.gap(), "EventPartyAdded", b, other=c.dn, other_role=NEW_PARTY,
                    third=b.dn, third_role=ADDED_BY, state=2)
        c1 = call.party(c.dn, "agent", c, DESTINATION, None)
        t = call.ev(t + sim.gap(), "EventPartyChanged", c1, other=None, prev=u2.conn, third=b.dn,
                    third_role=CONFERENCED_BY, state=2, ud=True)
        self.end(cc, t, "EventPartyChanged")
        cc.moved_to = call.uuid
        c1.connected.append(t)
        self.busy(call, c1, t)
        t = self._merged(u2, call, "conference", b.dn, t)
        call.outcome = "conferenced"
        self.desk.leave_call(ba, t, acw=False)
        yield from self.talk(call, b, self.u(20.0, 120.0), ["conf"], False)
        if plan.variant:                # B deletes C from the conference
            t, ref = self.request(call, ba, "RequestDeleteFromConference",
                                  f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                                  f"\tAttributeOtherDN\t'{c.dn}'\n")
            t = call.ev(t + sim.rgap(), "EventPartyDeleted", b, other=c.dn,
                        other_role=DELETED_PARTY, third=b.dn, third_role=DELETED_BY, state=0, ref=ref)
            t = call.ev(t + sim.gap(), "EventReleased", c1, state=0, rel=2)
            self.end(c1, t, "EventReleased", 2)
        else:                           # C hangs up and leaves the conference
            t, ref = self.request(call, c, "RequestReleaseCall",
                                  f"\tAttributeThisDN\t'{c.dn}'\n\tAttributeConnID\t{call.conn}\n")
            t = call.ev(t + sim.rgap(), "EventReleased", c1, state=0, rel=1, ref=ref)
            self.end(c1, t, "EventReleased", 1)
            t = call.ev(t + sim.gap(), "EventPartyDeleted", b, other=c.dn,
                        other_role=DELETED_PARTY, third=c.dn, third_role=DELETED_BY, state=0)
        self.desk.leave_call(c, t, acw=True)
        return b

    def iscc(self, call: Call, b: Party, plan: Plan, rest: int, ops: list[str]) -> Iterator:
        """11, two-step variant: B (north) consults D (south) over ISCC and completes."""
        sim = self.sim
        ba = b.agent
        south = sim.topo.south
        d = yield from self.find_target(south, None, plan.tries)
        if d is None:
            self._fallback(call)
            return b
        self.desk.reserve(d)
        loc = f"\tAttributeLocation\t'{south.switch}'\n"
        u2, bc, t = self.consult_call(call, b, d, "RequestInitiateTransfer", "xfer", extra=loc)
        link = sim.new_token()
        t = u2.data_changed_event(t + sim.gap(), link, south.switch, "source")
        t = u2.ev(t + self.ms(50, 300), "EventNetworkReached", bc)
        yield self.to(t, self.ms(20, 120))
        # south: the call arrives from the trunk as a new call with its own CallUUID
        u3 = sim.new_call(south, INBOUND, call.scenario, call.planned)
        u3.ani = call.ani
        u3.dnis = d.dn
        u3.ud = dict(call.ud)
        ts = u3.created_event(self.engine.now)
        ts = u3.data_changed_event(ts + sim.gap(), link, call.site.switch, "target")
        dp = u3.party(d.dn, "agent", d, DESTINATION, None)
        self.desk.call_arrives(d)
        ts = u3.ev(ts + sim.gap(), "EventRinging", dp, state=0, ud=True,
                   extra=f"\tAttributeLastTransferConnID\t{u2.conn}\n"
                         f"\tAttributeLastTransferOrigDN\t'{b.dn}'\n"
                         f"\tAttributeLastTransferHomeLocation\t'{call.site.switch}'\n")
        dp.alerting.append(ts)
        self.busy(u3, dp, ts)
        yield self.to(ts, self.u(2.0, 8.0))
        self.answer(u3, dp)
        t = u2.ev(self.engine.now + self.ms(30, 200), "EventEstablished", bc, state=0, ud=True)
        bc.connected.append(t)
        yield self.to(t, self.u(10.0, 40.0))
        t, ref = self.request(call, ba, "RequestCompleteTransfer",
                              f"\tAttributeThisDN\t'{b.dn}'\n\tAttributeConnID\t{call.conn}\n"
                              f"\tAttributeTransferConnID\t{u2.conn}\n")
        t = u2.ev(t + sim.rgap(), "EventReleased", bc, state=1, rel=1, ref=ref)
        self.end(bc, t, "EventReleased", 1)
        t = call.ev(t + sim.gap(), "EventReleased", b, third=d.dn, state=1, rel=1)
        self.end(b, t, "EventReleased", 1)
        t = self._merged(u2, call, "transfer", b.dn, t)
        call.is_links.append({"link_id": link, "location": south.switch, "type": "source"})
        call.outcome = "transferred"
        self.desk.leave_call(ba, t, acw=False)
        self.desk.leave_call(ba, t, acw=True)
        yield from self.talk(u3, dp, max(rest, 10 * TPS), ops, False)
        ts, ref = self.request(u3, d, "RequestReleaseCall",
                               f"\tAttributeThisDN\t'{d.dn}'\n\tAttributeConnID\t{u3.conn}\n")
        ts = u3.ev(ts + sim.rgap(), "EventReleased", dp, state=0, rel=1, ref=ref)
        self.end(dp, ts, "EventReleased", 1)
        u3.deleted_event(ts + sim.gap(), d.dn, outcome="answered")
        self.desk.leave_call(d, ts, acw=True)
        # north: nothing monitored is left on U1; it ends with the trunk, CtrlParty unknown
        call.deleted_event(self.engine.now + self.ms(5, 60), None)
        return None

    # -- agent-initiated calls -------------------------------------------------------------------
    def free_ready(self, site: "Site") -> list["Agent"]:
        out = []
        for g in site.groups:
            out.extend(g.ready)
        return out

    def outbound(self, plan: Plan, site: "Site") -> Iterator:
        """8a: answered, or destination busy (variant)."""
        sim, p, r = self.sim, self.p, self.rng
        a = None
        for i in range(plan.tries):
            cands = self.free_ready(site)
            if cands:
                a = r.choice(cands)
                break
            yield self.u(20.0, 60.0)
        if a is None:
            return
        self.desk.reserve(a)
        x = sim.new_ani()
        call = sim.new_call(site, OUTBOUND, "outbound", plan.scenario)
        call.dialed = x
        t, ref = self.request(call, a, "RequestMakeCall",
                              f"\tAttributeThisDN\t'{a.dn}'\n\tAttributeOtherDN\t'{x}'\n"
                              f"\tAttributeMakeCallType\t0\n")
        t = call.created_event(t + sim.rgap())
        b = call.party(a.dn, "agent", a, ORIGINATION, None, peer=x, peer_role=DESTINATION)
        self.desk.call_arrives(a)
        t = call.ev(t + sim.gap(), "EventDialing", b, ref=ref)
        b.dialing.append(t)
        self.busy(call, b, t)
        yield self.to(t, self.u(0.5, 2.0))
        t = call.ev(self.engine.now, "EventNetworkReached", b)
        if plan.variant:
            yield self.to(t, self.u(1.0, 4.0))
            t = call.ev(self.engine.now, "EventDestinationBusy", b, state=6)
            yield self.to(t, self.u(1.0, 3.0))
            t, ref = self.request(call, a, "RequestReleaseCall",
                                  f"\tAttributeThisDN\t'{a.dn}'\n\tAttributeConnID\t{call.conn}\n")
            t = call.ev(t + sim.rgap(), "EventReleased", b, state=0, rel=1, ref=ref)
            self.end(b, t, "EventReleased", 1)
            call.deleted_event(t + sim.gap(), a.dn, outcome="busy")
            self.desk.leave_call(a, t, acw=False)
            return
        yield self.to(t, self.u(5.0, 25.0))
        t = call.ev(self.engine.now, "EventEstablished", b, state=0, ud=True)
        b.connected.append(t)
        yield from self.talk(call, b, self.talk_len(p.outbound_talk_mean_s), ["update"], False)
        self.release(call, b)

    def internal(self, plan: Plan, site: "Site") -> Iterator:
        """8b: B calls C; in the variant B gives up while C rings."""
        sim, p, r = self.sim, self.p, self.rng
        a = c = None
        for i in range(plan.tries):
            cands = self.free_ready(site)
            if cands:
                a = r.choice(cands)
                others = [x for x in site.agents if x is not a and self.desk.free_for_direct(x)]
                if others:
                    c = r.choice(others)
                    break
            yield self.u(20.0, 60.0)
        if a is None or c is None:
            return
        self.desk.reserve(a)
        self.desk.reserve(c)
        call = sim.new_call(site, INTERNAL, "internal", plan.scenario)
        call.dialed = c.dn
        t, ref = self.request(call, a, "RequestMakeCall",
                              f"\tAttributeThisDN\t'{a.dn}'\n\tAttributeOtherDN\t'{c.dn}'\n"
                              f"\tAttributeMakeCallType\t0\n")
        t = call.created_event(t + sim.rgap())
        bp = call.party(a.dn, "agent", a, ORIGINATION, None, peer=c.dn, peer_role=DESTINATION)
        self.desk.call_arrives(a)
        t = call.ev(t + sim.gap(), "EventDialing", bp, ref=ref)
        bp.dialing.append(t)
        self.busy(call, bp, t)
        cp = call.party(c.dn, "agent", c, DESTINATION, None, peer=a.dn, peer_role=ORIGINATION)
        self.desk.call_arrives(c)
        t = call.ev(t + self.ms(20, 200), "EventRinging", cp, state=0, ud=True)
        cp.alerting.append(t)
        self.busy(call, cp, t)
        if plan.variant:
            yield self.to(t, self.u(5.0, 15.0))
            t, ref = self.request(call, a, "RequestReleaseCall",
                                  f"\tAttributeThisDN\t'{a.dn}'\n\tAttributeConnID\t{call.conn}\n")
            t = call.ev(t + sim.rgap(), "EventReleased", bp, state=0, rel=1, ref=ref)
            self.end(bp, t, "EventReleased", 1)
            t = call.ev(t + sim.gap(), "EventAbandoned", cp, state=0, rel=2)
            self.end(cp, t, "EventAbandoned", 2)
            call.deleted_event(t + sim.gap(), a.dn, outcome="abandoned_ringing")
            self.desk.leave_call(a, t, acw=False)
            self.desk.leave_call(c, t, acw=False)
            return
        yield self.to(t, self.u(2.0, 6.0))
        t = self.answer(call, cp)
        t = call.ev(t + sim.gap(), "EventEstablished", bp, state=0, ud=True)
        bp.connected.append(t)
        yield self.to(t, self.talk_len(p.internal_talk_mean_s))
        rel, other = (bp, cp) if r.random() < 0.5 else (cp, bp)
        t, ref = self.request(call, rel.agent, "RequestReleaseCall",
                              f"\tAttributeThisDN\t'{rel.dn}'\n\tAttributeConnID\t{call.conn}\n")
        t = call.ev(t + sim.rgap(), "EventReleased", rel, state=0, rel=1, ref=ref)
        self.end(rel, t, "EventReleased", 1)
        t = call.ev(t + sim.gap(), "EventReleased", other, state=0, rel=2)
        self.end(other, t, "EventReleased", 2)
        call.deleted_event(t + sim.gap(), rel.dn, outcome="answered")
        self.desk.leave_call(a, t, acw=False)
        self.desk.leave_call(c, t, acw=False)
