"""Which columns of the IDB refer to which rows: declared once, for the foreign-key checks
(quality/rules.py) and for the purge, which keeps every reference of a row that stays
(transforms/idb/purge.py)."""

from __future__ import annotations

# A column of this name refers to (table, column) in every table that has it, except in the
# referenced table itself when it is that table's own column.
REFERENCES_BY_COLUMN: dict[str, tuple[str, str]] = {
    "CALLID": ("G_CALL", "CALLID"), "PARENTCALLID": ("G_CALL", "CALLID"),
    "MERGECALLID": ("G_CALL", "CALLID"), "ROOTCALLID": ("G_CALL", "CALLID"),
    "PREVCALLID": ("G_CALL", "CALLID"),
    "IRID": ("G_IR", "IRID"), "PARENTIRID": ("G_IR", "IRID"),
    "PARTYID": ("G_PARTY", "PARTYID"), "PARENTPARTYID": ("G_PARTY", "PARTYID"),
    "LOGINSESSIONID": ("G_LOGIN_SESSION", "LOGINSESSIONID"),
    "ENDPOINTID": ("GC_ENDPOINT", "ID"), "QUEUEID": ("GC_ENDPOINT", "ID"),
    "PRIMARYDEVICEID": ("GC_ENDPOINT", "ID"), "AGENTID": ("GC_AGENT", "ID"),
    "SWITCHID": ("GC_SWITCH", "ID"), "TENANTID": ("GC_TENANT", "ID"),
    "PLACEID": ("GC_PLACE", "ID"), "LOGINID": ("GC_LOGIN", "ID"),
    "SESSID": ("GO_CAMPAIGN", "SESSID"), "CHAINGUID": ("GO_CHAIN", "CHAINGUID"),
}

# References the column-name rule cannot express: table -> [(columns, parent, parent columns)].
REFERENCES: dict[str, list[tuple[tuple[str, ...], str, tuple[str, ...]]]] = {
    "G_AGENT_STATE_RC": [(("SESSIONID",), "G_LOGIN_SESSION", ("LOGINSESSIONID",))],
    "G_AGENT_STATE_RC_A": [(("SESSIONID",), "G_LOGIN_SESSION", ("LOGINSESSIONID",))],
    "G_IS_LINK_HISTORY": [(("LINKID", "SWITCHID"), "G_IS_LINK", ("LINKID", "SWITCHID"))],
}
# Column references the rules above would add but that do not hold by design: (table, column).
# A chain names its campaign attempt's GUID, whose GO_CAMPAIGN row exists only when one of the
# attempt's campaign events is in the logs (docs/semantics.md §14).
NOT_REFERENCES: set[tuple[str, str]] = {("GO_CHAIN", "SESSID")}
# References checked with the values (a warning) instead of blocking: a call an OCS dialed whose
# T-Server log is not (yet) loaded is not an error of the outbound rows (docs/semantics.md §14).
SOFT_REFERENCES: set[tuple[str, str]] = {("GOX_CHAIN_CALL", "CALLID")}
