"""Rendering of T-Library text: attribute lines, KV lists, event and request blocks.

Everything here returns ready-to-write ``str`` built with f-strings and ``str.join``; no
per-character work, because a bep300 hour is ~100 MB of text. The shapes follow
docs/log-format.md ("TLib blocks") and the synthetic sample TS_EXAMPLE.
"""

from __future__ import annotations

from typing import Any, Mapping

VERSION = "8.1.101.25"
TENANT = "Resources"

# Header kinds (docs/log-format.md, "Top-level lines")
EVENT = "distribute_event"
CALL_EVENT = "distribute call/party event"
REPLY = "send_to_client"

# KV value type codes printed as the third header byte (00 string, 01 integer, 03 list)
_T_STR, _T_INT, _T_LIST = 0, 1, 3


def q(s: str) -> str:
    """Quoted string value, as T-Server prints DNs, names, CallUUIDs."""
    return f"'{s}'"


def kv_size(pairs: Mapping[str, Any]) -> int:
    """Encoded size printed in the KV-list header ``[n]``.

    Our model of the TKVList wire size: 2 bytes of pair count, then per pair the key and
    value bytes plus 5 bytes of framing for a string, 4-byte integers plus 5, nested lists
    7 plus their own size. It reproduces the two real URS samples exactly ([34] and [561]).
    """
    n = 2
    for k, v in pairs.items():
        if isinstance(v, str):
            n += len(k) + len(v) + 5
        elif isinstance(v, int):
            n += len(k) + 9
        else:
            n += len(k) + 7 + kv_size(v)
    return n


def _type_code(v: Any) -> int:
    if isinstance(v, str):
        return _T_STR
    if isinstance(v, int):
        return _T_INT
    return _T_LIST


def _members(pairs: Mapping[str, Any], tabs: str, out: list[str]) -> None:
    for k, v in pairs.items():
        if isinstance(v, str):
            out.append(f"{tabs}'{k}'\t'{v}'\n")
        elif isinstance(v, int):
            out.append(f"{tabs}'{k}'\t{v}\n")
        else:
            # nested list: no TAB between key and (list), trailing space, members one TAB deeper
            out.append(f"{tabs}'{k}'(list) \n")
            _members(v, tabs + "\t", out)


def kv_attr(name: str, pairs: Mapping[str, Any]) -> str:
    """One KV-list attribute: header ``[bytes] b0 b1 b2 00..`` and TAB-indented members."""
    n = len(pairs)
    first = _type_code(next(iter(pairs.values()))) if n else _T_STR
    out = [f"\t{name}\t[{kv_size(pairs)}] {n >> 8 & 255:02x} {n & 255:02x} {first:02x} 00..\n"]
    _members(pairs, "\t\t", out)
    return "".join(out)


def user_data(pairs: Mapping[str, Any]) -> str:
    return kv_attr("AttributeUserData", pairs)


def extensions(pairs: Mapping[str, Any]) -> str:
    return kv_attr("AttributeExtensions", pairs)


def reasons(pairs: Mapping[str, Any]) -> str:
    return kv_attr("AttributeReason", pairs)


# Pre-rendered, because they are printed on every release
RELEASING = {p: extensions({"ReleasingParty": p}) for p in (1, 2, 3)}


def event_block(hms: str, frac: int, kind: str, name: str, seq: int, secs: int, body: str) -> str:
    """Server-side event block. AttributeTimeinSecs is the UTC epoch and its parenthesised
    clock the same local time as the ``@`` line; AttributeTimeinuSecs the microseconds."""
    return (f"@{hms}.{frac:04d} [0] {VERSION} {kind}: message {name}\n"
            f"\tAttributeEventSequenceNumber\t{seq:016x}\n"
            f"\tAttributeCustomerID\t'{TENANT}'\n"
            f"\tAttributeTimeinuSecs\t{frac * 100}\n"
            f"\tAttributeTimeinSecs\t{secs} ({hms})\n"
            f"{body}")


def request_block(iso_ms: str, name: str, client_label: str, fd: int, ref: int, body: str) -> str:
    """A request received from a client: Trc 04541 line, ``message`` line, attributes."""
    return (f"{iso_ms} Trc 04541 {name} received from [{fd}] ({client_label})\n"
            f"message {name}\n"
            f"\tAttributeReferenceID\t{ref}\n"
            f"{body}")
