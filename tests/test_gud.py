"""Attached data (gud): snapshot diffs, history modes, party and CSeq rules, the spec file,
checked against rows written out by hand from the log below."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from simulator.compare import load_window
from tests.logtext import call_event, header, kvlist
from transforms.config import SpecError, load_options, load_snapshot, load_spec, spec_from_options
from transforms.idb.dictionary import KvValueType as T
from transforms.idb.dictionary import UserDataChange as Ch
from transforms.idb.dictionary import UserDataSource as S
from transforms.roles import build_gcc, build_gud

UUID = "AM5D3AE9D90757BKTSVJTCIAR4000014"
P1, P2 = f"{UUID}.1", f"{UUID}.2"   # 7001 (dials, first party), 7002 (called)


def ud(*members: tuple[str, str]) -> list[str]:
    return kvlist("AttributeUserData", list(members))


def adc(time: str, seq: int, this_dn: str, third: str | None, *members) -> str:
    extra = [f"\tAttributeThirdPartyDN\t'{third}'"] if third else []
    return call_event(time, "EventAttachedDataChanged", seq, this_dn, uuid=UUID,
                      extra=extra + ud(*members))


# 7001 dials 7002; data is attached on dialing, changed by 7002 (the change reaches both parties:
# two copies), then a key is deleted by 7001; 7002 hangs up with Extensions ReleasingParty.
LOG = header() + "".join([
    call_event("07:00:00.0000", "EventDialing", 1, "7001", uuid=UUID,
               extra=ud(("Segment", "'gold'"), ("Other", "'o'"))),
    call_event("07:00:01.0000", "EventRinging", 2, "7002", uuid=UUID,
               extra=ud(("Segment", "'gold'"), ("Other", "'o'"))),
    call_event("07:00:05.0000", "EventEstablished", 3, "7002", uuid=UUID),
    adc("07:00:10.0000", 4, "7001", "7002", ("Segment", "'platinum'"), ("Other", "'o'"),
        ("PIN", "1234"), ("Topic", "'x'")),
    adc("07:00:10.0000", 5, "7002", "7002", ("Segment", "'platinum'"), ("Other", "'o'"),
        ("PIN", "1234"), ("Topic", "'x'")),
    adc("07:00:20.0000", 6, "7001", None, ("Segment", "'platinum'"), ("Other", "'o'"),
        ("PIN", "1234")),
    call_event("07:00:30.0000", "EventReleased", 7, "7002", uuid=UUID,
               extra=ud(("Segment", "'platinum'"), ("Other", "'o'"), ("PIN", "1234"))
               + kvlist("AttributeExtensions", [("ReleasingParty", "'1 Local'")])),
    call_event("07:00:31.0000", "EventReleased", 8, "7001", uuid=UUID),
])

SPEC = """<adata-spec>
  <public>
    <key name="Segment" source="userdata" history="{segment}"/>
    <key name="Topic" source="userdata" history="all"/>
    <key name="ReleasingParty" source="extensions" history="all"/>
  </public>
  <secure><key name="PIN" source="userdata" history="all"/></secure>
  <call>
    <key name="Segment" field="customer-segment" history="last"/>
    <key name="Topic" field="service-type" history="first"/>
    <key name="PIN" field="account-id" history="last"/>
  </call>
  <call_cust><key name="Topic" field="cust-data-3" history="last"/></call_cust>
</adata-spec>"""


def at(second: int) -> datetime:
    return datetime(2026, 3, 10, 6, 0, second)   # 07:00 local at UTC+1


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    root = tmp_path_factory.mktemp("gud")
    (root / "logs").mkdir()
    (root / "logs" / "TS_TEST.20260310_070000_000.log").write_text(LOG)
    w = load_window(root / "logs", root / "data")
    config = load_snapshot(None)
    return w, config, build_gcc(w.events, w.kvpairs, config, "p")


def build(window, tmp_path, segment="all", default="none", spec=SPEC):
    w, config, gcc = window
    path = tmp_path / "spec.xml"
    path.write_text(spec.format(segment=segment))
    return build_gud(w.events, w.kvpairs, config, gcc, load_spec(path), default, "p").tables


def rows(frame: pl.DataFrame) -> list[tuple]:
    return frame.sort("ADDED", "KEYNAME", "CHANGETYPE").select(
        "KEYNAME", "VALUE", "CHANGETYPE", "TYPE", "SOURCE", "PARTYID", "ENDPOINTDN", "CSEQ",
        "ADDED").rows()


def test_changes_parties_and_cseq_follow_the_reference_rules(window, tmp_path):
    out = build(window, tmp_path)
    # CSEQ: call created 1, 7001 created 2 (dialing), 7002 created 3, 7002 connected 4,
    # 7002 ended 5 at 07:00:30 -> data rows carry the next number after the last change
    assert rows(out["G_USERDATA_HISTORY"]) == [
        # on the call's creating event: the first party of the call
        ("Segment", "gold", Ch.ADD, T.STRING, S.USERDATA, P1, "7001", 3, at(0)),
        # EventAttachedDataChanged: the ThirdPartyDN's party; the second copy adds nothing
        ("Segment", "platinum", Ch.UPDATE, T.STRING, S.USERDATA, P2, "7002", 5, at(10)),
        ("Topic", "x", Ch.ADD, T.STRING, S.USERDATA, P2, "7002", 5, at(10)),
        # no ThirdPartyDN: ThisDN's party; a key gone from the snapshot is a delete
        ("Topic", "x", Ch.DELETE, T.STRING, S.USERDATA, P1, "7001", 5, at(20)),
        # Extensions are parameters of one event: added, never deleted
        ("ReleasingParty", "1 Local", Ch.ADD, T.STRING, S.EXTENSIONS, P2, "7002", 6, at(30)),
    ]
    # secure keys go only to the secure table
    assert rows(out["G_SECURE_USERDATA_HISTORY"]) == [
        ("PIN", "1234", Ch.ADD, T.INT, S.USERDATA, P2, "7002", 5, at(10))]
    assert out["G_USERDATA_HISTORY"].filter(pl.col("KEYNAME") == "PIN").height == 0
    # keys the spec does not name follow adata-userdata-history (default none)
    assert out["G_USERDATA_HISTORY"].filter(pl.col("KEYNAME") == "Other").height == 0


@pytest.mark.parametrize("mode, expected", [
    ("none", []),
    ("first", [("gold", Ch.ADD)]),
    ("last", [("platinum", Ch.UPDATE)]),
    ("all", [("gold", Ch.ADD), ("platinum", Ch.UPDATE)]),
])
def test_history_mode_decides_which_changes_are_kept(window, tmp_path, mode, expected):
    out = build(window, tmp_path, segment=mode)
    got = out["G_USERDATA_HISTORY"].filter(pl.col("KEYNAME") == "Segment").sort("ADDED")
    assert got.select("VALUE", "CHANGETYPE").rows() == expected


def test_unnamed_keys_follow_adata_userdata_history(window, tmp_path):
    out = build(window, tmp_path, default="all")
    other = out["G_USERDATA_HISTORY"].filter(pl.col("KEYNAME") == "Other")
    assert other.select("VALUE", "CHANGETYPE", "PARTYID").rows() == [("o", Ch.ADD, P1)]


def test_call_tables_take_first_or_last_value(window, tmp_path):
    out = build(window, tmp_path)
    call = out["G_CALL_USERDATA"]
    assert call.select("CALLID", "G_CUSTOMER_SEGMENT", "G_SERVICE_TYPE", "ACCOUNT_ID").rows() == [
        (UUID, "platinum", "x", "1234")]
    # `last` of a key deleted before the call ended is empty
    assert out["G_CALL_USERDATA_CUST"]["CUST_DATA_3"].to_list() == [None]


def test_rows_are_the_same_when_built_twice(window, tmp_path):
    first, second = build(window, tmp_path), build(window, tmp_path)
    for name in first:
        assert first[name].equals(second[name]), name
    ids = first["G_USERDATA_HISTORY"]["ID"]
    assert ids.n_unique() == ids.len()


@pytest.mark.parametrize("text, message", [
    ("<adata-spec><public><key name='A' history='all'/><key name='A' history='last'/></public>"
     "</adata-spec>", "repeats key 'A'"),
    ("<adata-spec><public><key name='A' history='sometimes'/></public></adata-spec>",
     "history='sometimes'"),
    ("<adata-spec><public><key name='A' source='headers'/></public></adata-spec>", "source='headers'"),
    ("<adata-spec><call><key name='A' field='colour'/></call></adata-spec>", "field='colour'"),
    ("<adata-spec><call><key name='A' field='cause-id' history='all'/></call></adata-spec>",
     "history='all'"),
    ("<adata-spec><private/></adata-spec>", "unknown section <private>"),
    ("<adata-spec><public><key name='A'>", "not well-formed"),
])
def test_bad_specs_are_refused_with_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "ccon_adata_spec.xml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as err:
        load_spec(path)
    assert str(path) in str(err.value)


def test_spec_is_found_next_to_the_options_file(tmp_path):
    (tmp_path / "ccon_adata_spec.xml").write_text(SPEC.format(segment="all"))
    options = tmp_path / "icon.toml"
    options.write_text("[callconcentrator]\nadata-userdata-history = 'last'\n")
    assert spec_from_options(load_options(options)).secure_keys == {"PIN"}
    # an explicitly named spec that is missing is an error, the default name may be absent
    options.write_text("[callconcentrator]\nadata-spec-name = 'missing.xml'\n")
    with pytest.raises(SpecError, match="missing.xml"):
        spec_from_options(load_options(options))
    assert spec_from_options(load_options(None)).vertical == ()

