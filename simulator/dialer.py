"""Outbound dialing (docs/simulator.md "Outbound campaigns"): while a campaign attempt is
started, its OCS takes the records of its calling list in turn, one chain processing attempt
each, and dials them with the attempt's current dialing mode.

* Preview: a free ready agent of the campaign group's agent group is offered the record and
  either cancels it (CallResult 52, no call) or dials it from the desktop.
* Progressive: OCS dials only for a free ready agent (reserved until the call's outcome).
* Predictive: OCS dials ahead, one record more than the ports progressive dialing has, while
  an agent of the group is ready or talking on one of the campaign's calls (expected to be
  free soon), without reserving one; an answered call that then finds no free agent is
  dropped (26).

Calls that reach an agent (answered, and every preview dial) are agent-originated outbound calls
like flow 8a; the others (busy, no answer, answering machine, dropped) are made by OCS from the
agent group's ACD queue DN. What OCS reports (GO chain events, record and treatment blocks,
pacing, the desktop's requests) goes to its log through `simulator/outbound.py`.

Every decision of OCS, the customers and the desktop draws from `sim.ocs_rng`; the T-Server's
ids and gaps come from the shared machinery (`sim.new_call`, `sim.gap`, `Flows.talk`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from . import outbound, tlib
from .calls import DESTINATION, ORIGINATION, OUTBOUND, Call
from .clock import TPMS, TPS, seconds
from .outbound import ANSWER, BUSY, CALLBACK, CANCEL, DROPPED, MACHINE, NO_ANSWER, RESCHEDULED

if TYPE_CHECKING:  # pragma: no cover
    from .outbound import Attempt, Chain, Ocs, Record
    from .sim import Simulation
    from .topology import Agent, Group

SCENARIO = "campaign"               # truth/calls.jsonl scenario of the calls OCS dials
OUTCOME = {ANSWER: "answered", BUSY: "busy", NO_ANSWER: "no_answer", MACHINE: "answering_machine",
           DROPPED: "dropped"}
# what the customer side does with a dial (fixed shares); a preview record is cancelled first
RESULT_SHARES = ((ANSWER, 0.50), (BUSY, 0.15), (NO_ANSWER, 0.20), (MACHINE, 0.15))
CANCEL_SHARE = 0.20                 # preview records the agent cancels
CALLBACK_SHARE = 0.12               # answered calls that end with a callback
REDIAL_SHARE = 0.5                  # a busy OCS dial redialed at once, in the same chain
MAX_CHAINS = 3                      # chain processing attempts of a record per campaign attempt
AGENTS_PER_PORT = 40                # a campaign dials at most 1 + agents/40 records at a time
# the gap between two records a campaign takes, per port (seconds)
PACE_S = {"Preview": (30.0, 90.0), "Progressive": (90.0, 270.0), "Predictive": (60.0, 180.0)}
RESCHEDULE_S = {BUSY: (300, 600), NO_ANSWER: (600, 1200), MACHINE: (1200, 2400),
                DROPPED: (300, 600)}
CALLBACK_S = (900, 2700)
PACING_EVERY_S = 300                # a `PA Session Info` block at most this often
# the desktop's field changes during an answered call: (field, share of answered calls)
UPDATES = (("contact_notes", 0.60), ("account_balance", 0.30), ("ssn_last4", 0.15))
_NOTES = ("interested, send offer", "call back next week", "paid by card", "wrong person",
          "asked for documents", "not interested")


class Dialer:
    def __init__(self, sim: "Simulation"):
        self.sim = sim
        self.rng = sim.ocs_rng
        self.engine = sim.engine
        self.flows = sim.flows
        self.desk = sim.desk

    # -- small helpers -----------------------------------------------------------------------------
    def u(self, lo: float, hi: float) -> int:
        return seconds(self.rng.uniform(lo, hi))

    def ms(self, lo: float, hi: float) -> int:
        return int(self.rng.uniform(lo, hi) * TPMS)

    def draw(self) -> int:
        u = self.rng.random()
        for result, share in RESULT_SHARES:
            if u < share:
                return result
            u -= share
        return RESULT_SHARES[-1][0]

    @staticmethod
    def free_agent(g: "Group") -> "Agent | None":
        """The group's longest-ready agent (ready agents exist only when no call waits)."""
        return next(iter(g.ready), None)

    # -- plan and campaign steps -------------------------------------------------------------------
    def plan(self) -> None:
        """Every campaign step goes into the engine at its time; each OCS connects to its
        T-Server at the start (its requests make the calls it dials)."""
        sim = self.sim
        # every session GUID first: they are the same whatever the dialing draws afterwards
        steps = [(ocs, step) for ocs in sim.ocs
                 for step in outbound.schedule(ocs, sim.start, sim.end, self.rng)]
        for ocs in sim.ocs:
            ocs.client = sim.connect(ocs.site, ocs.app, sim.start + seconds(0.3), rng=self.rng,
                                     host=2)
        for ocs, (t, attempt, code, cause, attrs) in steps:
            self.engine.at(t, self._step, ocs, attempt, code, cause, attrs)

    def _step(self, ocs: "Ocs", attempt: "Attempt", code: str, cause: str, attrs: dict) -> None:
        """A campaign step at its time: a start begins the attempt's dialing, any other state
        change ends it, an unload first ends the chains still open."""
        t = self.engine.now
        if code != "CampaignModeChanged":
            attempt.dialing = code == "CampaignStarted"
        if code in ("CampaignUnloading", "CampaignUnloaded", "CampaignForceUnloaded"):
            t = self._unload(attempt, t)
        outbound.campaign_step(ocs, t, attempt, code, cause, attrs)
        if code == "CampaignStarted":
            self.engine.spawn(self._dial(ocs, attempt))

    def _unload(self, attempt: "Attempt", t: int) -> int:
        """Chains still open end before the campaign's unload events; returns the tick for
        those events (after the last chain event)."""
        for chain in list(attempt.open):
            tc = chain.event(t, "ChainTerminated", cause="CampaignUnloaded")
            attempt.open.remove(chain)
            t = max(t, tc)
        attempt.buffered = None
        return t

    # -- the campaign attempt's dialing ------------------------------------------------------------
    def _dial(self, ocs: "Ocs", attempt: "Attempt") -> Iterator:
        """Take records while the attempt is started: one chain per free port and free ready
        agent (predictive: while an agent is ready, one port more), a paced gap between two.
        Like OCS's record buffer, the next record is retrieved (ChainScheduled) before a port
        and an agent are free for it: a stopped attempt keeps it until its unload."""
        g = attempt.cg.group
        base = 1 + len(g.agents) // AGENTS_PER_PORT
        last_pacing, sent = -PACING_EVERY_S * TPS, 0
        yield self.ms(100, 1000)        # the first records are read from the list
        if not attempt.dialing:
            return
        attempt.buffered = self._open_chain(ocs, attempt, self._next_record(ocs, attempt))
        while attempt.dialing:
            mode = attempt.pacing.get("DialMode", "Progressive")
            predictive = mode == "Predictive"
            if len(attempt.open) - 1 >= base + predictive:
                yield self.u(3.0, 8.0)
                continue
            agent = self.free_agent(g)
            if agent is None and not (predictive and attempt.talking):
                yield self.u(5.0, 15.0)
                continue
            if predictive:
                agent = None            # connected when the customer answers, if free then
            else:
                self.desk.reserve(agent)
            self.engine.spawn(self._process(ocs, attempt.buffered, mode, agent))
            attempt.buffered = self._open_chain(ocs, attempt, self._next_record(ocs, attempt))
            sent += 1
            now = self.engine.now
            if predictive and now - last_pacing >= PACING_EVERY_S * TPS:
                r = self.rng
                t = outbound.ms_ceil(now + self.ms(5, 50))
                ocs.emit(t, outbound.pacing_block(
                    ocs, t, attempt.cg, r.uniform(0.2, 0.9), r.uniform(0.8, 1.6),
                    r.uniform(5.0, 25.0), r.uniform(0.0, 1.0), sent))
                last_pacing, sent = now, 0
            yield self.u(*PACE_S[mode]) // base

    def _next_record(self, ocs: "Ocs", attempt: "Attempt") -> "Record":
        """A rescheduled record or callback that is due, else the list's next record."""
        now = self.engine.now
        due = [r for r in attempt.due if r.due <= now]
        if due:
            rec = min(due, key=lambda r: (r.due, r.handle))
            attempt.due.remove(rec)
            return rec
        return outbound.new_record(ocs, attempt.cg.calling_list, self.rng)

    def _open_chain(self, ocs: "Ocs", attempt: "Attempt", rec: "Record") -> "Chain":
        t = outbound.ms_ceil(self.engine.now)
        ocs.emit(t, outbound.create_record_block(ocs, t, attempt.cg, rec))
        chain = outbound.Chain(ocs, attempt, rec, outbound.new_guid(self.rng))
        rec.chains += 1
        chain.event(t + TPMS, "ChainScheduled", fields=dict(rec.fields))
        ocs.chains.append(chain)
        attempt.open.append(chain)
        return chain

    def _finish(self, chain: "Chain", cause: str, delay: int = 0, t: int = 0) -> None:
        """ChainTerminated (now, or at `t` when OCS learns it later); a rescheduled record or a
        callback comes back after `delay`."""
        if chain.event(max(t, self.engine.now), "ChainTerminated", cause=cause) is None:
            return                  # the campaign was unloaded meanwhile
        attempt, rec = chain.attempt, chain.record
        attempt.open.remove(chain)
        if cause in ("Rescheduled", "Callback"):
            rec.due = self.engine.now + delay
            rec.rtype = CALLBACK if cause == "Callback" else RESCHEDULED
            attempt.due.append(rec)

    def _reschedule(self, chain: "Chain", result: int) -> None:
        """The treatment of a call that reached nobody: try again later, a few times."""
        rec = chain.record
        if rec.chains >= MAX_CHAINS or not chain.open:
            self._finish(chain, "Processed")
            return
        delay = self.rng.randint(*RESCHEDULE_S[result])
        rec.rtype = RESCHEDULED
        ocs = chain.ocs
        t = chain.last + TPMS
        ocs.emit(t, outbound.treatment_block(ocs, t, chain.attempt.cg, rec, result,
                                             "RescheduleCampaign", delay))
        self._finish(chain, "Rescheduled", delay * TPS)

    # -- one chain processing attempt --------------------------------------------------------------
    def _process(self, ocs: "Ocs", chain: "Chain", mode: str, agent: "Agent | None") -> Iterator:
        yield self.ms(20, 200)
        if not chain.open:              # the campaign was unloaded meanwhile: nothing is dialed
            if agent is not None:
                self.desk.unreserve(agent)
            return
        if mode == "Preview":
            yield from self._preview(ocs, chain, agent)
        else:
            yield from self._dial_record(ocs, chain, mode, agent)

    def _preview(self, ocs: "Ocs", chain: "Chain", a: "Agent") -> Iterator:
        """The record is offered to agent `a` (reserved); the agent reads it, then cancels it
        or dials it from the desktop."""
        att = outbound.new_guid(self.rng)
        chain.event(self.engine.now, "ChainProcessing", call_attempt=att)
        yield self.u(5.0, 25.0)
        if not chain.open:          # unloaded while the agent was reading: nothing dialed
            self.desk.unreserve(a)
            return
        if self.rng.random() < CANCEL_SHARE:
            t = self._desktop(chain, a, "RecordCancel")
            chain.event(t, "ChainProcessed", call_attempt=att, result=CANCEL)
            self.desk.unreserve(a)
            self._finish(chain, "Processed")
            return
        yield from self._agent_call(ocs, chain, att, a, self.draw(), a.client, preview=True)

    def _dial_record(self, ocs: "Ocs", chain: "Chain", mode: str, a: "Agent | None") -> Iterator:
        """Progressive (`a` reserved) or predictive (`a` None) dialing of the record; a busy
        number is redialed once in the same chain."""
        g = chain.attempt.cg.group
        for k in range(2):
            result = self.draw()
            if mode == "Predictive" and result == ANSWER:
                a = self.free_agent(g)      # the customer answers: connect a free agent
                if a is None:
                    result = DROPPED
                else:
                    self.desk.reserve(a)
            att = outbound.new_guid(self.rng)
            if result == ANSWER:
                yield from self._agent_call(ocs, chain, att, a, ANSWER, ocs.client, preview=False)
                return
            yield from self._dialer_call(ocs, chain, att, result)
            if a is not None:
                self.desk.unreserve(a)
                a = None
            if k == 0 and result == BUSY and chain.open and chain.attempt.dialing \
                    and self.rng.random() < REDIAL_SHARE:
                delay = self.rng.randint(30, 90)
                t = chain.last + TPMS
                ocs.emit(t, outbound.treatment_block(ocs, t, chain.attempt.cg, chain.record, BUSY,
                                                     "Redial", delay))
                yield delay * TPS
                if not (chain.open and chain.attempt.dialing):
                    break               # unloaded or stopped meanwhile: no more dialing
                if mode == "Progressive":
                    a = self.free_agent(g)
                    if a is None:
                        break
                    self.desk.reserve(a)
                continue
            break
        self._reschedule(chain, result)

    # -- the calls ---------------------------------------------------------------------------------
    def _new_call(self, chain: "Chain", att: str, site) -> Call:
        """A call to the record's phone, with the attached data OCS gives the calls it dials."""
        rec, cg = chain.record, chain.attempt.cg
        call = self.sim.new_call(site, OUTBOUND, SCENARIO, SCENARIO)
        call.dialed = rec.fields["phone"]
        call.ud = {"GSW_CALL_ATTEMPT_GUID": att, "GSW_RECORD_HANDLE": str(rec.handle),
                   "GSW_CHAIN_ID": str(rec.chain_id), "GSW_CAMPAIGN_NAME": cg.campaign,
                   "GSW_CALLING_LIST": rec.clist.name, "GSW_PHONE": rec.fields["phone"]}
        return call

    def _agent_call(self, ocs: "Ocs", chain: "Chain", att: str, a: "Agent", result: int,
                    client, preview: bool) -> Iterator:
        """An outbound call from agent `a` (reserved) to the record's phone: requested by the
        desktop (preview) or by OCS (an answered progressive/predictive dial)."""
        sim, flows = self.sim, self.flows
        call = self._new_call(chain, att, a.site)
        phone = call.dialed
        t, ref = call.log.request(self.engine.now, client, "RequestMakeCall",
                                  f"\tAttributeThisDN\t'{a.dn}'\n\tAttributeOtherDN\t'{phone}'\n"
                                  f"\tAttributeMakeCallType\t0\n" + tlib.user_data(call.ud))
        t = call.created_event(t + sim.rgap())
        b = call.party(a.dn, "agent", a, ORIGINATION, None, peer=phone, peer_role=DESTINATION)
        self.desk.call_arrives(a)
        t = call.ev(t + sim.gap(), "EventDialing", b, ref=ref, ud=True)
        b.dialing.append(t)
        flows.busy(call, b, t)
        if not preview:
            chain.event(t + self.ms(1, 5), "ChainProcessing", call_attempt=att, call_uuid=call.uuid)
        yield flows.to(t, self.u(0.5, 2.0))
        t = call.ev(self.engine.now, "EventNetworkReached", b)
        if result == ANSWER:
            yield flows.to(t, self.u(5.0, 20.0))
            t = call.ev(self.engine.now, "EventEstablished", b, state=0, ud=True)
            b.connected.append(t)
            chain.event(t + self.ms(1, 5), "ChainProcessed", call_attempt=att, call_uuid=call.uuid,
                        result=ANSWER)
            length = flows.talk_len(self.sim.profile.outbound_talk_mean_s)
            self.engine.spawn(self._field_updates(chain, att, length))
            chain.attempt.talking += 1
            yield from flows.talk(call, b, length, ["update"], False)
            flows.release(call, b)
            chain.attempt.talking -= 1
            yield self.u(1.0, 8.0)  # the agent completes the record at the desktop
            callback = self.rng.random() < CALLBACK_SHARE
            if callback:
                when = self.rng.randint(*CALLBACK_S)
                self._desktop(chain, a, "RecordReschedule", when)
                t = self._desktop(chain, a, "RecordProcessed")
                self._finish(chain, "Callback", when * TPS, t)
            else:
                t = self._desktop(chain, a, "RecordProcessed")
                self._finish(chain, "Processed", t=t)
            return
        # a preview dial that reached nobody: the agent hangs up
        if result == BUSY:
            yield from self._busy(chain, att, call, b, t, hang_up=(1.0, 3.0))
        elif result == NO_ANSWER:
            yield flows.to(t, self.u(15.0, 30.0))
        else:
            yield flows.to(t, self.u(5.0, 15.0))
            t = call.ev(self.engine.now, "EventEstablished", b, state=0, ud=True)
            b.connected.append(t)
            yield flows.to(t, self.u(3.0, 8.0))
        t, ref = call.log.request(self.engine.now, a.client, "RequestReleaseCall",
                                  f"\tAttributeThisDN\t'{a.dn}'\n\tAttributeConnID\t{call.conn}\n")
        t = call.ev(t + sim.rgap(), "EventReleased", b, state=0, rel=1, ref=ref)
        flows.end(b, t, "EventReleased", 1)
        t = call.deleted_event(t + sim.gap(), a.dn, outcome=OUTCOME[result])
        self.desk.leave_call(a, t, acw=False)
        if result != BUSY:
            chain.event(t + self.ms(1, 5), "ChainProcessed", call_attempt=att,
                        call_uuid=call.uuid, result=result)
        self._reschedule(chain, result)

    def _dialer_call(self, ocs: "Ocs", chain: "Chain", att: str, result: int) -> Iterator:
        """A call OCS makes from the agent group's ACD queue DN that reaches no agent: busy,
        no answer (OCS gives up), answering machine (detected, released), or answered with no
        free agent (dropped)."""
        sim, flows = self.sim, self.flows
        g = chain.attempt.cg.group
        q = g.queue.number
        call = self._new_call(chain, att, g.site)
        phone = call.dialed
        t, ref = call.log.request(self.engine.now, ocs.client, "RequestMakePredictiveCall",
                                  f"\tAttributeThisDN\t'{q}'\n\tAttributeOtherDN\t'{phone}'\n"
                                  f"\tAttributeMakeCallType\t0\n" + tlib.user_data(call.ud))
        t = call.created_event(t + sim.rgap())
        p = call.party(q, "acd_queue", None, ORIGINATION, None, peer=phone, peer_role=DESTINATION)
        t = call.ev(t + sim.gap(), "EventDialing", p, ref=ref, ud=True)
        p.dialing.append(t)
        chain.event(t + self.ms(1, 5), "ChainProcessing", call_attempt=att, call_uuid=call.uuid)
        yield flows.to(t, self.u(0.5, 2.0))
        t = call.ev(self.engine.now, "EventNetworkReached", p)
        if result == BUSY:
            yield from self._busy(chain, att, call, p, t, hang_up=(0.1, 0.8))
        elif result == NO_ANSWER:
            yield flows.to(t, self.u(15.0, 30.0))      # OCS's no-answer timeout
        else:
            yield flows.to(t, self.u(5.0, 20.0))
            t = call.ev(self.engine.now, "EventEstablished", p, state=0, ud=True)
            p.connected.append(t)
            # call progress detection: a machine after a few seconds, a person at once
            yield flows.to(t, self.u(2.0, 5.0) if result == MACHINE else self.u(0.3, 1.5))
            chain.event(self.engine.now, "ChainProcessed", call_attempt=att, call_uuid=call.uuid,
                        result=result)
        t, ref = call.log.request(self.engine.now, ocs.client, "RequestReleaseCall",
                                  f"\tAttributeThisDN\t'{q}'\n\tAttributeConnID\t{call.conn}\n")
        t = call.ev(t + sim.rgap(), "EventReleased", p, state=0, rel=1, ref=ref)
        flows.end(p, t, "EventReleased", 1)
        t = call.deleted_event(t + sim.gap(), q, outcome=OUTCOME[result])
        if result == NO_ANSWER:
            chain.event(t + self.ms(1, 5), "ChainProcessed", call_attempt=att,
                        call_uuid=call.uuid, result=NO_ANSWER)

    def _busy(self, chain: "Chain", att: str, call: Call, party, t: int,
              hang_up: tuple[float, float]) -> Iterator:
        """The dialed number is busy: EventDestinationBusy to the dialing `party`, OCS reports
        the result, and the dialing side hangs up `hang_up` seconds later."""
        yield self.flows.to(t, self.u(1.0, 4.0))
        t = call.ev(self.engine.now, "EventDestinationBusy", party, state=6)
        chain.event(t + self.ms(1, 5), "ChainProcessed", call_attempt=att, call_uuid=call.uuid,
                    result=BUSY)
        yield self.flows.to(t, self.u(*hang_up))

    # -- the agent desktop -------------------------------------------------------------------------
    def _field_updates(self, chain: "Chain", att: str, length: int) -> Iterator:
        """The agent edits record fields during the conversation: one or two ChainUpdated."""
        r = self.rng
        rec = chain.record
        changes: dict[str, str] = {}
        for name, share in UPDATES:
            if r.random() < share:
                if name == "contact_notes":
                    changes[name] = r.choice(_NOTES)
                elif name == "account_balance":
                    changes[name] = f"{max(0.0, float(rec.fields[name]) - r.randint(1, 500)):.2f}"
                else:
                    changes[name] = f"{r.randint(0, 9999):04d}"
        names = list(changes)
        if not names:
            return
        split = r.randint(1, len(names))         # the first update has these, the second the rest
        parts = [names[:split], names[split:]]
        now = self.engine.now
        times = sorted(now + int(length * r.uniform(0.1, 0.9)) for _ in parts)
        for when, part in zip(times, parts):
            if part:
                yield max(0, when - self.engine.now)
                chain.update(self.engine.now, att, {n: changes[n] for n in part})

    def _desktop(self, chain: "Chain", a: "Agent", request: str, callback_s: int = 0) -> int:
        """A desktop request to OCS about the record (`GSW_AGENT_REQ_TYPE`): the desktop's
        RequestDistributeUserEvent and EventUserEvent on the T-Server, and the event as OCS's
        client receives it. Returns the tick OCS has it (now when the agent is gone)."""
        now = self.engine.now
        if a.session is None or not chain.open:
            return now
        ocs, rec = chain.ocs, chain.record
        pairs = {"GSW_AGENT_REQ_TYPE": request, "GSW_APPLICATION_ID": ocs.dbid,
                 "GSW_CAMPAIGN_NAME": chain.attempt.cg.campaign,
                 "GSW_CALLING_LIST": rec.clist.name, "GSW_RECORD_HANDLE": rec.handle}
        if request == "RecordReschedule":
            when = now + callback_s * TPS
            pairs["GSW_DATE_TIME"] = f"{ocs.clock.date(when)} {ocs.clock.hms(when)[0][:5]}"
            pairs["GSW_CALLBACK_TYPE"] = "Campaign"
        t = self.desk.user_event(a, now, tlib.user_data(pairs))
        t = max(outbound.ms_ceil(t + self.ms(1, 5)), ocs.client_last + TPMS)
        ocs.client_last = t
        ocs.emit(t, outbound.client_event_block(ocs, t, "EventUserEvent", a.dn, pairs))
        return t
