"""The events the gls role reads, in event order: agent state events, DND events and the call
events of DNs (for the busy / call connected / call disconnected records), plus the reason codes
of the agent state events."""

from __future__ import annotations

import polars as pl

from transforms.config import ConfigSnapshot
from transforms.idb.dictionary import HwFlag

LOGIN, LOGOUT, READY, NOT_READY = ("EventAgentLogin", "EventAgentLogout", "EventAgentReady",
                                   "EventAgentNotReady")
AGENT_MESSAGES = [LOGIN, LOGOUT, READY, NOT_READY]
DND_ON, DND_OFF = "EventDNDOn", "EventDNDOff"
DND_MESSAGES = [DND_ON, DND_OFF]
# A DN's party in a call starts with one of these (the gcc party model: docs/semantics.md §3)
PARTY_STARTS = ["EventRinging", "EventDialing", "EventEstablished", "EventHeld", "EventRetrieved"]
PARTY_ENDS = ["EventReleased", "EventAbandoned"]
PARTY_MOVE = "EventPartyChanged"        # with PreviousConnID of another call: the party moves
CALL_MESSAGES = PARTY_STARTS + PARTY_ENDS + [PARTY_MOVE]

KIND_AGENT, KIND_DND, KIND_CALL = "agent", "dnd", "call"
HW_KEY = "ReasonCode"                   # AttributeExtensions key of the switch's reason code

COLUMNS = ["ord", "file_id", "line", "ts", "app", "dss_id", "src", "seq", "message", "kind", "dn",
           "agent", "queue", "work_mode", "call_uuid", "conn_id", "previous_conn_id"]


def dn_events(events: pl.DataFrame) -> pl.DataFrame:
    """Server events of agent DNs that the gls role uses, ordered like every other role: time, the
    T-Server's sequence number, position in the log (docs/semantics.md §2). `ord` numbers that
    order inside this window (only relative order is used, never stored)."""
    kind = (pl.when(pl.col("message").is_in(AGENT_MESSAGES)).then(pl.lit(KIND_AGENT))
            .when(pl.col("message").is_in(DND_MESSAGES)).then(pl.lit(KIND_DND))
            .otherwise(pl.lit(KIND_CALL)))
    picked = events.filter(
        (pl.col("direction") == "event") & pl.col("this_dn").is_not_null()
        & pl.col("message").is_in(AGENT_MESSAGES + DND_MESSAGES + CALL_MESSAGES))
    return (picked.sort("ts", "app", "seq", "file_id", "line", nulls_last=True)
            .with_row_index("ord")
            .with_columns(pl.col("ord").cast(pl.Int64), kind=kind, dn=pl.col("this_dn"),
                          agent=pl.col("agent_id"), queue=pl.col("this_queue"),
                          work_mode=pl.col("work_mode").cast(pl.Int32),
                          dss_id=pl.col("dss_id").cast(pl.Int64))
            .select(COLUMNS))


def reason_codes(kvpairs: pl.DataFrame, agent_rows: pl.DataFrame) -> pl.DataFrame:
    """(file_id, line, hw, key, value) of the agent state events in `agent_rows`: every top-level
    AttributeReason pair (software, HWFLAG 0) and the AttributeExtensions `ReasonCode` (hardware,
    HWFLAG 1). Nested lists are not reason values and are skipped."""
    top = kvpairs.filter((pl.col("path") == "") & (pl.col("vtype").cast(pl.String) != "list"))
    soft = top.filter(pl.col("attribute") == "AttributeReason").select(
        "file_id", "line", hw=pl.lit(int(HwFlag.SOFTWARE), dtype=pl.Int16), key=pl.col("key"),
        value=pl.col("value"))
    hard = top.filter((pl.col("attribute") == "AttributeExtensions") & (pl.col("key") == HW_KEY)) \
        .select("file_id", "line", hw=pl.lit(int(HwFlag.HARDWARE), dtype=pl.Int16),
                key=pl.col("key"), value=pl.col("value"))
    return (pl.concat([soft, hard]).join(agent_rows.select("file_id", "line").unique(),
                                         on=["file_id", "line"], how="semi")
            .unique(maintain_order=True))


def lookups(config: ConfigSnapshot) -> dict[str, pl.DataFrame]:
    """The configuration DBIDs the gls tables need."""
    endpoints = config.endpoints()
    return {
        "switches": config.switches().select("app", "switch_id", "tenant_id"),
        "endpoints": endpoints.select("switch_id", "dn", "endpoint_id", "endpoint_type")
        .unique(["switch_id", "dn"], keep="first", maintain_order=True),
        "places": config.places().unique("endpoint_id", keep="first", maintain_order=True),
        "logins": config.logins().select("switch_id", agent="login_code", login_id="login_id",
                                         agent_id="agent_id")
        .unique(["switch_id", "agent"], keep="first", maintain_order=True),
    }
