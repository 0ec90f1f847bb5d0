"""The configuration snapshot (docs/config-snapshot.md): switches, DNs, agents, logins, places and
groups with their Configuration Server DBIDs, and the outbound objects (OCS applications,
campaigns, campaign groups, calling lists and their fields). Loaded into the GC_* tables, and used
to resolve EndPointID, AgentID, SwitchID and TenantID, to tell Internal from External parties, and
to find which calling-list fields ICON stores (`icon_attribute`). A folder of dated snapshots is a
configuration history (`transforms/config/history.py`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from transforms.idb import table
from transforms.idb.dictionary import DnType, GroupType, ObjectState

if TYPE_CHECKING:
    from transforms.config.history import ConfigHistory

FORMAT = "icon-etl-config/1"
DN_TYPES = {
    "Extension": DnType.EXTENSION, "ACDPosition": DnType.ACD_POSITION,
    "ACDQueue": DnType.ACD_QUEUE, "RoutingPoint": DnType.ROUTING_POINT,
    "VirtACDQueue": DnType.VIRT_ACD_QUEUE, "VirtRoutingPoint": DnType.VIRT_ROUTING_POINT,
    "VoiceMail": DnType.VOICE_MAIL, "Trunk": DnType.TRUNK,
    "ExtRoutingPoint": DnType.EXT_ROUTING_POINT,
}
REQUIRED = {
    "tenants": ["dbid", "name"],
    "switches": ["dbid", "name", "tserver"],
    "dns": ["dbid", "number", "switch_dbid", "type"],
    "persons": ["dbid", "employee_id"],
    "agent_logins": ["dbid", "login_code", "switch_dbid"],
    "places": ["dbid", "name"],
    "agent_groups": ["dbid", "name"],
    "dn_groups": ["dbid", "name"],
    "ocs_servers": ["dbid", "name"],
    "campaigns": ["dbid", "name"],
    "campaign_groups": ["dbid", "name", "campaign_dbid"],
    "calling_lists": ["dbid", "name"],
    "fields": ["dbid", "name"],
}
# a calling-list field's Annex `[default] icon_attribute`: 1 stored, 2 stored as secure
# (GO_SEC_FIELDHIST only); absent or 0: not stored (docs/semantics.md §14)
ICON_ATTRIBUTE_STORED, ICON_ATTRIBUTE_SECURE = 1, 2
# the type of every field the transforms read (a field of another type fails at load, naming the
# file, the item and the field, instead of deep inside a run)
INT, STR, IDS, BOOL = "an integer (DBID)", "a string", "a list of integers (DBIDs)", "true or false"
ICON_ATTRIBUTE = "0, 1 (stored) or 2 (stored as secure)"
# an object's Configuration Server state (GC_*.STATE); absent: enabled
STATES = {"enabled": ObjectState.ENABLED, "disabled": ObjectState.DISABLED}
STATE = '"enabled" or "disabled"'
FIELDS = {
    "dbid": INT, "tenant_dbid": INT, "switch_dbid": INT, "person_dbid": INT,
    "campaign_dbid": INT, "agent_group_dbid": INT, "ocs_dbid": INT, "field_dbids": IDS,
    "icon_attribute": ICON_ATTRIBUTE,
    "name": STR, "tserver": STR, "tserver_backup": STR, "number": STR, "type": STR,
    "employee_id": STR, "user_name": STR, "first_name": STR, "last_name": STR, "login_code": STR,
    "is_agent": BOOL, "login_dbids": IDS, "dn_dbids": IDS, "person_dbids": IDS,
    "state": STATE,
}


def _is(value, kind: str) -> bool:
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == STR:
        return isinstance(value, str)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == ICON_ATTRIBUTE:
        return value in (0, 1, 2) and not isinstance(value, bool)
    if kind == STATE:
        return value in STATES
    return isinstance(value, list) and all(_is(v, INT) for v in value)


class ConfigError(ValueError):
    """A configuration snapshot that cannot be used; the message names file and problem."""


@dataclass
class ConfigSnapshot:
    path: Path | None
    doc: dict
    exported_at: datetime | None

    def at(self, moment: datetime | None = None) -> "ConfigSnapshot":
        """The configuration valid at `moment`: a single snapshot is valid at every moment (a
        history answers with one of its snapshots: `ConfigHistory.at`)."""
        return self

    def split_hours(self, keys: Sequence[str]) -> list[list[str]]:
        """Consecutive hours cut where the configuration valid at their start changes: one
        snapshot never changes."""
        return [list(keys)] if keys else []

    # -- lookups used by the transforms ---------------------------------------------------------
    def switches(self) -> pl.DataFrame:
        """switch_id, switch, app (a T-Server application name in the logs), tenant_id,
        primary: one row per T-Server of the switch (the primary `tserver`, and the optional
        `tserver_backup` of its HA pair, whose log continues the switch's events after a
        switchover)."""
        rows = [(s["dbid"], s["name"], app, s.get("tenant_dbid"), primary)
                for s in self.doc.get("switches", [])
                for app, primary in ((s["tserver"], True), (s.get("tserver_backup"), False)) if app]
        return pl.DataFrame(rows, schema={"switch_id": pl.Int32, "switch": pl.String,
                                          "app": pl.String, "tenant_id": pl.Int32,
                                          "primary": pl.Boolean}, orient="row")

    def endpoints(self) -> pl.DataFrame:
        """switch_id, dn, endpoint_id, endpoint_type (DnType), tenant_id."""
        rows = [(d["switch_dbid"], d["number"], d["dbid"], int(DN_TYPES[d["type"]]),
                 d.get("tenant_dbid")) for d in self.doc.get("dns", [])]
        return pl.DataFrame(rows, schema={"switch_id": pl.Int32, "dn": pl.String,
                                          "endpoint_id": pl.Int32, "endpoint_type": pl.Int32,
                                          "tenant_id": pl.Int32}, orient="row")

    def logins(self) -> pl.DataFrame:
        """switch_id, login_code, login_id, agent_id (person DBID, null when unassigned)."""
        owner = {login: p["dbid"] for p in self.doc.get("persons", [])
                 for login in p.get("login_dbids", [])}
        rows = [(lg["switch_dbid"], lg["login_code"], lg["dbid"],
                 lg.get("person_dbid", owner.get(lg["dbid"])))
                for lg in self.doc.get("agent_logins", [])]
        return pl.DataFrame(rows, schema={"switch_id": pl.Int32, "login_code": pl.String,
                                          "login_id": pl.Int32, "agent_id": pl.Int32}, orient="row")

    def places(self) -> pl.DataFrame:
        """endpoint_id, place_id (a place's DNs)."""
        rows = [(dn, p["dbid"]) for p in self.doc.get("places", []) for dn in p.get("dn_dbids", [])]
        return pl.DataFrame(rows, schema={"endpoint_id": pl.Int32, "place_id": pl.Int32},
                            orient="row")

    def ocs_ids(self) -> dict[str, int]:
        """OCS application name (as its log header prints it) -> its DBID (GO_CAMPAIGN.OCSID)."""
        return {o["name"]: o["dbid"] for o in self.doc.get("ocs_servers", [])}

    def list_fields(self) -> pl.DataFrame:
        """list_id, field (name, as OCS prints it), field_id, secure: the calling-list fields
        ICON stores (`icon_attribute` 1 or 2)."""
        fields = {f["dbid"]: f for f in self.doc.get("fields", [])}
        rows = [(lst["dbid"], fields[fid]["name"], fid,
                 fields[fid].get("icon_attribute") == ICON_ATTRIBUTE_SECURE)
                for lst in self.doc.get("calling_lists", []) for fid in lst.get("field_dbids", [])
                if fields.get(fid, {}).get("icon_attribute") in (ICON_ATTRIBUTE_STORED,
                                                                   ICON_ATTRIBUTE_SECURE)]
        return pl.DataFrame(rows, schema={"list_id": pl.Int64, "field": pl.String,
                                          "field_id": pl.Int32, "secure": pl.Boolean},
                            orient="row")

    def secure_fields(self) -> frozenset[str]:
        """Names of the calling-list fields stored as secure: masked wherever a line is printed."""
        return frozenset(f["name"] for f in self.doc.get("fields", [])
                         if f.get("icon_attribute") == ICON_ATTRIBUTE_SECURE)

    # -- GC_* tables ---------------------------------------------------------------------------
    def gc_tables(self) -> dict[str, pl.DataFrame]:
        """The GC_* and GCX_* rows of this snapshot: every object active (STATUS 1), CREATED =
        LASTCHANGE = `exported_at`, DELETED null (the history of one snapshot:
        `history.gc_history`)."""
        from transforms.config.history import gc_history

        return gc_history([self])

    def gc_objects(self) -> dict[str, pl.DataFrame]:
        """Each GC_* / GCX_* table's rows of this snapshot without their record columns (STATUS,
        CREATED, DELETED, LASTCHANGE, the GCX_* ID): the objects' attributes (STATE included),
        or the associations' DBID pairs, in the tables' types."""
        d = self.doc

        def state(item: dict) -> dict:
            return {"STATE": int(STATES[item.get("state") or "enabled"])}

        tables = {
            "GC_TENANT": [{"ID": t["dbid"], "NAME": t["name"], **state(t)}
                          for t in d.get("tenants", [])],
            "GC_SWITCH": [{"ID": s["dbid"], "NAME": s["name"], "TENANTID": s.get("tenant_dbid"),
                           "TSERVER": s["tserver"], **state(s)} for s in d.get("switches", [])],
            "GC_ENDPOINT": [{"ID": x["dbid"], "DN": x["number"], "NAME": x.get("name", x["number"]),
                             "SWITCHID": x["switch_dbid"], "TENANTID": x.get("tenant_dbid"),
                             "TYPE": int(DN_TYPES[x["type"]]), **state(x)}
                            for x in d.get("dns", [])],
            "GC_AGENT": [{"ID": p["dbid"], "EMPLOYEEID": p["employee_id"],
                          "USERNAME": p.get("user_name"), "FIRSTNAME": p.get("first_name"),
                          "LASTNAME": p.get("last_name"), "ISAGENT": int(p.get("is_agent", True)),
                          "TENANTID": p.get("tenant_dbid"), **state(p)}
                         for p in d.get("persons", [])],
            "GC_LOGIN": [{"ID": lg["dbid"], "LOGINCODE": lg["login_code"],
                          "SWITCHID": lg["switch_dbid"], "TENANTID": lg.get("tenant_dbid"),
                          **state(lg)} for lg in d.get("agent_logins", [])],
            "GC_PLACE": [{"ID": p["dbid"], "NAME": p["name"], "TENANTID": p.get("tenant_dbid"),
                          **state(p)} for p in d.get("places", [])],
            "GC_GROUP": [{"ID": g["dbid"], "NAME": g["name"], "GROUPTYPE": int(kind),
                          "TENANTID": g.get("tenant_dbid"), **state(g)}
                         for key, kind in (("agent_groups", GroupType.AGENT_GROUP),
                                           ("dn_groups", GroupType.DN_GROUP))
                         for g in d.get(key, [])],
            "GCX_GROUP_AGENT": [{"GROUPID": g["dbid"], "AGENTID": a}
                                for g in d.get("agent_groups", [])
                                for a in g.get("person_dbids", [])],
            "GCX_GROUP_ENDPOINT": [{"GROUPID": g["dbid"], "ENDPOINTID": e}
                                   for g in d.get("dn_groups", []) for e in g.get("dn_dbids", [])],
            "GCX_AGENT_PLACE": [{"AGENTID": p["person_dbid"], "PLACEID": p["dbid"]}
                                for p in d.get("places", []) if p.get("person_dbid") is not None],
            "GCX_ENDPOINT_PLACE": [{"ENDPOINTID": e, "PLACEID": p["dbid"]}
                                   for p in d.get("places", []) for e in p.get("dn_dbids", [])],
            "GCX_AGENT_LOGIN": [{"AGENTID": row[3], "LOGINID": row[2]}
                                for row in self.logins().iter_rows() if row[3] is not None],
        }
        return {name: table(name).conform(pl.DataFrame(rows, infer_schema_length=None)
                                          if rows else table(name).empty())
                .select(record_free(name)) for name, rows in tables.items()}


# the columns a GC_* / GCX_* row gets from its history, not from the object
RECORD_COLUMNS = frozenset({"STATUS", *(f"{name}{suffix}"
                                        for name in ("CREATED", "DELETED", "LASTCHANGE")
                                        for suffix in ("", "_TS", "_TCODE"))})


def record_free(name: str) -> list[str]:
    """The columns of a GC_* table that describe the object (its ID and attributes, STATE
    included), or of a GCX_* table its DBID pair."""
    return [c for c in table(name).column_names if c not in RECORD_COLUMNS
            and not (name.startswith("GCX_") and c == "ID")]


def empty_snapshot() -> ConfigSnapshot:
    return ConfigSnapshot(None, {"format": FORMAT}, None)


def load_snapshot(path: Path | str | None) -> ConfigSnapshot | ConfigHistory:
    """Read and validate a snapshot; a missing file gives an empty configuration (every party is
    then External and every DBID null), which the caller is told about. A folder is a history of
    dated snapshots: a `ConfigHistory` (`transforms/config/history.py`), which answers the same
    questions and `at(moment)` with the snapshot valid then."""
    if path is None or not Path(path).exists():
        return empty_snapshot()
    path = Path(path)
    if path.is_dir():
        from transforms.config.history import load_history

        return load_history(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON configuration snapshot: {exc}") from exc
    validate(doc, path)
    exported = doc.get("exported_at")
    try:
        moment = datetime.fromisoformat(exported) if exported else None
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: 'exported_at' = {exported!r}: must be an ISO 8601 time "
                          f"(e.g. 2026-03-09T00:00:00+00:00)") from None
    return ConfigSnapshot(path, doc, moment)


def validate(doc: dict, path: Path) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ConfigError(f"{path}: 'format' must be {FORMAT!r} (got {doc.get('format')!r})"
                          if isinstance(doc, dict) else f"{path}: the top level must be an object")
    for section, fields in REQUIRED.items():
        items = doc.get(section, [])
        if not isinstance(items, list):
            raise ConfigError(f"{path}: '{section}' must be a list")
        seen = set()
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise ConfigError(f"{path}: {section}[{n}] must be an object")
            missing = [f for f in fields if f not in item]
            if missing:
                raise ConfigError(f"{path}: {section}[{n}] lacks {', '.join(missing)}")
            for name, value in item.items():
                kind = FIELDS.get(name)
                if kind and not (value is None and name not in fields) and not _is(value, kind):
                    raise ConfigError(f"{path}: {section}[{n}].{name} = {value!r}: must be {kind}")
            if item["dbid"] in seen:
                raise ConfigError(f"{path}: {section}[{n}] repeats dbid {item['dbid']}")
            seen.add(item["dbid"])
    for n, dn in enumerate(doc.get("dns", [])):
        if dn["type"] not in DN_TYPES:
            raise ConfigError(f"{path}: dns[{n}] has type {dn['type']!r}; allowed: "
                              f"{', '.join(DN_TYPES)}")
    _references(doc, path, [("campaign_groups", "campaign_dbid", "campaigns"),
                            ("campaign_groups", "ocs_dbid", "ocs_servers"),
                            ("calling_lists", "campaign_dbid", "campaigns"),
                            ("calling_lists", "field_dbids", "fields")])
    switch_ids = {s["dbid"] for s in doc.get("switches", [])}
    for section in ("dns", "agent_logins"):
        for n, item in enumerate(doc.get(section, [])):
            if item["switch_dbid"] not in switch_ids:
                raise ConfigError(f"{path}: {section}[{n}] names switch_dbid {item['switch_dbid']} "
                                  f"which is not in 'switches'")


def _references(doc: dict, path: Path, refs: list[tuple[str, str, str]]) -> None:
    """Each (section, field, target section): the DBIDs the field names exist in the target."""
    for section, name, target in refs:
        known = {item["dbid"] for item in doc.get(target, [])}
        for n, item in enumerate(doc.get(section, [])):
            value = item.get(name)
            for dbid in value if isinstance(value, list) else [value]:
                if dbid is not None and dbid not in known:
                    raise ConfigError(f"{path}: {section}[{n}].{name} names {target} dbid "
                                      f"{dbid}, which is not in '{target}'")
