"""Switch-behaviour options of `[gts]` that change the call model (docs/semantics.md, "Options that
change the call model"): `lookup-queue-on-ringing`, `ring-divert`, `sst-options`. Each option's
values on hand-written logs where it matters, with the expected rows written out by hand; then
the whole Dagster graph materialized with one options file and again with another: the IDB
follows the new options for the past too, and nothing is doubled.

Only the columns an option decides differ between option values; every other row of every table
is asserted to be identical."""

from __future__ import annotations

import json

import polars as pl
import pytest

from assets.idb import ROLE_TABLES
from simulator.compare import load_window
from tests.logtext import CallLog, at
from tests.test_pipeline import run as pipeline_run
from transforms.config import GccOptions, IconOptions, OptionsError, load_options, load_snapshot
from transforms.idb import IdbStore, table
from transforms.idb.dictionary import CallType
from transforms.idb.dictionary import CCEvent as E
from transforms.idb.dictionary import ParentLinkType as L
from transforms.idb.dictionary import PartyRole as R
from transforms.idb.dictionary import TCallState as TCS
from transforms.roles import GCC_TABLES, build_gcc

# --------------------------------------------------------------------------------------------
# configuration and log text
# --------------------------------------------------------------------------------------------

DNS = [("7001", "Extension"), ("7002", "Extension"), ("7003", "Extension"),
       ("8101", "ACDQueue"), ("5001", "RoutingPoint"), ("9001", "VirtACDQueue")]
CONFIG = {
    "format": "icon-etl-config/1",
    "tenants": [{"dbid": 101, "name": "Resources"}],
    "switches": [{"dbid": 1, "name": "SW_NORTH", "tenant_dbid": 101, "tserver": "TS_NORTH"}],
    "dns": [{"dbid": 1001 + n, "number": dn, "switch_dbid": 1, "type": t, "tenant_dbid": 101,
             "name": dn} for n, (dn, t) in enumerate(DNS)],
    "persons": [], "agent_logins": [], "places": [],
}
APP = "TS_NORTH"
LOG_NAME = f"{APP}.20260310_070000_000.log"


class Log(CallLog):
    """The option tests' log: call events without AttributeCustomerID; EventCallCreated and
    EventCallDeleted name the ANI and the controlling party."""

    def __init__(self):
        super().__init__(APP, customer=None)

    def created(self, t: float, uuid: str, conn: str, ani: str | None = None,
                ctype: int = CallType.INBOUND, attrs=()) -> "Log":
        extra = [("AttributeANI", f"'{ani}'")] if ani else []
        return super().created(t, uuid, conn, ctype=ctype, attrs=extra + list(attrs))

    def deleted(self, t: float, uuid: str, conn: str, ctrl: str, ctype: int = CallType.INBOUND,
                attrs=()) -> "Log":
        return super().deleted(t, uuid, conn, ctype=ctype,
                               attrs=[("AttributeCtrlParty", f"'{ctrl}'")] + list(attrs))


def uuid(tag: str) -> str:
    return f"AAAAAAAAAAAAAAAAAAAAAAAA{tag:>8}".replace(" ", "0")


def conn(n: int) -> str:
    return f"006c{n:012x}"


def write_inputs(root, log: Log):
    (root / "logs").mkdir(parents=True, exist_ok=True)
    (root / "logs" / LOG_NAME).write_text(log.text())
    (root / "config.json").write_text(json.dumps(CONFIG))


def build_all(root, log: Log, options_list: list[GccOptions]) -> list[dict[str, pl.DataFrame]]:
    write_inputs(root, log)
    w = load_window(root / "logs", root / "data")
    config = load_snapshot(root / "config.json")
    return [build_gcc(w.events, w.kvpairs, config, "p", o).tables for o in options_list]


def parents(tables: dict[str, pl.DataFrame]) -> list[tuple]:
    return tables["G_PARTY"].sort("PARTYID").select(
        "PARTYID", "ENDPOINTDN", "PARENTPARTYID", "PARENTLINKTYPE").rows()


def same_except(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame],
                changed: dict[str, list[str]]) -> None:
    """Every gcc table equal between two builds, except the named columns."""
    for name in GCC_TABLES:
        drop = changed.get(name, [])
        left = a[name].drop(drop).sort(a[name].columns[0])
        right = b[name].drop(drop).sort(b[name].columns[0])
        assert left.equals(right), name


# ============================================================================================
# lookup-queue-on-ringing and ring-divert
# ============================================================================================

CUST = "+15550001000"
R1, R2, R3, R4, R5 = (uuid(t) for t in ("RDIV0001", "RDIV0002", "RDIV0003", "RDIV0004", "RDIV0005"))
EXT = "+4930555000"


def r1(lg: Log) -> None:
    # R1: ACD queue 8101 -> 7001, but EventRinging (without ThisQueue) comes *before* the
    # queue's EventDiverted (P13: the case ring-divert exists for)
    c = conn(1)
    lg.created(0, R1, c, CUST)
    lg.call(1, "EventQueued", R1, c, "8101", queue="8101", other=CUST, other_role=1)
    lg.call(5, "EventRinging", R1, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    lg.call(5.1, "EventDiverted", R1, c, "8101", queue="8101", other=CUST, other_role=1,
            third="7001", third_role=2)
    lg.call(8, "EventEstablished", R1, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    lg.call(30, "EventReleased", R1, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    lg.deleted(30.1, R1, c, "7001")


def r2_to_r5(lg: Log) -> None:
    # R2: RP 5001 routes to ACD queue 8101, which diverts to 7002; EventRinging's ThisQueue
    # names the RP the call entered by (not the queue that diverted it)
    c = conn(2)
    lg.created(100, R2, c, CUST)
    lg.call(101, "EventRouteRequest", R2, c, "5001", queue="5001", other=CUST, other_role=1)
    lg.call(103, "EventRouteUsed", R2, c, "5001", queue="5001", other=CUST, other_role=1,
            third="8101", third_role=2)
    lg.call(103.1, "EventQueued", R2, c, "8101", queue="8101", other=CUST, other_role=1)
    lg.call(106, "EventDiverted", R2, c, "8101", queue="8101", other=CUST, other_role=1,
            third="7002", third_role=2)
    lg.call(106.1, "EventRinging", R2, c, "7002", queue="5001", other=CUST, other_role=1,
            state=TCS.OK)
    lg.call(110, "EventEstablished", R2, c, "7002", queue="5001", other=CUST, other_role=1,
            state=TCS.OK)
    lg.call(140, "EventReleased", R2, c, "7002", queue="5001", other=CUST, other_role=1,
            state=TCS.OK)
    lg.deleted(140.1, R2, c, "7002")
    # R3: RP 5001 + virtual queue 9001 (URS): EventRouteUsed and the VQ's EventDiverted both
    # name 7003; EventRinging carries no ThisQueue
    c = conn(3)
    lg.created(200, R3, c, CUST)
    lg.call(201, "EventRouteRequest", R3, c, "5001", queue="5001", other=CUST, other_role=1)
    lg.call(202, "EventQueued", R3, c, "9001", queue="9001", other=CUST, other_role=1)
    lg.call(210, "EventRouteUsed", R3, c, "5001", queue="5001", other=CUST, other_role=1,
            third="7003", third_role=2)
    lg.call(210, "EventDiverted", R3, c, "9001", queue="9001", other=CUST, other_role=1,
            third="7003", third_role=2)
    lg.call(210.2, "EventRinging", R3, c, "7003", other=CUST, other_role=1, state=TCS.OK)
    lg.call(215, "EventEstablished", R3, c, "7003", other=CUST, other_role=1, state=TCS.OK)
    lg.call(240, "EventReleased", R3, c, "7003", other=CUST, other_role=1, state=TCS.OK)
    lg.deleted(240.1, R3, c, "7003")
    # R4: 8101 diverts to 7001, who does not answer; the call queues again and is diverted to
    # 7001 again: each diversion belongs to its own instance of 7001
    c = conn(4)
    lg.created(300, R4, c, CUST)
    lg.call(301, "EventQueued", R4, c, "8101", queue="8101", other=CUST, other_role=1)
    lg.call(305, "EventDiverted", R4, c, "8101", queue="8101", other=CUST, other_role=1,
            third="7001", third_role=2)
    lg.call(305.1, "EventRinging", R4, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    lg.call(317, "EventReleased", R4, c, "7001", other=CUST, other_role=1, state=TCS.NO_ANSWER)
    lg.call(317.1, "EventQueued", R4, c, "8101", queue="8101", other=CUST, other_role=1)
    lg.call(320, "EventDiverted", R4, c, "8101", queue="8101", other=CUST, other_role=1,
            third="7001", third_role=2)
    lg.call(320.1, "EventRinging", R4, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    lg.call(325, "EventEstablished", R4, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    lg.call(350, "EventReleased", R4, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    lg.deleted(350.1, R4, c, "7001")
    # R5: RP 5001 routes to an external number; the External party is rebuilt from the
    # OtherDN of the EventNetworkReached that follows (order constructed for the test)
    c = conn(5)
    lg.created(400, R5, c, CUST)
    lg.call(401, "EventRouteRequest", R5, c, "5001", queue="5001", other=CUST, other_role=1)
    lg.call(405, "EventRouteUsed", R5, c, "5001", queue="5001", other=CUST, other_role=1,
            third=EXT, third_role=2)
    lg.call(405.2, "EventNetworkReached", R5, c, "5001", other=EXT, other_role=2)
    lg.deleted(430, R5, c, CUST)


def divert_log() -> Log:
    lg = Log()
    r1(lg)
    r2_to_r5(lg)
    return lg


def divert_parents(lq: int, rd: int) -> list[tuple]:
    """PARTYID, DN, PARENTPARTYID, PARENTLINKTYPE written out from semantics §3 "Parents"."""
    none = (None, L.NONE)

    def d(parent: str) -> tuple:
        return (parent, L.DISTRIBUTED)

    r1_7001 = d(f"{R1}.2") if rd else none                        # only the diversion names it
    r2_7002 = (d(f"{R2}.2") if lq else d(f"{R2}.3") if rd else none)  # ThisQueue wins
    r3_7003 = d(f"{R3}.2") if rd else none                        # the RP, not the VQ
    r4_first, r4_second = (d(f"{R4}.2"), d(f"{R4}.4")) if rd else (none, none)
    r5_ext = d(f"{R5}.2") if rd else none
    return [
        (f"{R1}.1", CUST, *none), (f"{R1}.2", "8101", *none), (f"{R1}.3", "7001", *r1_7001),
        (f"{R2}.1", CUST, *none), (f"{R2}.2", "5001", *none),
        (f"{R2}.3", "8101", *none),          # a queue party is not a ringing party
        (f"{R2}.4", "7002", *r2_7002),
        (f"{R3}.1", CUST, *none), (f"{R3}.2", "5001", *none), (f"{R3}.3", "9001", *none),
        (f"{R3}.4", "7003", *r3_7003),
        (f"{R4}.1", CUST, *none), (f"{R4}.2", "8101", *none), (f"{R4}.3", "7001", *r4_first),
        (f"{R4}.4", "8101", *none), (f"{R4}.5", "7001", *r4_second),
        (f"{R5}.1", CUST, *none), (f"{R5}.2", "5001", *none), (f"{R5}.3", EXT, *r5_ext),
    ]


COMBOS = [(1, 0), (0, 0), (1, 1), (0, 1)]   # (lookup-queue-on-ringing, ring-divert); defaults first


@pytest.fixture(scope="module")
def divert_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("divert")
    opts = [GccOptions(lookup_queue_on_ringing=lq, ring_divert=rd) for lq, rd in COMBOS]
    return dict(zip(COMBOS, build_all(root, divert_log(), opts)))


@pytest.mark.parametrize("lq, rd", COMBOS)
def test_distributed_parents_follow_lookup_queue_on_ringing_and_ring_divert(divert_builds, lq, rd):
    assert parents(divert_builds[(lq, rd)]) == divert_parents(lq, rd)


@pytest.mark.parametrize("lq, rd", COMBOS[1:])
def test_distribution_options_change_only_the_parent_columns(divert_builds, lq, rd):
    same_except(divert_builds[(1, 0)], divert_builds[(lq, rd)],
                {"G_PARTY": ["PARENTPARTYID", "PARENTLINKTYPE"]})


def test_ring_divert_parties_are_the_ones_the_log_shows(divert_builds):
    """The parties themselves (not decided by the options): R1's 7001 rings at 5 s, before the
    diversion at 5.1 s; R5's external destination alerts at EventNetworkReached."""
    party = divert_builds[(1, 0)]["G_PARTY"]
    got = party.filter(pl.col("PARTYID").is_in([f"{R1}.3", f"{R5}.3"])).sort("PARTYID").select(
        "PARTYID", "TYPE", "PROLE", "CREATED", "TERMINATED", "CCEVENT").rows()
    assert got == [(f"{R1}.3", 1, R.DESTINATION, at(5), at(30), E.EVENT_RELEASED),
                   (f"{R5}.3", 2, R.DESTINATION, at(405.2), at(430), E.EVENT_CALL_DELETED)]


# ============================================================================================
# sst-options
# ============================================================================================

S1, S2, S3, S4, S5, S5C, S6, S6C = (uuid(t) for t in ("SSTA0001", "SSTA0002", "SSTA0003",
                                                       "SSTA0004", "SSTA0005", "SSTC0005",
                                                       "SSTA0006", "SSTC0006"))
XNUM = "+4930555111"


def answered(lg: Log, t0: float, u: str, c: str) -> Log:
    lg.created(t0, u, c, CUST)
    lg.call(t0 + 1, "EventRinging", u, c, "7001", other=CUST, other_role=1, state=TCS.OK)
    return lg.call(t0 + 3, "EventEstablished", u, c, "7001", other=CUST, other_role=1, state=TCS.OK)


def sst_release(lg: Log, t: float, u: str, c: str, target: str) -> Log:
    return lg.call(t, "EventReleased", u, c, "7001", other=CUST, other_role=1, third=target,
                   state=TCS.TRANSFERRED, ext=[("ReleasingParty", "'1 Local'")])


def s1_s2(lg: Log) -> None:
    # S1: 7001 -> 7002: EventReleased (Transferred, ThirdPartyDN 7002), then 7002 rings
    c = conn(11)
    answered(lg, 500, S1, c)
    sst_release(lg, 530, S1, c, "7002")
    lg.call(530.2, "EventRinging", S1, c, "7002", other=CUST, other_role=1, third="7001",
            third_role=R.TRANSFERRED_BY, state=TCS.OK)
    lg.call(535, "EventEstablished", S1, c, "7002", other=CUST, other_role=1, state=TCS.OK)
    lg.call(580, "EventReleased", S1, c, "7002", other=CUST, other_role=1, state=TCS.OK)
    lg.deleted(580.1, S1, c, "7002")
    # S2: 7001 (say a VoIP IVR port) -> routing point 5001: the call reaches 5001 with
    # EventRouteRequest, not EventRinging/EventQueued; 5001 then routes it to 7003
    c = conn(12)
    answered(lg, 600, S2, c)
    sst_release(lg, 630, S2, c, "5001")
    lg.call(630.2, "EventRouteRequest", S2, c, "5001", queue="5001", other=CUST, other_role=1)
    lg.call(640, "EventRouteUsed", S2, c, "5001", queue="5001", other=CUST, other_role=1,
            third="7003", third_role=2)
    lg.call(640.1, "EventRinging", S2, c, "7003", queue="5001", other=CUST, other_role=1,
            state=TCS.OK)
    lg.call(645, "EventEstablished", S2, c, "7003", queue="5001", other=CUST, other_role=1,
            state=TCS.OK)
    lg.call(680, "EventReleased", S2, c, "7003", queue="5001", other=CUST, other_role=1,
            state=TCS.OK)
    lg.deleted(680.1, S2, c, "7003")


def s3_to_s6(lg: Log) -> None:
    # S3: 7001 -> an external number; nothing of it follows in this call
    c = conn(13)
    answered(lg, 700, S3, c)
    sst_release(lg, 730, S3, c, XNUM)
    lg.deleted(790, S3, c, CUST)
    # S4: 7001 -> ACD queue 8101 (EventQueued), which distributes to 7002
    c = conn(14)
    answered(lg, 800, S4, c)
    sst_release(lg, 830, S4, c, "8101")
    lg.call(830.1, "EventQueued", S4, c, "8101", queue="8101", other=CUST, other_role=1)
    lg.call(840, "EventDiverted", S4, c, "8101", queue="8101", other=CUST, other_role=1,
            third="7002", third_role=2)
    lg.call(840.1, "EventRinging", S4, c, "7002", queue="8101", other=CUST, other_role=1,
            state=TCS.OK)
    lg.call(845, "EventEstablished", S4, c, "7002", queue="8101", other=CUST, other_role=1,
            state=TCS.OK)
    lg.call(880, "EventReleased", S4, c, "7002", queue="8101", other=CUST, other_role=1,
            state=TCS.OK)
    lg.deleted(880.1, S4, c, "7002")
    # S5: two-step transfer 7001 -> 7002 (consultation call S5C, completed): its EventReleased
    # (Transferred) in S5 is followed by EventPartyChanged, never by EventRinging
    c, cc = conn(15), conn(16)
    answered(lg, 900, S5, c)
    lg.call(920, "EventHeld", S5, c, "7001", other=CUST, other_role=1)
    lg.created(920.1, S5C, cc, ctype=CallType.CONSULT, attrs=[("AttributeOrigCallUUID", f"'{S5}'")])
    lg.call(920.2, "EventDialing", S5C, cc, "7001", other="7002", other_role=2,
            ctype=CallType.CONSULT, attrs=[("AttributeTransferConnID", c)])
    lg.call(920.5, "EventRinging", S5C, cc, "7002", other="7001", other_role=1,
            ctype=CallType.CONSULT, attrs=[("AttributeTransferConnID", c)], state=TCS.OK)
    lg.call(925, "EventEstablished", S5C, cc, "7002", other="7001", other_role=1,
            ctype=CallType.CONSULT, state=TCS.OK)
    lg.call(940.1, "EventReleased", S5C, cc, "7001", other="7002", other_role=2,
            ctype=CallType.CONSULT, state=TCS.TRANSFERRED)
    sst_release(lg, 940.2, S5, c, "7002")
    lg.call(940.3, "EventPartyChanged", S5, c, "7002", other=CUST, other_role=1, third="7001",
            third_role=R.TRANSFERRED_BY, state=TCS.TRANSFERRED,
            attrs=[("AttributePreviousConnID", cc)])
    lg.deleted(940.4, S5C, cc, "7001", ctype=CallType.CONSULT,
               attrs=[("AttributeRefCallUUID", f"'{S5}'")])
    lg.call(990, "EventReleased", S5, c, "7002", other=CUST, other_role=1, state=TCS.OK)
    lg.deleted(990.1, S5, c, CUST)
    # S6: 7001 consults 7002 and cancels (S6C ends), retrieves, then transfers to RP 5001
    # single-step: the earlier consultation does not make it a two-step transfer
    c, cc = conn(17), conn(18)
    answered(lg, 1000, S6, c)
    lg.call(1020, "EventHeld", S6, c, "7001", other=CUST, other_role=1)
    lg.created(1020.1, S6C, cc, ctype=CallType.CONSULT, attrs=[("AttributeOrigCallUUID", f"'{S6}'")])
    lg.call(1020.2, "EventDialing", S6C, cc, "7001", other="7002", other_role=2,
            ctype=CallType.CONSULT, attrs=[("AttributeTransferConnID", c)])
    lg.call(1020.5, "EventRinging", S6C, cc, "7002", other="7001", other_role=1,
            ctype=CallType.CONSULT, attrs=[("AttributeTransferConnID", c)], state=TCS.OK)
    lg.call(1025, "EventReleased", S6C, cc, "7001", other="7002", other_role=2,
            ctype=CallType.CONSULT, state=TCS.OK)
    lg.call(1025.1, "EventAbandoned", S6C, cc, "7002", other="7001", other_role=1,
            ctype=CallType.CONSULT, state=TCS.OK)
    lg.deleted(1025.2, S6C, cc, "7001", ctype=CallType.CONSULT)
    lg.call(1025.3, "EventRetrieved", S6, c, "7001", other=CUST, other_role=1)
    sst_release(lg, 1040, S6, c, "5001")
    lg.call(1040.2, "EventRouteRequest", S6, c, "5001", queue="5001", other=CUST, other_role=1)
    lg.deleted(1060, S6, c, CUST)


def sst_log() -> Log:
    lg = Log()
    s1_s2(lg)
    s3_to_s6(lg)
    return lg


@pytest.fixture(scope="module")
def sst_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("sst")
    zero, one = build_all(root, sst_log(), [GccOptions(sst_options=0), GccOptions(sst_options=1)])
    return {0: zero, 1: one}


def sst_transfers(sst: int) -> list[tuple]:
    """G_CALL_STAT CALLID, CNT_TRANSFER: 0 needs EventRinging/EventQueued of ThirdPartyDN after
    the release; a two-step transfer counts either way; a merged consultation call counts none."""
    return sorted([(S1, 1), (S2, sst), (S3, sst), (S4, 1), (S5, 1), (S5C, 0), (S6, sst), (S6C, 0)])


def sst_parents(sst: int) -> list[tuple]:
    none, t = (None, L.NONE), L.TRANSFERRED
    return sorted([
        (f"{S1}.1", CUST, *none), (f"{S1}.2", "7001", *none),
        (f"{S1}.3", "7002", f"{S1}.2", t),                         # rings after the release
        (f"{S2}.1", CUST, *none), (f"{S2}.2", "7001", *none),
        (f"{S2}.3", "5001", *((f"{S2}.2", t) if sst else none)),   # reached by RouteRequest
        (f"{S2}.4", "7003", f"{S2}.3", L.DISTRIBUTED),             # ThisQueue 5001
        (f"{S3}.1", CUST, *none), (f"{S3}.2", "7001", *none),      # nobody reached
        (f"{S4}.1", CUST, *none), (f"{S4}.2", "7001", *none),
        (f"{S4}.3", "8101", f"{S4}.2", t),                         # EventQueued matches
        (f"{S4}.4", "7002", f"{S4}.3", L.DISTRIBUTED),
        (f"{S5}.1", CUST, *none), (f"{S5}.2", "7001", *none),
        (f"{S5}.3", "7002", f"{S5C}.2", t),                        # moved in (EventPartyChanged)
        (f"{S5C}.1", "7001", f"{S5}.2", L.CONSULTATION), (f"{S5C}.2", "7002", *none),
        (f"{S6}.1", CUST, *none), (f"{S6}.2", "7001", *none),
        (f"{S6}.3", "5001", *((f"{S6}.2", t) if sst else none)),
        (f"{S6C}.1", "7001", f"{S6}.2", L.CONSULTATION), (f"{S6C}.2", "7002", *none),
    ])


@pytest.mark.parametrize("sst", [0, 1])
def test_sst_options_decide_which_transfers_count(sst_builds, sst):
    stat = sst_builds[sst]["G_CALL_STAT"]
    assert sorted(stat.select("CALLID", "CNT_TRANSFER").rows()) == sst_transfers(sst)


@pytest.mark.parametrize("sst", [0, 1])
def test_sst_options_decide_the_transferred_parent(sst_builds, sst):
    assert parents(sst_builds[sst]) == sst_parents(sst)


def test_sst_options_change_only_the_count_and_the_parent(sst_builds):
    same_except(sst_builds[0], sst_builds[1], {"G_PARTY": ["PARENTPARTYID", "PARENTLINKTYPE"],
                                               "G_CALL_STAT": ["CNT_TRANSFER"]})


# ============================================================================================
# options files: strict values, and every [gts] flag reaches the call model
# ============================================================================================

def test_gts_flags_reach_gcc_options(tmp_path):
    path = tmp_path / "o.toml"
    assert IconOptions().gcc() == GccOptions(delivered_flag=0, lookup_queue_on_ringing=1,
                                                    ring_divert=0, sst_options=0)
    path.write_text("[gts]\ndelivered-flag = 1\nlookup-queue-on-ringing = 0\nring-divert = 1\n"
                    "sst-options = 1\n")
    assert load_options(path).gcc() == GccOptions(
        delivered_flag=1, lookup_queue_on_ringing=0, ring_divert=1, sst_options=1)
    path.write_text("[gts]\nsst-options = 2\n")
    with pytest.raises(OptionsError, match="sst-options = 2: allowed values are 0, 1"):
        load_options(path)


# ============================================================================================
# Dagster: materialize with options file A, then B; the past follows B, nothing doubles
# ============================================================================================

TABLES = [name for names in ROLE_TABLES.values() for name in names]


def materialize(root, options_text: str, idb_url: str) -> dict[str, pl.DataFrame]:
    """The project's whole asset graph (built as tests/test_pipeline.py builds it, so the two
    stay in step) over `root`/logs with `root`/icon-options.toml, into `idb_url`."""
    (root / "icon-options.toml").write_text(options_text)
    summary, _ = pipeline_run(root, root / "work", idb_url, hours_per_run=24)
    assert summary["failed_runs"] == 0 and summary["partitions"] >= 1
    store = IdbStore(idb_url)
    return {name: store.read(name) for name in TABLES}


def test_changing_a_flag_and_rematerializing_rewrites_the_past(tmp_path):
    lg = Log()
    r1(lg)
    s1_s2(lg)
    write_inputs(tmp_path, lg)
    url = f"sqlite:///{tmp_path / 'idb.sqlite'}"

    first = materialize(tmp_path, "[gts]\nring-divert = 0\nsst-options = 0\n", url)
    assert sorted(first["G_CALL_STAT"].select("CALLID", "CNT_TRANSFER").rows()) == \
        [(R1, 0), (S1, 1), (S2, 0)]
    assert parents(first) == [p for p in divert_parents(1, 0) if p[0].startswith(R1)] + \
        [p for p in sst_parents(0) if p[0].startswith((S1, S2))]

    second = materialize(tmp_path, "[gts]\nring-divert = 1\nsst-options = 1\n", url)
    assert sorted(second["G_CALL_STAT"].select("CALLID", "CNT_TRANSFER").rows()) == \
        [(R1, 0), (S1, 1), (S2, 1)]
    assert parents(second) == [p for p in divert_parents(1, 1) if p[0].startswith(R1)] + \
        [p for p in sst_parents(1) if p[0].startswith((S1, S2))]

    # nothing doubled, and nothing else changed
    for name in TABLES:
        before, after = first[name], second[name]
        assert after.height == before.height, name
        key = table(name).columns[0].name
        assert after[key].n_unique() == after.height, name
        # (ETL_HASH is the row's content hash and ETL_PARTITION the hour that last wrote it:
        # both follow the changed rows)
        drop = ["ETL_HASH", "ETL_PARTITION"] + {"G_PARTY": ["PARENTPARTYID", "PARENTLINKTYPE"],
                                                "G_CALL_STAT": ["CNT_TRANSFER"]}.get(name, [])
        assert after.drop(drop, strict=False).sort(key).equals(
            before.drop(drop, strict=False).sort(key)), name
    assert first["G_PARTY"].height == 10 and first["G_CALL_STAT"].height == 3


# --------------------------------------------------------------------------------------------
# [icon-etl] max-call-idle: a call whose end was lost does not stay open for ever
# --------------------------------------------------------------------------------------------

def test_a_call_silent_longer_than_max_call_idle_ends_at_its_last_event(tmp_path):
    lost, later = uuid("IDLE1"), uuid("IDLE2")
    log = (Log()
           .call(0, "EventRinging", lost, conn(1), "7001")
           .call(5, "EventEstablished", lost, conn(1), "7001")
           # (its release is not in the logs) … five hours later another call
           .call(5 * 3600, "EventRinging", later, conn(2), "7002")
           .call(5 * 3600 + 3, "EventReleased", later, conn(2), "7002"))
    closed, kept = build_all(tmp_path, log, [GccOptions(), GccOptions(max_call_idle=0)])
    call = closed["G_CALL"].filter(pl.col("CALLID") == lost)
    assert call.select("TERMINATED", "ETL_CLOSED_BY").rows() == [(at(5), "idle_timeout")]
    assert closed["G_CALL_ACTIVE"].filter(pl.col("CALLID") == lost).height == 0
    party = closed["G_PARTY"].filter(pl.col("CALLID") == lost)
    assert party.select("ENDPOINTDN", "TERMINATED", "ETL_CLOSED_BY").rows() == [
        ("7001", at(5), "idle_timeout")]
    # 0 turns the rule off: the call stays active
    assert kept["G_CALL"].filter(pl.col("CALLID") == lost)["TERMINATED"].to_list() == [None]
    # the call that did end is the same either way
    for name in ("G_CALL", "G_PARTY_HISTORY"):
        assert closed[name].filter(pl.col("CALLID") == later).equals(
            kept[name].filter(pl.col("CALLID") == later)), name
