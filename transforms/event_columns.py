"""The typed per-event columns the IDB transforms read (one column per TLib attribute).

Everything else stays available, untyped, in the `attributes` and `kvpairs` outputs.
Attribute ids are in tserver-log-format.md §3.2; value forms in §2.4.
"""

from __future__ import annotations

import polars as pl

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
}


def _convert(kind: str, value: pl.Expr) -> pl.Expr:
    if kind == "hex":
        return value.str.strip_chars().str.to_integer(base=16, dtype=pl.UInt64, strict=False)
    if kind == "int":
        # `AttributeTimeinSecs 1773122405 (07:00:05)`: the number is the first token
        return value.str.extract(r"^\s*(-?\d+)", 1).cast(pl.Int64, strict=False)
    return value


def typed_columns(attrs: pl.DataFrame) -> pl.DataFrame:
    """One row per block with the typed attribute columns (nulls where an event lacks one)."""
    wanted = list(ATTRIBUTE_TO_COLUMN)
    # A categorical name column makes the pivot about twice as fast as plain strings.
    value = pl.col("value")
    quoted = value.str.starts_with("'") & value.str.ends_with("'")
    picked = (attrs.filter(pl.col("name").is_in(wanted))
              .select("block", pl.col("name").cast(pl.Categorical),
                      pl.when(quoted).then(value.str.strip_chars("'")).otherwise(value)))
    wide = picked.pivot(on="name", on_columns=wanted, index="block", values="value",
                        aggregate_function="first")
    missing = [name for name in wanted if name not in wide.columns]
    if missing:
        wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias(m) for m in missing)
    return wide.select(
        "block",
        *[_convert(kind, pl.col(attr).cast(pl.String)).alias(col)
          for col, (attr, kind) in EVENT_ATTRIBUTES.items()],
    )
