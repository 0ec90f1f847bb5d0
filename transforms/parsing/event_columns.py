"""The typed per-event columns the IDB transforms read (one column per TLib attribute).

Everything else stays available, untyped, in the `attributes` and `kvpairs` outputs.
Attribute ids and value forms are in docs/log-format.md ("Attribute ids", "Values").
"""

from __future__ import annotations

import polars as pl

from transforms.parsing.attributes import unquoted

# column name -> (printed attribute name, kind); kind: str | int | hex
EVENT_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "seq": ("AttributeEventSequenceNumber", "hex"),
    "conn_id": ("AttributeConnID", "str"),
    "call_uuid": ("AttributeCallUUID", "str"),
    "call_id": ("AttributeCallID", "int"),
    "call_type": ("AttributeCallType", "int"),
    "call_state": ("AttributeCallState", "int"),
    "this_dn": ("AttributeThisDN", "str"),
    "this_dn_role": ("AttributeThisDNRole", "int"),
    "this_queue": ("AttributeThisQueue", "str"),
    "this_trunk": ("AttributeThisTrunk", "str"),
    "other_dn": ("AttributeOtherDN", "str"),
    "other_dn_role": ("AttributeOtherDNRole", "int"),
    "other_queue": ("AttributeOtherQueue", "str"),
    "third_party_dn": ("AttributeThirdPartyDN", "str"),
    "third_party_dn_role": ("AttributeThirdPartyDNRole", "int"),
    "third_party_queue": ("AttributeThirdPartyQueue", "str"),
    "agent_id": ("AttributeAgentID", "str"),
    "work_mode": ("AttributeAgentWorkMode", "int"),
    "place": ("AttributePlace", "str"),
    "transfer_conn_id": ("AttributeTransferConnID", "str"),
    "conference_conn_id": ("AttributeConferenceConnID", "str"),
    "previous_conn_id": ("AttributePreviousConnID", "str"),
    "ani": ("AttributeANI", "str"),
    "dnis": ("AttributeDNIS", "str"),
    "dialed_number": ("AttributeDialedNumber", "str"),
    "customer_id": ("AttributeCustomerID", "str"),
    "reference_id": ("AttributeReferenceID", "int"),
    "time_in_secs": ("AttributeTimeinSecs", "int"),
    "time_in_usecs": ("AttributeTimeinuSecs", "int"),
    "ctrl_party": ("AttributeCtrlParty", "str"),
    "ref_call_uuid": ("AttributeRefCallUUID", "str"),
    "orig_call_uuid": ("AttributeOrigCallUUID", "str"),
    "new_call_uuid": ("AttributeNewCallUUID", "str"),
    "party_uuid": ("AttributePartyUUID", "str"),
    "location": ("AttributeLocation", "str"),
    "remote_location": ("AttributeRemoteLocation", "str"),
    "x_reference_id": ("AttributeXReferenceID", "int"),
    "last_transfer_conn_id": ("AttributeLastTransferConnID", "str"),
    "last_transfer_orig_dn": ("AttributeLastTransferOrigDN", "str"),
    "last_transfer_home_location": ("AttributeLastTransferHomeLocation", "str"),
    "route_type": ("AttributeRouteType", "int"),
    "user_event": ("AttributeUserEvent", "str"),
    "error_code": ("AttributeErrorCode", "int"),
    "error_message": ("AttributeErrorMessage", "str"),
    "media_type": ("AttributeMediaType", "int"),
    # the KV list's printed header (`[309] 00 0b 00 00..`): tells an empty UserData from none
    "user_data": ("AttributeUserData", "str"),
}

# the attributes of an OCS reporting block (`[GOMessageType] EventGOReportingData`,
# docs/log-format.md "OCS logs"): the first seven are read by public OCS log tools, the others
# are this project's reading of what ICON stores (docs/semantics.md §14)
GO_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "go_evt_code": ("EvtCode", "str"),
    "go_switch_dbid": ("SwID", "int"),
    "go_group_dbid": ("GrpID", "int"),
    "go_campaign_dbid": ("CmpID", "int"),
    "go_list_dbid": ("LstID", "int"),
    "go_chain_id": ("ChID", "int"),
    "go_cause": ("Cause", "str"),
    "go_session": ("SessID", "str"),
    "go_dial_mode": ("DialMode", "str"),
    "go_optim_mode": ("OptimMode", "str"),
    "go_optim_value": ("OptimValue", "int"),
    "go_chain_guid": ("ChainGUID", "str"),
    "go_record_handle": ("RecHandle", "int"),
    "go_call_attempt": ("CallAttID", "str"),
    "go_call_guid": ("CallGUID", "str"),
    "go_call_result": ("CallResult", "int"),
}

ATTRIBUTE_TO_COLUMN = {attr: col for col, (attr, _) in EVENT_ATTRIBUTES.items()}
KIND_DTYPES = {"str": pl.String, "int": pl.Int64, "hex": pl.UInt64}

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "file_id": pl.UInt32(),
    "line": pl.UInt32(),
    "last_file_id": pl.UInt32(),
    "last_line": pl.UInt32(),
    "ts": pl.Datetime("us", "UTC"),
    "ts_source": pl.String(),
    "direction": pl.String(),
    "message": pl.String(),
    "client": pl.String(),
    "n_attributes": pl.UInt16(),
    **{col: KIND_DTYPES[kind]() for col, (_, kind) in EVENT_ATTRIBUTES.items()},
    **{col: KIND_DTYPES[kind]() for col, (_, kind) in GO_ATTRIBUTES.items()},
}


PLAIN_INTEGER = r"^-?[0-9]+$"
LEADING_INTEGER = r"^\s*(-?\d+)"


class _Spec:
    """Attribute names in code order (an attribute's code is its position) and their kinds."""

    def __init__(self, attributes: dict[str, tuple[str, str]]):
        self.attributes = attributes
        self.wanted = [attr for attr, _ in attributes.values()]
        kind_of = dict(attributes.values())
        self.codes = {kind: [k for k, attr in enumerate(self.wanted) if kind_of[attr] == kind]
                      for kind in KIND_DTYPES}


TSERVER_SPEC, GO_SPEC = _Spec(EVENT_ATTRIBUTES), _Spec(GO_ATTRIBUTES)


def _unquoted(value: pl.Expr) -> pl.Expr:
    return unquoted(value)


def typed_columns(attrs: pl.DataFrame, n_events: int, reporting: bool = False) -> pl.DataFrame:
    """The typed attribute columns (TLib, then OCS reporting) of `n_events` events: row k
    belongs to event k. OCS attributes are looked for only when the chunk has OCS reporting
    blocks (`reporting`)."""
    tlib = _typed(attrs, n_events, TSERVER_SPEC)
    if reporting:
        go = _typed(attrs, n_events, GO_SPEC)
    else:
        go = pl.DataFrame([pl.repeat(None, n_events, dtype=KIND_DTYPES[kind], eager=True).alias(col)
                           for col, (_, kind) in GO_ATTRIBUTES.items()])
    return pl.concat([tlib, go], how="horizontal")


def _typed(attrs: pl.DataFrame, n_events: int, spec: _Spec) -> pl.DataFrame:
    """The columns of `spec` of `n_events` events.

    `attrs` has `_ev` (event index), name and value, in file order; an attribute printed twice in
    one event counts with its first value. Built by position, in a few operations for all
    columns at once (a pivot, or one step per column, costs more than the work itself): each
    wanted value gets a flat index `code * n_events + event`, the values of each kind are
    converted together and scattered into one long series, and every column is a slice of it.
    """
    n = n_events
    code = pl.col("name").cast(pl.Enum(spec.wanted), strict=False).to_physical().cast(pl.Int64)
    flat = pl.col("_code") * n + pl.col("_ev").cast(pl.Int64)
    picked = (attrs.lazy()
              .select("_ev", "value", _code=code)
              .filter(pl.col("_code").is_not_null())
              .with_columns(_flat=flat)
              .filter(pl.col("_flat").is_first_distinct())
              .select("_code", "_flat", "value"))

    def of_kind(kind: str) -> pl.LazyFrame:
        return picked.filter(pl.col("_code").is_in(spec.codes[kind]))

    value = pl.col("value")
    strings, hexes, ints = pl.collect_all([
        of_kind("str").select("_flat", value=_unquoted(value)),
        of_kind("hex").select("_flat", value=_unquoted(value).str.strip_chars()
                              .str.to_integer(base=16, dtype=pl.UInt64, strict=False)),
        # whole-integer values cast directly (the regex is costlier; a cast alone accepts `+5`
        # and rejects `5 (text)`, so other values take the regex below)
        of_kind("int").select("_flat", "value", _plain=value.str.contains(PLAIN_INTEGER),
                              number=value.cast(pl.Int64, strict=False)),
    ])
    other = ~ints["_plain"] & ints["value"].is_not_null()
    if other.any():
        leading = (ints.filter(other).select(_unquoted(value).str.extract(LEADING_INTEGER, 1)
                                             .cast(pl.Int64, strict=False)).to_series())
        ints = ints.with_columns(number=ints["number"].scatter(other.arg_true(), leading))
    size = len(spec.wanted) * n
    full = {
        "str": _spread(strings["_flat"], strings["value"], size),
        "hex": _spread(hexes["_flat"], hexes["value"], size),
        "int": _spread(ints["_flat"], ints["number"], size),
    }
    return pl.DataFrame([full[kind].slice(spec.wanted.index(attr) * n, n).alias(column)
                         for column, (attr, kind) in spec.attributes.items()])


def _spread(flat: pl.Series, values: pl.Series, size: int) -> pl.Series:
    """A series of `size` nulls with `values` at the positions `flat`.

    Scattering strings rebuilds the string array; scattering row numbers and gathering the
    strings by them is about twice as fast."""
    if values.dtype != pl.String:
        return pl.repeat(None, size, dtype=values.dtype, eager=True).scatter(flat, values)
    rows = pl.arange(0, flat.len(), dtype=pl.UInt32, eager=True)
    return values.gather(pl.repeat(None, size, dtype=pl.UInt32, eager=True).scatter(flat, rows))
