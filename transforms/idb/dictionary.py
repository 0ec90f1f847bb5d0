"""Every enumeration the IDB tables use, in one place; loaded into G_DICT_TYPE / G_DICTIONARY.

Code refers to these IntEnums, never to bare numbers. Type ids below 1000 are the IDB's own
dictionary types where the public PDM pages name them; ids from 1000 up are ours, for columns
whose IDB type id (or whose values) could not be read. `SOURCE` says which: [DOC] read in the IDB
documentation, [TLIB] the T-Library enumeration, [INF] our choice (listed in docs/semantics.md).
"""

from __future__ import annotations

from enum import IntEnum

import polars as pl


class CallHistoryChange(IntEnum):
    CALL_CREATED = 1
    CALL_TERMINATED = 2
    CALL_MERGED = 3
    CALL_TRFAILED = 4


class IrHistoryChange(IntEnum):
    IR_CREATED = 1
    IR_TERMINATED = 2
    IR_MERGED = 3


class IrState(IntEnum):
    UNKNOWN = 0
    ACTIVE = 1
    TERMINATED = 2


class CallState(IntEnum):
    """G_CALL.STATE (same values as G_IR.STATE)."""
    UNKNOWN = 0
    ACTIVE = 1
    TERMINATED = 2


class PartyState(IntEnum):
    """CSTA LocalConnectionState order; 3 = connected is documented, the rest inferred."""
    NULL = 0
    INITIATED = 1
    ALERTING = 2
    CONNECTED = 3
    HOLD = 4
    QUEUED = 5
    FAIL = 6
    ROUTING = 7


class PartyType(IntEnum):
    UNKNOWN = 0
    INTERNAL = 1
    EXTERNAL = 2
    MM_PLACE = 3
    MM_INTERACTION_QUEUE = 4
    MM_INTERACTION_WORKBIN = 5
    MM_ROUTING_STRATEGY = 6


class PartyRole(IntEnum):
    """T-Library TDNRole numbering (PRole values are not public)."""
    UNKNOWN = 0
    ORIGINATION = 1
    DESTINATION = 2
    CONFERENCE_MEMBER = 3
    NEW_PARTY = 4
    ADDED_BY = 5
    DELETED_BY = 6
    TRANSFERRED_BY = 7
    DELETED_PARTY = 8
    CONFERENCED_BY = 9
    OBSERVER = 10


class ParentLinkType(IntEnum):
    NONE = 0
    DISTRIBUTED = 1     # reached through a queue, routing point or virtual queue
    CONSULTATION = 2    # consultation leg of the parent party
    TRANSFERRED = 3     # moved into this call by a transfer
    CONFERENCED = 4     # moved into this call by a conference


class PartyHistoryChange(IntEnum):
    PARTY_CREATED = 1
    PARTY_TERMINATED = 2
    PARTY_STATECHANGED = 3


class MergeType(IntEnum):
    NONE = 0
    TRANSFER = 1
    CONFERENCE = 2


class CallType(IntEnum):
    UNKNOWN = 0
    INTERNAL = 1
    INBOUND = 2
    OUTBOUND = 3
    CONSULT = 4


class MediaType(IntEnum):
    VOICE = 0
    VOIP = 1
    EMAIL = 2
    VMAIL = 3
    SMAIL = 4
    CHAT = 5
    VIDEO = 6
    COBROWSING = 7
    WHITEBOARD = 8
    APPSHARING = 9
    WEBFORM = 10
    WORKITEM = 11


class ReleasingParty(IntEnum):
    LOCAL = 1
    REMOTE = 2
    UNKNOWN = 3


class RouteResult(IntEnum):
    ROUTED = 1          # EventRouteUsed answering the router's RequestRouteCall
    DEFAULT_ROUTED = 2  # EventRouteUsed without a request: router timeout, default DN
    ABANDONED = 3       # caller hung up on the routing point
    CLEARED = 4         # left the routing point otherwise (released, diverted)


class VqResult(IntEnum):
    DISTRIBUTED = 1
    ABANDONED = 2
    CLEARED = 3


class IsLinkState(IntEnum):
    UNKNOWN = 0
    ACTIVE = 1
    TERMINATED = 2
    FAILED = 3


class IsLinkChange(IntEnum):
    UNKNOWN = 0
    ADDED = 1
    MOVED = 2
    DELETED = 3


class IsLinkType(IntEnum):
    BIDIRECTIONAL = 0
    UNIDIRECTIONAL = 1
    SOURCE = 2
    TARGET = 3


class IsLinkMergeState(IntEnum):
    PENDING = 0         # counterpart not (yet) seen; the call is still open
    MERGED = 1          # both halves found: one interaction hierarchy
    UNMONITORED = 2     # the remote switch is not monitored (GSYS_DNPREMOTELOCATION)
    DANGLING = 3        # call ended, remote switch monitored, counterpart never appeared


class TargetType(IntEnum):
    """URS RTargetTypeSelected (Stat Server object types; only 2 = agent group is anchored)."""
    AGENT = 0
    PLACE = 1
    AGENT_GROUP = 2
    PLACE_GROUP = 3
    QUEUE = 4
    ROUTING_POINT = 5


class RecordStatus(IntEnum):
    UNKNOWN = 0
    ACTIVE = 1
    INACTIVE = 2
    SYNC_IN_PROGRESS = 10


class ObjectState(IntEnum):
    UNKNOWN = 0
    ENABLED = 1
    DISABLED = 2


class DnType(IntEnum):
    """Configuration DN types (the project's numbering of the CfgDNType names used)."""
    UNKNOWN = 0
    EXTENSION = 1
    ACD_POSITION = 2
    ACD_QUEUE = 3
    ROUTING_POINT = 4
    VIRT_ACD_QUEUE = 5
    VIRT_ROUTING_POINT = 6
    VOICE_MAIL = 7
    TRUNK = 8
    EXT_ROUTING_POINT = 9


class GroupType(IntEnum):
    AGENT_GROUP = 1
    DN_GROUP = 2
    PLACE_GROUP = 3


class TCallState(IntEnum):
    """AttributeCallState (T-Library TCallState); used as CCEVENTCAUSE."""
    OK = 0
    TRANSFERRED = 1
    CONFERENCED = 2
    GENERAL_ERROR = 3
    SYSTEM_ERROR = 4
    REMOTE_RELEASE = 5
    BUSY = 6
    NO_ANSWER = 7
    SIT_DETECTED = 8
    ANSWERING_MACHINE_DETECTED = 9
    ALL_TRUNKS_BUSY = 10
    SIT_INVALIDNUM = 11
    SIT_VACANT = 12
    SIT_INTERCEPT = 13
    SIT_UNKNOWN = 14
    SIT_NOCIRCUIT = 15
    SIT_REORDER = 16
    FAX_DETECTED = 17
    QUEUE_FULL = 18
    CLEARED = 19
    OVERFLOWED = 20
    ABANDONED = 21
    REDIRECTED = 22
    FORWARDED = 23
    CONSULT = 24
    PICKEDUP = 25
    DROPPED = 26
    DROPPEDNOANSWER = 27
    UNKNOWN = 28
    COVERED = 29
    CONVERSE_ON = 30
    BRIDGED = 31
    DEAFENED = 49
    HELD = 50


class CCEvent(IntEnum):
    """Call-control event that caused a party change: the T-Library message number."""
    EVENT_QUEUED = 57
    EVENT_DIVERTED = 58
    EVENT_ABANDONED = 59
    EVENT_RINGING = 60
    EVENT_DIALING = 61
    EVENT_NETWORK_REACHED = 62
    EVENT_DESTINATION_BUSY = 63
    EVENT_ESTABLISHED = 64
    EVENT_RELEASED = 65
    EVENT_HELD = 66
    EVENT_RETRIEVED = 67
    EVENT_PARTY_CHANGED = 68
    EVENT_PARTY_ADDED = 69
    EVENT_PARTY_DELETED = 70
    EVENT_ROUTE_REQUEST = 71
    EVENT_ROUTE_USED = 72
    EVENT_CALL_DELETED = 162


class UserDataChange(IntEnum):
    """G_USERDATA_HISTORY.CHANGETYPE: what a snapshot diff found for a key."""
    ADD = 1
    UPDATE = 2
    DELETE = 3


class UserDataSource(IntEnum):
    """G_USERDATA_HISTORY.SOURCE: the event attribute a key was read from."""
    USERDATA = 1
    REASONS = 2
    EXTENSIONS = 3


class KvValueType(IntEnum):
    """G_USERDATA_HISTORY.TYPE: the printed value's type (T-Library KVType order)."""
    STRING = 0
    INT = 1
    BINARY = 2
    LIST = 3


# -- agent login sessions and states (gls) --

class AgentState(IntEnum):
    """G_AGENT_STATE_HISTORY.STATE/PENDINGSTATE/PREVSTATE, G_DND_HISTORY.AGENTSTATE,
    G_AGENT_STATE_RC(_A).AGENTSTATE [DOC 0..5]."""
    NULL = 0        # logged off
    LOGIN = 1       # logged in, readiness unknown
    NOTREADY = 2
    READY = 3
    ACW = 4
    BUSY = 5


class StateRecordType(IntEnum):
    """G_AGENT_STATE_HISTORY.TYPE: -1, 0, 5, 6 [DOC]; 7, 8, 9 [INF] (the three other record
    kinds the documentation names: workmode, call connected, call disconnected)."""
    UNKNOWN = -1
    NORMAL = 0
    STATE = 5
    PENDING_STATE = 6
    WORKMODE = 7
    CALL_CONNECTED = 8
    CALL_DISCONNECTED = 9


class WorkMode(IntEnum):
    """AttributeAgentWorkMode (T-Library TAgentWorkMode) [TLIB]."""
    UNKNOWN = 0
    MANUAL_IN = 1
    AUTO_IN = 2
    AFTER_CALL_WORK = 3
    AUX_WORK = 4
    NO_CALL_DISCONNECT = 5
    WALK_AWAY = 6
    RETURN_BACK = 7


class SessionState(IntEnum):
    """G_LOGIN_SESSION.STATE and GX_SESSION_ENDPOINT.STATE: 1 = active is what public SQL
    relies on [DOC-3p]; 2 = ended [INF, by analogy with G_IR.STATE]."""
    UNKNOWN = 0
    ACTIVE = 1
    ENDED = 2


class HwFlag(IntEnum):
    """G_AGENT_STATE_RC(_A).HWFLAG: 0 software [DOC], 1 hardware [INF]."""
    SOFTWARE = 0
    HARDWARE = 1


class DsConnType(IntEnum):
    """G_DSS_*_PROVIDER.DSCONN_TYPE: how a data source session began [DOC]."""
    FIRST_CONNECTION = 1
    RECONNECT = 2
    SERVER_RESTART = 3
    SWITCH_RECONNECT = 4
    SWITCHOVER = 5


class DsType(IntEnum):
    """G_DSS_*_PROVIDER.DS_TYPE [DOC]."""
    TSERVER = 1
    INTERACTION_SERVER = 2
    OCS = 3


class LogPriority(IntEnum):
    """G_LOG_MESSAGES.PRIORITY: the Framework log levels, most urgent first [INF: the PDM names
    dictionary type 32, its values were not found]."""
    UNKNOWN = 0
    ALARM = 1
    STANDARD = 2
    INTERACTION = 3
    TRACE = 4
    DEBUG = 5


class LogCategory(IntEnum):
    """G_LOG_MESSAGES.CATEGORY [DOC]."""
    DEFAULT = 0
    ALARM = 1
    AUDIT = 2


class LogOrigin(IntEnum):
    """G_LOG_MESSAGES.ORIGIN [INF: dictionary type 34, values not found; ours is ETL]."""
    UNKNOWN = 0
    SERVER = 1
    STORED_PROCEDURE = 2
    ETL = 3


class LogMessageId(IntEnum):
    """G_LOG_MESSAGES.MESSAGE_ID: the log event id. ICON's stored procedures log 5040 at their
    start, 5050 at their end and 5045 on an error [DOC: gsysInitTimeCode], which a purge reuses
    (the purge procedures' own ids were not found); the others are ours [INF]
    (docs/semantics.md §13, §17)."""
    PROCEDURE_STARTED = 5040
    RUN_FAILED = 5045
    PROCEDURE_ENDED = 5050
    STUCK_CLOSED = 5061
    LOAD_STALE = 5062


class CampaignState(IntEnum):
    """GO_CAMPAIGN.STATE, GO_CAMPAIGNHISTORY.STATE, PREVSTATE: the campaign FSM [DOC: dictionary
    type 71; 0/null = terminated]."""
    TERMINATED = 0
    LOADED = 1
    STARTED = 2
    UNLOADING = 3


class DialMode(IntEnum):
    """GO_CAMPAIGN.DIALMODE, GO_CAMPPROP_HIST.DIALMODE, PREVDIALMODE: the dialing mode OCS
    reports [INF: the IDB stores "the mode as reported by OCS"; codes ours, names OCS's]."""
    UNKNOWN = 0
    PREDICTIVE = 1
    PROGRESSIVE = 2
    PREVIEW = 3
    PREDICTIVE_WITH_SEIZING = 4
    PROGRESSIVE_WITH_SEIZING = 5
    PUSH_PREVIEW = 6
    PROGRESSIVE_GVP = 7
    POWER_GVP = 8


class OptimMode(IntEnum):
    """GO_CAMPAIGN.OPTIMMODE, GO_CAMPPROP_HIST.OPTIMMODE, PREVOPTIMMODE: what predictive pacing
    optimises [DOC: over-dial rate, waiting time, busy factor; codes INF]."""
    UNKNOWN = 0
    OVERDIAL_RATE = 1
    WAITING_TIME = 2
    BUSY_FACTOR = 3


class CampaignCause(IntEnum):
    """GO_CAMPAIGNHISTORY.CAUSE: why the campaign's state or properties changed, as OCS gives it
    [INF: the IDB's list is not public; docs/semantics.md §14]."""
    UNKNOWN = 0
    MANAGER_REQUEST = 1
    SCHEDULE = 2
    FORCED = 3
    LIST_EXHAUSTED = 4
    DATA_SOURCE_END = 5


class ChainState(IntEnum):
    """GO_CHAIN.STATE, GO_CHAINREC_HIST.STATE, PREVSTATE: the chain FSM [DOC: dictionary type 76;
    0/null = unloaded or terminated]."""
    TERMINATED = 0
    SCHEDULED = 1
    PROCESSING = 2
    PROCESSED = 3


class CallResult(IntEnum):
    """GO_CHAINREC_HIST.CALLRESULT: the outcome of a call attempt as OCS reports it [INF: the
    codes are those OCS prints for its call results, as read in public OCS material;
    docs/semantics.md §14]."""
    UNKNOWN = 0
    BUSY = 6
    NO_ANSWER = 7
    ANSWERING_MACHINE = 9
    DROPPED = 26
    ANSWER = 33
    CANCEL_RECORD = 52


# (type id, name, column(s), source, enum)
TYPES: list[tuple[int, str, str, str, type[IntEnum]]] = [
    (1, "call_history_change_type", "G_CALL_HISTORY.CHANGETYPE", "DOC", CallHistoryChange),
    (3, "ir_history_change_type", "G_IR_HISTORY.CHANGETYPE", "DOC", IrHistoryChange),
    (7, "ir_state", "G_IR.STATE", "DOC", IrState),
    (8, "party_state", "G_PARTY.STATE, PREVSTATE; G_PARTY_HISTORY.STATE, PREVSTATE", "INF", PartyState),
    (9, "party_type", "G_PARTY.TYPE", "DOC", PartyType),
    (10, "party_role", "G_PARTY.PROLE", "INF", PartyRole),
    (11, "parent_link_type", "G_PARTY.PARENTLINKTYPE, G_IR.PARENTLINKTYPE", "INF", ParentLinkType),
    (21, "is_link_state", "G_IS_LINK.STATE, G_IS_LINK_HISTORY.STATE", "DOC", IsLinkState),
    (22, "is_link_change_type", "G_IS_LINK_HISTORY.CHANGETYPE", "DOC", IsLinkChange),
    (24, "record_status", "GC_*.STATUS, GCX_*.STATUS", "DOC", RecordStatus),
    (27, "is_link_type", "G_IS_LINK.ISLINKTYPE", "DOC", IsLinkType),
    (29, "target_type", "G_ROUTE_RESULT.RTARGETTYPESELECTED", "INF", TargetType),
    (32, "log_priority", "G_LOG_MESSAGES.PRIORITY", "INF", LogPriority),
    (33, "log_category", "G_LOG_MESSAGES.CATEGORY", "DOC", LogCategory),
    (34, "log_origin", "G_LOG_MESSAGES.ORIGIN", "INF", LogOrigin),
    (71, "campaign_state", "GO_CAMPAIGN.STATE; GO_CAMPAIGNHISTORY.STATE, PREVSTATE", "DOC",
     CampaignState),
    (76, "chain_state", "GO_CHAIN.STATE; GO_CHAINREC_HIST.STATE, PREVSTATE", "DOC", ChainState),
    (86, "merge_type", "G_CALL.MERGETYPE", "INF", MergeType),
    (500, "object_state", "GC_*.STATE", "DOC", ObjectState),
    (1001, "party_history_change_type", "G_PARTY_HISTORY.CHANGETYPE", "DOC", PartyHistoryChange),
    (1002, "cc_event", "G_PARTY.CCEVENT, G_PARTY_HISTORY.CCEVENT", "TLIB", CCEvent),
    (1003, "cc_event_cause", "G_PARTY.CCEVENTCAUSE, G_PARTY_HISTORY.CCEVENTCAUSE", "TLIB",
     TCallState),
    (1004, "call_state", "G_CALL.STATE", "INF", CallState),
    (1005, "call_type", "G_CALL.CALLTYPE", "TLIB", CallType),
    (1006, "media_type", "G_CALL.MEDIATYPE, G_IR.MEDIATYPE", "TLIB", MediaType),
    (1007, "releasing_party", "G_PARTY_STAT.GSYS_EXT_INT1", "DOC", ReleasingParty),
    (1008, "route_result", "G_ROUTE_RESULT.RESULT", "INF", RouteResult),
    (1009, "vq_result", "G_VIRTUAL_QUEUE.RESULT", "INF", VqResult),
    (1010, "is_link_merge_state", "G_IS_LINK.MERGESTATE", "INF", IsLinkMergeState),
    (1011, "dn_type", "GC_ENDPOINT.TYPE, G_PARTY.ENDPOINTTYPE", "INF", DnType),
    (1012, "group_type", "GC_GROUP.GROUPTYPE", "INF", GroupType),
    (1020, "userdata_change_type", "G_USERDATA_HISTORY.CHANGETYPE, G_SECURE_USERDATA_HISTORY.CHANGETYPE",
     "INF", UserDataChange),
    (1021, "userdata_source", "G_USERDATA_HISTORY.SOURCE, G_SECURE_USERDATA_HISTORY.SOURCE, "
     "G_CUSTOM_DATA_S.SOURCE", "INF", UserDataSource),
    (1022, "kv_value_type", "G_USERDATA_HISTORY.TYPE, G_SECURE_USERDATA_HISTORY.TYPE", "INF",
     KvValueType),
    (1030, "dss_connection_type", "G_DSS_*_PROVIDER.DSCONN_TYPE", "DOC", DsConnType),
    (1031, "dss_source_type", "G_DSS_*_PROVIDER.DS_TYPE", "DOC", DsType),
    (1040, "log_message_id", "G_LOG_MESSAGES.MESSAGE_ID", "INF", LogMessageId),
    (1201, "dial_mode", "GO_CAMPAIGN.DIALMODE; GO_CAMPPROP_HIST.DIALMODE, PREVDIALMODE", "INF",
     DialMode),
    (1202, "optimization_mode", "GO_CAMPAIGN.OPTIMMODE; GO_CAMPPROP_HIST.OPTIMMODE, "
     "PREVOPTIMMODE", "INF", OptimMode),
    (1203, "campaign_cause", "GO_CAMPAIGNHISTORY.CAUSE", "INF", CampaignCause),
    (1204, "call_result", "GO_CHAINREC_HIST.CALLRESULT", "INF", CallResult),
    (1101, "agent_state",
     "G_AGENT_STATE_HISTORY.STATE, PENDINGSTATE, PREVSTATE; G_DND_HISTORY.AGENTSTATE; "
     "G_AGENT_STATE_RC(_A).AGENTSTATE", "DOC", AgentState),
    (1102, "agent_state_record_type", "G_AGENT_STATE_HISTORY.TYPE", "INF", StateRecordType),
    (1103, "agent_work_mode", "G_AGENT_STATE_HISTORY.WORKMODE, G_AGENT_STATE_RC(_A).WORKMODE",
     "TLIB", WorkMode),
    (1104, "login_session_state", "G_LOGIN_SESSION.STATE, GX_SESSION_ENDPOINT.STATE", "INF",
     SessionState),
    (1105, "reason_code_hw_flag", "G_AGENT_STATE_RC(_A).HWFLAG", "INF", HwFlag),
]


def register(type_id: int, name: str, columns: str, source: str, enum: type[IntEnum]) -> None:
    """Other roles (gls, gud, dss) add their enumerations here at import."""
    if any(t[0] == type_id for t in TYPES):
        raise ValueError(f"dictionary type {type_id} already registered")
    TYPES.append((type_id, name, columns, source, enum))


def dict_type_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [(tid, name, f"{columns} [{source}]") for tid, name, columns, source, _ in TYPES],
        schema={"ID": pl.Int32, "NAME": pl.String, "DESCRIPTION": pl.String}, orient="row")


def dictionary_frame() -> pl.DataFrame:
    rows = [(tid, int(member), member.name.lower(), f"{enum.__name__}.{member.name}")
            for tid, _name, _cols, _source, enum in TYPES for member in enum]
    return pl.DataFrame(rows, schema={"TYPE_ID": pl.Int32, "ID": pl.Int32, "NAME": pl.String,
                                      "DESCRIPTION": pl.String}, orient="row")


def values(enum: type[IntEnum]) -> list[int]:
    return [int(m) for m in enum]
