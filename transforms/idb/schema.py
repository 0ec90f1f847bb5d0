"""Every IDB table this project writes: columns, types, keys. The one definition that both the
Polars transforms (frame schemas) and the SQL side (DDL, indexes) are built from.

Names follow the IDB exactly (upper case, as the IDB SQL scripts create them). Columns that the
public PDM pages do not show are marked [INF] in `docs/semantics.md`. Every operational table
also carries four columns of our own, prefixed `ETL_` (lineage and idempotent replacement):
ETL_ENTITY (the entity whose rows are replaced together), ETL_PARTITION (the hourly partition that
wrote the row), ETL_SOURCE / ETL_SOURCE_LAST (`file:line` of the log lines that created the row and
last changed it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

# logical type -> Polars dtype (SQL types are chosen from the logical type in the store module)
TYPES: dict[str, pl.DataType] = {
    "int": pl.Int32(), "smallint": pl.Int16(), "bigint": pl.Int64(),
    "str50": pl.String(), "str64": pl.String(), "str128": pl.String(), "str255": pl.String(), "text": pl.String(),
    "datetime": pl.Datetime("ms"),
    "float": pl.Float64(),          # report figures (ETL_KPI_*): seconds, shares
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]               # natural key (unique)
    role: str                          # gcc | gls | gud | cfg | dss | svc (the ETL's own)
    indexes: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: TYPES[c.type] for c in self.columns}

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Exactly this table's columns, in order and types; absent columns become null."""
        have = set(frame.columns)
        return frame.select([
            (pl.col(c.name) if c.name in have else pl.lit(None)).cast(TYPES[c.type]).alias(c.name)
            for c in self.columns
        ])

    @property
    def has_etl_columns(self) -> bool:
        return "ETL_ENTITY" in self.column_names


def _time(name: str, nullable: bool = True) -> tuple[Column, ...]:
    """IDB's time triple: GMT date-time, UTC seconds, and the G_TIMECODE key."""
    return (Column(name, "datetime", nullable), Column(f"{name}_TS", "bigint", nullable),
            Column(f"{name}_TCODE", "int", nullable))


GSYS = (
    Column("GSYS_DOMAIN", "int"), Column("GSYS_PARTITION", "int"), Column("GSYS_SYS_ID", "int"),
    Column("GSYS_SEQ", "bigint"), Column("GSYS_USEQ", "bigint"), Column("GSYS_TS", "datetime"),
    Column("GSYS_TC", "int"), Column("GSYS_EXT_VCH1", "str255"), Column("GSYS_EXT_VCH2", "str255"),
    Column("GSYS_EXT_INT1", "int"), Column("GSYS_EXT_INT2", "int"),
)
ETL = (Column("ETL_ENTITY", "str128", False), Column("ETL_PARTITION", "str50", False),
       Column("ETL_SOURCE", "str255"), Column("ETL_SOURCE_LAST", "str255"),
       Column("ETL_HASH", "bigint"))


def C(name: str, type_: str = "int", nullable: bool = True) -> Column:  # noqa: N802
    return Column(name, type_, nullable)


def _table(name, cols, key, role, indexes=(), description="", etl=True, gsys=True) -> Table:
    columns = tuple(cols) + (GSYS if gsys else ()) + (ETL if etl else ())
    return Table(name, columns, tuple(key), role, tuple(indexes), description)


IR_COLUMNS = (
    C("ID", "bigint", False), C("IRID", "str50", False), C("STATE", "int", False),
    C("PARENTIRID", "str50"), C("PARENTLINKTYPE", "int"), C("ROOTCALLID", "str50", False),
    C("MEDIATYPE"), *_time("CREATED", False), *_time("TERMINATED"), *_time("LASTCHANGE", False),
    C("ETL_CLOSED_BY", "str50"),
)
CALL_COLUMNS = (
    C("ID", "bigint", False), C("CALLID", "str50", False), C("PARENTCALLID", "str50"),
    C("MERGECALLID", "str50"), C("MERGETYPE"), C("CONNID", "str50"), C("CONNIDNUM", "bigint"),
    C("SWITCHCALLID"), C("IRID", "str50", False), C("CALLTYPE"), C("STATE", "int", False),
    C("MEDIATYPE"), C("SWITCHID"), C("TENANTID"), C("ANI", "str255"), C("DNIS", "str255"),
    *_time("CREATED", False), *_time("TERMINATED"), *_time("LASTCHANGE", False),
    C("ETL_CLOSED_BY", "str50"),
)

TABLES: dict[str, Table] = {t.name: t for t in [
    # ---- interactions, calls, parties (gcc) --------------------------------------------------
    _table("G_IR", IR_COLUMNS, ["IRID"], "gcc", [("IRID",)],
           "Latest state of each interaction record (IR); merges set PARENTIRID."),
    _table("G_IR_ACTIVE", IR_COLUMNS, ["IRID"], "gcc", [("IRID",)],
           "Interaction records still open at the end of the available data."),
    _table("G_IR_HISTORY", (
        C("IRHID", "bigint", False), C("IRID", "str50", False), C("XSEQ"),
        C("CHANGETYPE", "int", False), C("REFID", "str50"), *_time("ADDED", False)),
        ["IRID", "CHANGETYPE", "ADDED_TS"], "gcc", [("IRID",)],
        "Created / terminated / merged records of each IR."),
    _table("G_CALL", CALL_COLUMNS, ["CALLID"], "gcc", [("CALLID",), ("IRID",), ("CREATED_TS",)],
           "One row per call (CallUUID): the latest state."),
    _table("G_CALL_ACTIVE", CALL_COLUMNS, ["CALLID"], "gcc", [("CALLID",)],
           "Calls still open at the end of the available data."),
    _table("G_CALL_HISTORY", (
        C("CHID", "bigint", False), C("CALLID", "str50", False), C("CSEQ", "int", False),
        C("CHANGETYPE", "int", False), C("REFID", "str50"), *_time("ADDED", False)),
        ["CALLID", "CSEQ"], "gcc", [("CALLID",)],
        "Created / terminated / merged / transfer-failed records of each call."),
    _table("G_PARTY", (
        C("ID", "bigint", False), C("PARTYID", "str50", False), C("PARTYGUID", "str50", False),
        C("TYPE", "int", False), C("PROLE", "int", False), C("PARENTPARTYID", "str50"),
        C("PARENTLINKTYPE"), C("CALLID", "str50", False), C("STATE", "int", False),
        C("PREVSTATE"), C("ENDPOINTDN", "str255", False), C("ENDPOINTID"), C("ENDPOINTTYPE"),
        C("AGENTID"), C("SWITCHID"), C("TENANTID"), C("CCEVENT"), C("CCEVENTCAUSE"),
        *_time("CREATED", False), *_time("TERMINATED"), *_time("LASTCHANGE", False),
        C("ETL_CLOSED_BY", "str50")),
        # TERMINATED_TS: the interval reports find the parties alive in an hour
        ["PARTYID"], "gcc", [("PARTYID",), ("CALLID",), ("TERMINATED_TS",)],
        "One row per party (call x endpoint association): the latest state."),
    _table("G_PARTY_HISTORY", (
        C("PHID", "bigint", False), C("PARTYID", "str50", False), C("PSEQ", "int", False),
        C("CSEQ", "int", False), C("CHANGETYPE", "int", False), C("CCEVENT"), C("CCEVENTCAUSE"),
        C("STATE", "int", False), C("PREVSTATE"), C("CALLID", "str50", False),
        C("ENDPOINTDN", "str255"), *_time("ADDED", False)),
        ["PARTYID", "PSEQ"], "gcc", [("PARTYID",), ("CALLID",)],
        "Every state change of every party, with per-party PSEQ and per-call CSEQ."),
    _table("G_CALL_STAT", (
        C("ID", "bigint", False), C("CALLID", "str50", False), C("F_CONN", "smallint"),
        C("F_CONN_EXTN", "smallint"), C("F_TE_ABND", "smallint"), C("CNT_HOLD"),
        C("CNT_DIVERT"), C("CNT_TRANSFER"), C("CNT_CONFERENCE"), C("CNT_PARTIES"),
        *_time("CREATED"), *_time("TERMINATED")),
        ["CALLID"], "gcc", [("CALLID",)],
        "One summary row per completed call (who released it in GSYS_EXT_VCH1/2)."),
    _table("G_PARTY_STAT", (
        C("ID", "bigint", False), C("PARTYID", "str50", False), C("CALLID", "str50"),
        C("TT_ALERTING"), C("TT_CONNECTED"), C("TT_HOLD"), C("TT_QUEUED"), C("TT_ACW"),
        *_time("CREATED"), *_time("TERMINATED")),
        ["PARTYID"], "gcc", [("PARTYID",)],
        "One summary row per terminated party (ReleasingParty in GSYS_EXT_INT1)."),
    _table("G_ROUTE_RESULT", (
        C("ID", "bigint", False), C("CALLID", "str50", False), C("CONNID", "str50"),
        C("PARTYID", "str50"), C("IRID", "str50"), C("ENDPOINTID"), C("ENDPOINTDN", "str255"),
        C("RTARGETRULESELECTED", "str255"), C("RTARGETOBJECTSELECTED", "str255"),
        C("RTARGETTYPESELECTED"), C("RTARGETAGENTSELECTED", "str255"),
        C("RTARGETPLACESELECTED", "str255"), C("RSTRATEGYNAME", "str255"), C("RESULT"),
        C("ROUTETYPE"), C("TARGETDN", "str255"), *_time("CREATED"), *_time("TERMINATED")),
        ["PARTYID"], "gcc", [("CALLID",)],
        "Outcome of each routing-point stay, with the URS RTarget*Selected keys."),
    _table("G_VIRTUAL_QUEUE", (
        C("ID", "bigint", False), C("CALLID", "str50", False), C("CONNID", "str50"),
        C("PARTYID", "str50"), C("IRID", "str50"), C("ENDPOINTID"), C("ENDPOINTDN", "str255"),
        C("RESULT"), C("TARGETDN", "str255"), *_time("CREATED"), *_time("TERMINATED")),
        ["PARTYID"], "gcc", [("CALLID",)],
        "One row per call x virtual-queue stay: entered, left, distributed/abandoned/cleared."),
    _table("G_IS_LINK", (
        C("ID", "bigint", False), C("LINKID", "str50", False), C("CALLID", "str50", False),
        C("ISLINKTYPE"), C("REMOTELOCATION", "str255"), C("STATE", "int", False),
        C("MERGESTATE"), C("SWITCHID"), *_time("INITIATED", False), *_time("TERMINATED"),
        *_time("LASTCHANGE", False)),
        ["LINKID", "SWITCHID"], "gcc", [("LINKID",), ("CALLID",)],
        "Latest state of each inter-site (ISCC) link, per site."),
    _table("G_IS_LINK_HISTORY", (
        C("ID", "bigint", False), C("LINKID", "str50", False), C("SEQ", "int", False),
        C("CHANGETYPE", "int", False), C("STATE"), C("CALLID", "str50"),
        C("PREVCALLID", "str50"), C("SWITCHID"), *_time("ADDED", False)),
        ["LINKID", "SWITCHID", "SEQ"], "gcc", [("LINKID",)],
        "Added / moved / deleted records of each inter-site link."),
    _table("GSYS_DNPREMOTELOCATION", (C("ID", "bigint", False), C("REMOTELOCATION", "str255", False)),
           ["REMOTELOCATION"], "gcc", [], "Remote switches whose half of IS-Links this IDB will "
           "never hold (not monitored): the merge does not wait for them.", etl=False, gsys=False),
    # ---- reference data ----------------------------------------------------------------------
    _table("G_DICT_TYPE", (C("ID", "int", False), C("NAME", "str128", False),
                           C("DESCRIPTION", "str255")),
           ["ID"], "svc", [], "Enumeration types used by the IDB tables.", etl=False, gsys=False),
    _table("G_DICTIONARY", (C("TYPE_ID", "int", False), C("ID", "int", False),
                            C("NAME", "str128", False), C("DESCRIPTION", "str255")),
           ["TYPE_ID", "ID"], "svc", [], "Every enumeration value the tables use.",
           etl=False, gsys=False),
    _table("G_TIMECODE", (C("ID", "bigint", False), C("TIME", "datetime", False)),
           ["ID"], "svc", [], "Five-minute time codes that every *_TCODE column points to.",
           etl=False, gsys=False),
]}

# ---- agent login sessions and states (gls) ---------------------------------------------------
CLOSED_BY = (C("ETL_CLOSED_BY", "str50"),)
for _t in [
    _table("G_LOGIN_SESSION", (
        C("ID", "bigint", False), C("LOGINSESSIONID", "str50", False), C("AGENTID"), C("LOGINID"),
        C("PLACEID"), C("STATE", "int", False), C("PRIMARYDEVICEID"), C("SWITCHID"), C("TENANTID"),
        *_time("CREATED", False), *_time("TERMINATED"), *_time("LASTCHANGE", False),
        C("ETL_LOGIN_CODE", "str255"), *CLOSED_BY),
        ["LOGINSESSIONID"], "gls", [("LOGINSESSIONID",), ("AGENTID",), ("TERMINATED_TS",)],
        "One row per agent login session (possibly several DNs)."),
    _table("GX_SESSION_ENDPOINT", (
        C("ID", "bigint", False), C("LOGINSESSIONID", "str50", False), C("AGENTID"),
        C("ENDPOINTID"), C("ENDPOINTTYPE"), C("QUEUEID"), C("QUEUETYPE"), C("PLACEID"),
        C("STATE", "int", False), *_time("CREATED", False), *_time("TERMINATED"),
        C("ETL_DN", "str255"), C("ETL_QUEUE", "str255"), *CLOSED_BY),
        ["LOGINSESSIONID", "ETL_DN", "ETL_QUEUE", "CREATED_TS"], "gls", [("LOGINSESSIONID",)],
        "Endpoints (DNs) and queues a login session is on."),
    _table("G_AGENT_STATE_HISTORY", (
        C("ID", "bigint", False), C("LOGINSESSIONID", "str50", False), C("AGENTID"), C("LOGINID"),
        C("PLACEID"), C("ENDPOINTID"), C("QUEUEID"), C("TYPE", "int", False), C("STATE"),
        C("PENDINGSTATE"), C("PREVSTATE"), C("WORKMODE"), C("SEQ", "int", False), C("CALLID", "str50"),
        C("PARTYID", "str50"), C("MEDIATYPE"), *_time("ADDED", False), C("ETL_DN", "str255"),
        *CLOSED_BY),
        ["LOGINSESSIONID", "ETL_DN", "SEQ"], "gls", [("LOGINSESSIONID",), ("CALLID",)],
        "Agent state, pending state, workmode and call connect/disconnect records per DN."),
    _table("G_AGENT_STATE_RC", (
        C("ID", "bigint", False), C("SESSIONID", "str50", False), C("ENDPOINTID"), C("QUEUEID"),
        C("AGENTSTATE"), C("WORKMODE"), C("HWFLAG", "smallint"), C("KEYNAME", "str255"),
        C("VALUE", "str255"), C("MEDIATYPE"), *_time("CREATED", False), *_time("TERMINATED"),
        C("ETL_DN", "str255"), *CLOSED_BY),
        ["SESSIONID", "ETL_DN", "KEYNAME", "CREATED_TS", "HWFLAG"], "gls", [("SESSIONID",)],
        "Finished hardware and software reason codes of agent states."),
    _table("G_AGENT_STATE_RC_A", (
        C("ID", "bigint", False), C("SESSIONID", "str50", False), C("ENDPOINTID"), C("QUEUEID"),
        C("AGENTSTATE"), C("WORKMODE"), C("HWFLAG", "smallint"), C("KEYNAME", "str255"),
        C("VALUE", "str255"), C("MEDIATYPE"), *_time("CREATED", False), *_time("TERMINATED"),
        C("ETL_DN", "str255"), *CLOSED_BY),
        ["SESSIONID", "ETL_DN", "KEYNAME", "CREATED_TS", "HWFLAG"], "gls", [("SESSIONID",)],
        "Reason codes still active at the end of the available data."),
    _table("G_DND_HISTORY", (
        C("ID", "bigint", False), C("LOGINSESSIONID", "str50", False), C("AGENTSTATE"),
        C("ENDPOINTID", "int"), C("AGENTID"), C("PLACEID"), *_time("CREATED", False),
        *_time("TERMINATED"), C("ETL_DN", "str255"), *CLOSED_BY),
        ["LOGINSESSIONID", "ETL_DN", "CREATED_TS"], "gls", [("LOGINSESSIONID",)],
        "Do-Not-Disturb intervals of a DN within a login session."),
    # custom agent states and user events ([custom-states]): built by the gls transform with the
    # login sessions they belong to (docs/semantics.md §8 "Custom states and user events").
    # ID hashes (LOGINSESSIONID, ENDPOINTDN, STATECODE, n-th start of the code on the DN): two
    # starts can share a timestamp, so no set of IDB columns is unique
    _table("G_CUSTOM_STATES", (
        C("ID", "bigint", False), C("CALLID", "str50"), C("PARTYID", "str50"), C("PSEQ"),
        C("ENDPOINTID"), C("ENDPOINTDN", "str255"), C("AGENTID"), C("LOGINSESSIONID", "str50"),
        C("STATECODE", "int", False), C("STATEKEY", "str255"), *_time("CREATED", False),
        *_time("TERMINATED"), *[C(f"USERFIELD_{n}", "str255") for n in range(1, 9)], *CLOSED_BY),
        ["ID"], "gls", [("LOGINSESSIONID",), ("CALLID",)],
        "Custom agent states started and ended by EventUserEvent ([custom-states])."),
    _table("G_CUSTOM_DATA_P", (
        C("ID", "bigint", False), C("EVENTKEY", "str128", False), C("CALLID", "str50"),
        C("PARTYID", "str50"), C("PSEQ"), C("ENDPOINTID"), C("ENDPOINTDN", "str255"), C("AGENTID"),
        C("LOGINSESSIONID", "str50"), *_time("ADDED", False)),
        ["EVENTKEY"], "gls", [("CALLID",), ("LOGINSESSIONID",)],
        "One principal record per EventUserEvent whose data is stored."),
    _table("G_CUSTOM_DATA_S", (
        C("ID", "bigint", False), C("EVENTKEY", "str128", False), C("CALLID", "str50"),
        C("PARTYID", "str50"), C("PSEQ"), C("ENDPOINTID"), C("ENDPOINTDN", "str255"), C("AGENTID"),
        C("KEYNAME", "str255", False), C("VALUE", "text"), C("SOURCE", "int", False),
        *_time("ADDED", False)),
        ["EVENTKEY", "SOURCE", "KEYNAME"], "gls", [("EVENTKEY",), ("CALLID",)],
        "EventUserEvent keys ([custom-states] store-event-data, store-event-extensions)."),
]:
    TABLES[_t.name] = _t

# ---- attached data (gud) ------------------------------------------------------------------------
_UD_HISTORY = (
    C("ID", "bigint", False), C("CALLID", "str50", False), C("PARTYID", "str50"), C("ENDPOINTID"),
    C("ENDPOINTDN", "str255"), C("AGENTID"), C("KEYNAME", "str255", False), C("VALUE", "text"),
    C("CHANGETYPE", "int", False), C("TYPE"), C("SOURCE", "int", False), C("CSEQ"),
    *_time("ADDED", False))
_CALL_UD = (C("G_CUSTOMER_SEGMENT", "str255"), C("G_SERVICE_TYPE", "str255"),
            C("G_SERVICE_SUBTYPE", "str255"), C("G_BUSINESS_RESULT", "str255"),
            C("CUSTOMER_ID", "str255"), C("TRANSACTION_ID", "str255"), C("CAUSE_ID", "str255"),
            C("ACCOUNT_ID", "str255"), C("DESTINATION_ID", "str255"), C("TARGET_ID", "str255"))
CUST_COLUMNS = 20
for _t in [
    # ID hashes (CALLID, SOURCE, KEYNAME, n-th change of the key): two changes of one key can
    # share a timestamp, so no set of IDB columns is unique
    _table("G_USERDATA_HISTORY", _UD_HISTORY, ["ID"], "gud", [("CALLID",), ("KEYNAME",)],
           "Changes of public attached-data keys (per the spec's history mode)."),
    _table("G_SECURE_USERDATA_HISTORY", _UD_HISTORY, ["ID"], "gud", [("CALLID",)],
           "Changes of secure attached-data keys."),
    _table("G_CALL_USERDATA", (C("ID", "bigint", False), C("CALLID", "str50", False), *_CALL_UD),
           ["CALLID"], "gud", [("CALLID",)], "One row per call: the spec's <call> section keys."),
    *[_table(name, (C("ID", "bigint", False), C("CALLID", "str50", False),
                    *[C(f"CUST_DATA_{n}", "str255") for n in range(1, CUST_COLUMNS + 1)]),
             ["CALLID"], "gud", [("CALLID",)], f"One row per call: the spec's <{section}> keys.")
      for name, section in (("G_CALL_USERDATA_CUST", "call_cust"),
                            ("G_CALL_USERDATA_CUST1", "call_cust1"),
                            ("G_CALL_USERDATA_CUST2", "call_cust2"))],
]:
    TABLES[_t.name] = _t

# Configuration (cfg role): loaded from the configuration snapshot, or the history of a folder
# of snapshots (docs/config-snapshot.md), keyed by DBID: one row per object, kept with STATUS 2
# and DELETED set once it is gone. A GCX_* row is one period of an association (a pair that comes
# back gets a new row), keyed by a surrogate ID.
_CFG = (C("STATE"), C("STATUS"), *_time("CREATED"), *_time("DELETED"), *_time("LASTCHANGE"))
_CFGX = (C("STATUS"), *_time("CREATED"), *_time("DELETED"))


def _gcx(name: str, first: str, second: str) -> Table:
    return _table(name, (C("ID", "int", False), C(first, "int", False), C(second, "int", False),
                         *_CFGX), ["ID"], "cfg", [(first, second)], etl=False, gsys=False)


for _t in [
    _table("GC_TENANT", (C("ID", "int", False), C("NAME", "str255"), *_CFG), ["ID"], "cfg",
           etl=False, gsys=False),
    _table("GC_SWITCH", (C("ID", "int", False), C("NAME", "str255"), C("TENANTID"),
                         C("TSERVER", "str255"), *_CFG), ["ID"], "cfg", etl=False, gsys=False),
    _table("GC_ENDPOINT", (C("ID", "int", False), C("DN", "str255"), C("NAME", "str255"),
                           C("SWITCHID"), C("TENANTID"), C("TYPE"), *_CFG), ["ID"], "cfg",
           [("DN",)], etl=False, gsys=False),
    _table("GC_AGENT", (C("ID", "int", False), C("EMPLOYEEID", "str255"), C("USERNAME", "str255"),
                        C("FIRSTNAME", "str255"), C("LASTNAME", "str255"), C("ISAGENT", "smallint"),
                        C("TENANTID"), *_CFG), ["ID"], "cfg", etl=False, gsys=False),
    _table("GC_LOGIN", (C("ID", "int", False), C("LOGINCODE", "str255"), C("SWITCHID"),
                        C("TENANTID"), *_CFG), ["ID"], "cfg", [("LOGINCODE",)], etl=False,
           gsys=False),
    _table("GC_PLACE", (C("ID", "int", False), C("NAME", "str255"), C("TENANTID"), *_CFG),
           ["ID"], "cfg", etl=False, gsys=False),
    _table("GC_GROUP", (C("ID", "int", False), C("NAME", "str255"), C("GROUPTYPE"),
                        C("TENANTID"), *_CFG), ["ID"], "cfg", etl=False, gsys=False),
    _gcx("GCX_GROUP_AGENT", "GROUPID", "AGENTID"),
    _gcx("GCX_GROUP_ENDPOINT", "GROUPID", "ENDPOINTID"),
    _gcx("GCX_AGENT_PLACE", "AGENTID", "PLACEID"),
    _gcx("GCX_ENDPOINT_PLACE", "ENDPOINTID", "PLACEID"),
    _gcx("GCX_AGENT_LOGIN", "AGENTID", "LOGINID"),
]:
    TABLES[_t.name] = _t


# HA control (dss): one row per data source session of a replica (docs/semantics.md §10),
# and the ETL's own coverage and reconciliation ledgers (not IDB tables: ETL_ prefix).
_DSS = (
    C("DSS_ID", "int", False), C("ICON_DBID", "int", False), C("DS_DBID"), C("DS_DBID_PRIM"),
    C("DS2_DBID"), C("DS_TYPE"), C("ICON_STIME", "datetime"), C("DSCONN_STIME", "datetime"),
    C("DSCONN_SDSTIME", "datetime"), C("DSCONN_SDSTS", "bigint"), C("DSCONN_TYPE", "int", False),
    C("ICON_ETIME", "datetime"), C("DSCONN_ETIME", "datetime"), C("FEVENT_ITIME", "datetime"),
    C("FEVENT_DSTIME", "datetime"), C("FEVENT_DSSEQ", "str255"), C("LEVENT_ITIME", "datetime"),
    C("LEVENT_DSTIME", "datetime"), C("LEVENT_DSSEQ", "str255"),
    C("ETL_REPLICA", "str50", False), C("ETL_APP", "str255"), C("ETL_SWITCH", "str255"),
    C("ETL_END_REASON", "str50"), C("ETL_SOURCE", "str255"), C("ETL_SOURCE_LAST", "str255"),
)
# the T-Server providers (gcc, gls, gud read the same sessions), then Outbound Contact Server's
TSERVER_DSS_TABLES = ("G_DSS_GCC_PROVIDER", "G_DSS_GLS_PROVIDER", "G_DSS_GUD_PROVIDER")
DSS_TABLES = (*TSERVER_DSS_TABLES, "G_DSS_GOS_PROVIDER")
for _t in [
    *[_table(name, _DSS, ["DSS_ID", "ICON_DBID"], "dss", [("DS2_DBID",)],
             f"Data source sessions of the {name[6:9].lower()} provider: one row per unbroken "
             f"stretch of {'an OCS' if 'GOS' in name else 'a T-Server'}'s events in one "
             "replica's logs.", etl=False, gsys=False)
      for name in DSS_TABLES],
    _table("ETL_COVERAGE", (
        C("HOUR", "str50", False), C("REPLICA", "str50", False), C("SWITCH", "str255", False),
        C("STATUS", "str50", False), C("COVERED_SECONDS", "int"), C("EXPECTED_SECONDS", "int"),
        C("MISSING", "text"), C("DSS_IDS", "text"), C("SKEW_MS", "int")),
        ["HOUR", "REPLICA", "SWITCH"], "dss", [("HOUR",)],
        "Coverage ledger: per hour, replica and switch, complete / partial (with the missing "
        "intervals) / missing.", etl=False, gsys=False),
    _table("ETL_RECONCILE", (
        C("HOUR", "str50", False), C("SWITCH", "str255", False), C("REPLICA", "str50", False),
        C("EVENTS", "int"), C("FILLED_WINDOWS", "int"), C("CALLS_ONLY_HERE", "int"),
        C("FILLED", "text"), C("UNCOVERED", "text"), C("REPEATED", "int")),
        ["HOUR", "SWITCH", "REPLICA"], "dss", [("HOUR",)],
        "Reconciliation ledger: per hour, switch and replica, the events taken from the replica, "
        "the windows it filled for the replicas before it, the calls only it logged, the "
        "windows no replica covers, and the events it logged twice (counted once).",
        etl=False, gsys=False),
    _table("ETL_DATA_FOLDER", (
        C("DATA_FOLDER_ID", "str50", False), C("PATH", "text"), C("CREATED", "datetime")),
        ["DATA_FOLDER_ID"], "svc", (),
        "The data folder this IDB is loaded from (one: transforms/idb/binding.py).",
        etl=False, gsys=False),
    # ICON's message log (stored procedures, stuck calls): here runs that failed, stuck calls and
    # sessions closed by a rule, loading that fell behind (transforms/idb/log_messages.py)
    _table("G_LOG_MESSAGES", (
        C("ID", "bigint", False), C("MESSAGE_ID", "int", False),
        C("TIMEGENERATED", "datetime", False), C("TIMEWRITTEN", "datetime", False),
        C("PRIORITY", "int"), C("ORIGIN", "int"), C("CATEGORY", "int"), C("DATALEN", "int"),
        C("APPDBID", "int"), C("APPTYPE", "int"), C("APPNAME", "str255"), C("HOSTNAME", "str255"),
        C("MESSAGETEXT", "text"), C("ETL_PARTITION", "str50"), C("ETL_RUN_ID", "str50")),
        ["ID"], "svc", [("APPNAME", "ETL_PARTITION")],
        "Messages about the loading: runs that failed, stuck calls and login sessions closed by "
        "a closure rule (per hour), loading that fell behind the logs.", etl=False, gsys=False),
    _table("G_LOG_ATTRS", (
        C("ID", "bigint", False), C("ATTR_NAME", "str255", False), C("ATTR_VALUE", "text")),
        ["ID", "ATTR_NAME"], "svc", [("ID",)],
        "The details of a G_LOG_MESSAGES row (ID), one attribute per row.", etl=False, gsys=False),
]:
    TABLES[_t.name] = _t

# Interval reports (role rpt, docs/semantics.md §12): per hour, KPIs computed from the IDB
# tables above by transforms/reports; each hour's rows are replaced together (HOUR).
for _t in [
    _table("ETL_KPI_QUEUE", (
        C("HOUR", "str50", False), C("QUEUE", "str255", False), C("SWITCHID"),
        C("QUEUE_NAME", "str255"), C("QUEUE_TYPE", "str50"), C("OFFERED"), C("DISTRIBUTED"),
        C("ANSWERED"), C("ABANDONED"), C("ANSWERED_IN_THRESHOLD"), C("HANDLED"),
        C("WAIT_SECONDS", "float"), C("ASA_SECONDS", "float"),
        C("HANDLE_SECONDS", "float"), C("AHT_SECONDS", "float"),
        C("SERVICE_LEVEL", "float"), C("SL_THRESHOLD_SECONDS")),
        ["HOUR", "QUEUE", "SWITCHID"], "rpt", [("HOUR",)],
        "Interval KPIs per ACD queue and virtual queue: offered, distributed, answered, "
        "abandoned, ASA, AHT, service level.", etl=False, gsys=False),
    _table("ETL_KPI_AGENT", (
        C("HOUR", "str50", False), C("AGENT", "str255", False), C("AGENTID"),
        C("LOGIN_SECONDS", "float"), C("READY_SECONDS", "float"),
        C("NOT_READY_SECONDS", "float"), C("BUSY_SECONDS", "float"),
        C("ACW_SECONDS", "float"), C("OCCUPANCY", "float")),
        ["HOUR", "AGENT"], "rpt", [("HOUR",)],
        "Interval KPIs per agent: login, ready, not ready, busy and after-call-work time, "
        "occupancy.", etl=False, gsys=False),
    _table("ETL_KPI_AGENT_REASON", (
        C("HOUR", "str50", False), C("AGENT", "str255", False), C("HWFLAG", "smallint", False),
        C("KEYNAME", "str255", False), C("VALUE", "str255", False),
        C("SECONDS", "float")),
        ["HOUR", "AGENT", "HWFLAG", "KEYNAME", "VALUE"], "rpt", [("HOUR",)],
        "Interval not-ready time per agent and reason code.", etl=False, gsys=False),
]:
    TABLES[_t.name] = _t

# Outbound (role gos, docs/semantics.md §14): campaign sessions from OCS reporting events.
for _t in [
    _table("GO_CAMPAIGN", (
        C("ID", "bigint", False), C("SESSID", "str64", False), C("CAMPAIGNID"), C("GROUPID"),
        C("OCSID"), C("STATE"), C("DIALMODE"), C("OPTIMMODE"), C("OPTIMVALUE"),
        *_time("CREATED", False), *_time("TERMINATED"), *_time("LASTCHANGE", False)),
        ["SESSID"], "gos", [("CAMPAIGNID",), ("GROUPID",)],
        "One row per campaign processing attempt (a campaign group from load to unload): its "
        "current state and dialing mode."),
    _table("GO_CAMPAIGNHISTORY", (
        C("ID", "bigint", False), C("SESSID", "str64", False), C("SEQ", "int", False),
        C("STATE"), C("PREVSTATE"), C("CAUSE"), *_time("PREVSENTER"), *_time("ADDED", False)),
        ["SESSID", "SEQ"], "gos", [("SESSID",)],
        "Every state or property change of a campaign processing attempt (insert-only)."),
    _table("GO_CAMPPROP_HIST", (
        C("ID", "bigint", False), C("SESSID", "str64", False), C("SEQ", "int", False),
        C("DIALMODE"), C("PREVDIALMODE"), *_time("PREVDMENTER"), C("OPTIMMODE"), C("OPTIMVALUE"),
        C("PREVOPTIMMODE"), C("PREVOPTIMVALUE"), *_time("ADDED", False)),
        ["SESSID", "SEQ"], "gos", [("SESSID",)],
        "Every dialing-mode or optimisation change of a campaign processing attempt, the first "
        "at load (insert-only)."),
    _table("GO_CHAIN", (
        C("ID", "bigint", False), C("CHAINGUID", "str64", False), C("PARENTGUID", "str64"),
        C("SESSID", "str64"), C("CAMPAIGNID"), C("GROUPID"), C("CALLINGLISTID"), C("CHAINID"),
        C("STATE"), *_time("CREATED", False), *_time("TERMINATED"), *_time("LASTCHANGE", False),
        C("ETL_CLOSED_BY", "str50")),
        ["CHAINGUID"], "gos", [("SESSID",)],
        "One row per chain processing attempt (a calling-list chain from its scheduling to its "
        "end): its campaign attempt, list and current state."),
    _table("GO_CHAINREC_HIST", (
        C("ID", "bigint", False), C("CHAINGUID", "str64", False), C("RECORDHANDLE"),
        C("SEQ", "int", False), C("STATE"), C("PREVSTATE"), *_time("PREVSENTER"),
        C("CALLATTID", "str64"), C("CALLRESULT"), *_time("ADDED", False)),
        ["CHAINGUID", "SEQ"], "gos", [("CHAINGUID",)],
        "Every state change of a chain processing attempt's record, with the call attempt and "
        "its result (insert-only)."),
    _table("GO_CUSTOM_FIELDS", (
        C("ID", "bigint", False), C("CHAINGUID", "str64", False), C("RECORDHANDLE", "int", False),
        C("FIELDID", "int", False), C("VALUE", "text"), C("LASTCHAINUPDSEQ"),
        *_time("LASTCHANGED"), *_time("LOADED")),
        ["CHAINGUID", "RECORDHANDLE", "FIELDID"], "gos", [("CHAINGUID",)],
        "The current value of each stored calling-list field of a record (not secure fields)."),
    *[_table(name, (
        C("ID", "bigint", False), C("CHAINGUID", "str64", False), C("RECORDHANDLE", "int", False),
        C("FIELDID", "int", False), C("OLDVALUE", width), C("NEWVALUE", width),
        *_time("PREVENTER"), C("SEQ", "int", False), C("CHAINHISTSEQ"), C("CALLATTID", "str50"),
        *_time("ADDED", False)),
        ["CHAINGUID", "RECORDHANDLE", "FIELDID", "SEQ"], "gos", [("CHAINGUID",)],
        f"Every value of each stored {kind} calling-list field of a record, from its load "
        "(insert-only).") for name, width, kind in (("GO_FIELDHIST", "text", "clear"),
                                                    ("GO_SEC_FIELDHIST", "str255", "secure"))],
    _table("GOX_CHAIN_CALL", (
        C("ID", "bigint", False), C("CALLID", "str50", False), C("CHAINGUID", "str64", False),
        C("CALLATTID", "str64"), *_time("ADDED", False)),
        ["CHAINGUID", "CALLID"], "gos", [("CALLID",), ("CHAINGUID",)],
        "The voice calls (G_CALL.CALLID) a chain processing attempt dialed."),
]:
    TABLES[_t.name] = _t

# tables that record how the IDB is loaded, not what the logs say (left out when IDBs are compared)
BOOKKEEPING = ("ETL_DATA_FOLDER", "G_LOG_MESSAGES", "G_LOG_ATTRS")


def table(name: str) -> Table:
    return TABLES[name]
