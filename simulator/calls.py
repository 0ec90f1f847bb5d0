"""The call model: a call (one CallUUID on one T-Server), its parties, and the rendering of
the events a call produces. The objects double as the ground-truth records: what a flow
decides is stored here as it happens, with the tick the T-Server printed for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import tlib
from .clock import utc_iso, utc_iso_opt

if TYPE_CHECKING:  # pragma: no cover
    from .logwriter import TServerLog
    from .topology import Agent, Site

INTERNAL, INBOUND, OUTBOUND, CONSULT = 1, 2, 3, 4
CALL_TYPE_NAME = {INTERNAL: "Internal", INBOUND: "Inbound", OUTBOUND: "Outbound", CONSULT: "Consult"}

# DN roles (T-Library TDNRole; docs/log-format.md, "Values")
ORIGINATION, DESTINATION, NEW_PARTY, ADDED_BY, DELETED_BY, TRANSFERRED_BY, DELETED_PARTY, \
    CONFERENCED_BY = 1, 2, 4, 5, 6, 7, 8, 9

_REL = tlib.RELEASING
PEER = object()     # ev(other=PEER): print the party's usual other side


class Party:
    """One DN's participation in one call (ICON: one G_PARTY row). Times are ticks."""

    __slots__ = ("dn", "type", "role", "agent", "queue", "dn_role", "peer", "peer_role", "queued",
                 "dialing", "alerting", "connected", "held", "retrieved", "ended", "end_event",
                 "releasing_party", "moved_to", "busy")

    def __init__(self, dn: str, role: str, agent: "Agent | None", dn_role: int, queue: str | None,
                 peer: str | None, peer_role: int):
        self.dn = dn
        self.peer = peer                # OtherDN printed on this party's events by default
        self.peer_role = peer_role
        self.type = "Internal"          # every monitored DN is in the switch configuration
        self.role = role                # agent, routing_point, virtual_queue, acd_queue
        self.agent = agent
        self.queue = queue              # ThisQueue printed on this party's events
        self.dn_role = dn_role          # ThisDNRole printed on this party's events
        self.queued: list[int] = []
        self.dialing: list[int] = []
        self.alerting: list[int] = []
        self.connected: list[int] = []
        self.held: list[int] = []
        self.retrieved: list[int] = []
        self.ended: int | None = None
        self.end_event: str | None = None
        self.releasing_party: int | None = None
        self.moved_to: str | None = None
        self.busy: dict | None = None   # the agent session's busy interval for this party

    def to_json(self) -> dict[str, Any]:
        return {
            "dn": self.dn, "type": self.type, "role": self.role,
            "agent": self.agent.login if self.agent is not None else None,
            "queued": [utc_iso(t) for t in self.queued],
            "dialing": [utc_iso(t) for t in self.dialing],
            "alerting": [utc_iso(t) for t in self.alerting],
            "connected": [utc_iso(t) for t in self.connected],
            "held": [utc_iso(t) for t in self.held],
            "retrieved": [utc_iso(t) for t in self.retrieved],
            "ended": utc_iso_opt(self.ended), "end_event": self.end_event,
            "releasing_party": self.releasing_party, "moved_to": self.moved_to,
        }


class Call:
    __slots__ = ("site", "log", "uuid", "conn", "conn_ids", "callid", "call_type", "ani", "dnis",
                 "dialed", "scenario", "planned", "parent", "merged_into", "merge_type",
                 "created", "terminated", "parties", "released_by", "outcome", "is_links", "ud",
                 "_ud_text", "ctrl_omit", "_tail")

    def __init__(self, site: "Site", uuid: str, conn: str, callid: int, call_type: int,
                 scenario: str, planned: str, ctrl_omit: bool):
        self.site = site
        self.log: TServerLog = site.log
        self.uuid = uuid
        self.conn = conn
        self.conn_ids = [conn]
        self.callid = callid
        self.call_type = call_type
        self.ani: str | None = None
        self.dnis: str | None = None
        self.dialed: str | None = None
        self.scenario = scenario        # what really happened (may differ from the plan)
        self.planned = planned          # what the arrival process asked for
        self.parent: Call | None = None
        self.merged_into: str | None = None
        self.merge_type: str | None = None
        self.created: int | None = None
        self.terminated: int | None = None
        self.parties: list[Party] = []
        self.released_by: str | None = None
        self.outcome: str | None = None
        self.is_links: list[dict[str, str]] = []
        self.ud: dict[str, Any] = {}
        self._ud_text: str | None = None
        self.ctrl_omit = ctrl_omit      # this call's EventCallDeleted has no CtrlParty
        self._tail = ""

    # -- attached data -----------------------------------------------------------------------
    def ud_changed(self) -> None:
        self._ud_text = None

    def ud_text(self) -> str:
        # rendered once per change: UserData is printed on many events of the same call
        if self._ud_text is None:
            self._ud_text = tlib.user_data(self.ud)
        return self._ud_text

    # -- parties -----------------------------------------------------------------------------
    def party(self, dn: str, role: str, agent: "Agent | None" = None, dn_role: int = DESTINATION,
              queue: str | None = None, peer: str | None = None,
              peer_role: int = ORIGINATION) -> Party:
        if peer is None and self.call_type == INBOUND:
            peer = self.ani             # the (unmonitored) customer
        p = Party(dn, role, agent, dn_role, queue, peer, peer_role)
        self.parties.append(p)
        return p

    def monitored_agents(self) -> list[Party]:
        """Agent parties still on the call (connected or held), in joining order."""
        return [p for p in self.parties if p.agent is not None and p.ended is None and p.connected]

    # -- rendering ---------------------------------------------------------------------------
    def _fixed(self) -> str:
        # the part of every call event that only changes with the ConnID
        tail = self._tail
        if not tail:
            tail = (f"\tAttributeConnID\t{self.conn}\n\tAttributeCallID\t{self.callid}\n"
                    f"\tAttributeCallUUID\t'{self.uuid}'\n\tAttributeCallType\t{self.call_type}\n")
            if self.call_type == INBOUND:
                tail += f"\tAttributeANI\t'{self.ani}'\n\tAttributeDNIS\t'{self.dnis}'\n"
            self._tail = tail
        return tail

    def ev(self, t: int, name: str, p: Party, *, other: Any = PEER,
           other_role: int | None = None, third: str | None = None, third_role: int | None = None,
           queue: bool = True, prev: str | None = None, xfer: str | None = None,
           conf: str | None = None, state: int | None = None, rel: int | None = None,
           ref: int | None = None, ud: bool = False, extra: str = "", ext: str = "",
           ) -> int:
        """A DN event to party ``p`` of this call; returns the printed tick."""
        out = [f"\tAttributeThisDN\t'{p.dn}'\n\tAttributeThisDNRole\t{p.dn_role}\n"]
        if queue and p.queue is not None:
            out.append(f"\tAttributeThisQueue\t'{p.queue}'\n")
        if other is PEER:
            other, other_role = p.peer, p.peer_role
        if other is not None:
            if other_role is None:
                other_role = ORIGINATION
            out.append(f"\tAttributeOtherDN\t'{other}'\n\tAttributeOtherDNRole\t{other_role}\n")
        if third is not None:
            out.append(f"\tAttributeThirdPartyDN\t'{third}'\n")
            if third_role is not None:
                out.append(f"\tAttributeThirdPartyDNRole\t{third_role}\n")
        if p.agent is not None and p.agent.session is not None:
            out.append(f"\tAttributeAgentID\t'{p.agent.login}'\n")
        out.append(self._fixed())
        if prev is not None:
            out.append(f"\tAttributePreviousConnID\t{prev}\n")
        if xfer is not None:
            out.append(f"\tAttributeTransferConnID\t{xfer}\n")
        if conf is not None:
            out.append(f"\tAttributeConferenceConnID\t{conf}\n")
        if state is not None:
            out.append(f"\tAttributeCallState\t{state}\n")
        if ref is not None:
            out.append(f"\tAttributeReferenceID\t{ref}\n")
        if extra:
            out.append(extra)
        if ud and self.ud:
            out.append(self.ud_text())
        if rel is not None:
            out.append(_REL[rel])
        elif ext:
            out.append(ext)
        return self.log.event(t, name, "".join(out))

    def created_event(self, t: int, orig_uuid: str | None = None) -> int:
        body = [f"\tAttributeCallUUID\t'{self.uuid}'\n\tAttributeConnID\t{self.conn}\n"
                f"\tAttributeCallID\t{self.callid}\n\tAttributeCallType\t{self.call_type}\n"]
        if self.call_type == INBOUND:
            body.append(f"\tAttributeANI\t'{self.ani}'\n\tAttributeDNIS\t'{self.dnis}'\n")
        if orig_uuid is not None:
            body.append(f"\tAttributeOrigCallUUID\t'{orig_uuid}'\n")
        if self.dialed is not None and self.call_type == OUTBOUND:
            body.append(f"\tAttributeDialedNumber\t'{self.dialed}'\n")
        t = self.log.event(t, "EventCallCreated", "".join(body), tlib.CALL_EVENT)
        self.created = t
        return t

    def deleted_event(self, t: int, ctrl: str | None, ref_uuid: str | None = None,
                      outcome: str | None = None) -> int:
        """EventCallDeleted. ``ctrl`` is the releasing DN; it is left out for the calls drawn
        to omit it (10%) and whenever ``ctrl`` is None."""
        if ctrl is not None and self.ctrl_omit:
            ctrl = None
        body = [f"\tAttributeCallUUID\t'{self.uuid}'\n\tAttributeConnID\t{self.conn}\n"
                f"\tAttributeCallID\t{self.callid}\n"]
        if ctrl is not None:
            body.append(f"\tAttributeCtrlParty\t'{ctrl}'\n")
        if ref_uuid is not None:
            body.append(f"\tAttributeRefCallUUID\t'{ref_uuid}'\n")
        t = self.log.event(t, "EventCallDeleted", "".join(body), tlib.CALL_EVENT)
        self.terminated = t
        self.released_by = ctrl
        if outcome is not None and self.outcome is None:
            self.outcome = outcome
        return t

    def data_changed_event(self, t: int, link_id: str, location: str, link_type: str) -> int:
        links = {link_id: {"location": location, "type": link_type}}
        body = (f"\tAttributeCallUUID\t'{self.uuid}'\n\tAttributeConnID\t{self.conn}\n"
                f"\tAttributeCallID\t{self.callid}\n" + tlib.kv_attr("AttributeISLinkList", links))
        self.is_links.append({"link_id": link_id, "location": location, "type": link_type})
        return self.log.event(t, "EventCallDataChanged", body, tlib.CALL_EVENT)

    # -- truth -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "call_uuid": self.uuid,
            "switch": self.site.switch,
            "scenario": self.scenario,
            "planned_scenario": self.planned,
            "call_type": CALL_TYPE_NAME[self.call_type],
            "conn_ids": self.conn_ids,
            "ani": self.ani,
            "dnis": self.dnis,
            "dialed_number": self.dialed,
            "parent_call_uuid": self.parent.uuid if self.parent is not None else None,
            "merged_into": self.merged_into,
            "merge_type": self.merge_type,
            "created": utc_iso_opt(self.created),
            "terminated": utc_iso_opt(self.terminated),
            "parties": [p.to_json() for p in self.parties],
            "released_by": self.released_by,
            "outcome": self.outcome,
            "is_links": self.is_links,
            "final_user_data": self.ud,
        }
