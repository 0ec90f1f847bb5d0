"""Declarative data-quality rules for every IDB table.

Nothing here names a table's rules one by one: they are derived from the table definitions
(`transforms.idb.schema`: columns, nullability, natural keys), the dictionary
(`transforms.idb.dictionary.TYPES`: which column uses which enumeration) and the short declarative
tables below (references by column name, time orders, history orders, event coverage). A new
table therefore gets its rules from its definition alone; a new kind of relation is one line in
one of the tables below. `quality.suites` turns the rules into Great Expectations suites.

Each rule belongs to one check (an asset check of the table, see CHECKS):
  keys          key columns not null, natural key and surrogate ids unique       (blocking)
  foreign_keys  every reference resolves in the IDB                              (blocking)
  values        declared NOT NULL columns, dictionary values, time orders        (warning)
  completeness  rows consistent with the hour's parsed events                    (error)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from transforms.idb import (
    NOT_REFERENCES,
    REFERENCES,
    REFERENCES_BY_COLUMN,
    SOFT_REFERENCES,
    TABLES,
    Table,
    dictionary,
)

KEYS, FOREIGN_KEYS, VALUES, COMPLETENESS = "keys", "foreign_keys", "values", "completeness"


@dataclass(frozen=True)
class CheckKind:
    name: str
    blocking: bool
    severity: str  # "ERROR" | "WARN": the severity of a failed result
    description: str


CHECKS: dict[str, CheckKind] = {c.name: c for c in [
    CheckKind(KEYS, True, "ERROR",
              "Key columns not null; natural key, alternate keys and surrogate ids unique in what "
              "the hour wrote. Blocking: downstream joins rely on them."),
    CheckKind(FOREIGN_KEYS, True, "ERROR",
              "Every reference of the hour's rows resolves in the IDB (calls, IRs, parties, login "
              "sessions, configuration objects, time codes). Blocking."),
    CheckKind(VALUES, False, "WARN",
              "Declared NOT NULL columns filled, enumerated columns within the dictionary, times "
              "ordered (CREATED <= TERMINATED ...), histories non-decreasing in time per entity."),
    CheckKind(COMPLETENESS, False, "ERROR",
              "Rows consistent with the hour's parsed events: every entity with an event in the "
              "hour is written, nothing is written that has no event (or was not carried in)."),
]}

# ---- the declarative tables ---------------------------------------------------------------------

# Own bookkeeping columns that the idempotent partition write relies on (checked with the keys).
ENTITY_COLUMNS = ("ETL_ENTITY", "ETL_PARTITION")

# Surrogate id columns: unique wherever a table has them.
SURROGATE_IDS = ("ID", "IRHID", "CHID", "PHID")

# Further unique column sets besides the natural key (`Table.key`).
ALTERNATE_KEYS: dict[str, list[tuple[str, ...]]] = {
    "G_PARTY_HISTORY": [("CALLID", "CSEQ")],
}

# Every *_TCODE column points to a five-minute time code.
TCODE_SUFFIX, TCODE_PARENT = "_TCODE", ("G_TIMECODE", "ID")

# GSYS_DOMAIN is the data source session that wrote the row: a session of the role's provider.
# Only when the sessions are written (`[callconcentrator] use-dss-monitor = 1`).
DOMAIN_COLUMN = "GSYS_DOMAIN"
DOMAIN_PARENTS = {"gcc": "G_DSS_GCC_PROVIDER", "gls": "G_DSS_GLS_PROVIDER",
                  "gud": "G_DSS_GUD_PROVIDER", "gos": "G_DSS_GOS_PROVIDER"}
DOMAIN_PARENT_COLUMN = "DSS_ID"
DOMAIN_OPTION = ("callconcentrator", "use-dss-monitor", 1)

# Time columns that must not run backwards, in every table that has both: (earlier, later).
TIME_ORDER = [("CREATED", "TERMINATED"), ("INITIATED", "TERMINATED"), ("CREATED", "LASTCHANGE"),
              ("INITIATED", "LASTCHANGE"), ("TERMINATED", "LASTCHANGE")]

# Histories whose time never decreases along a sequence within an entity:
# table -> [(entity columns, sequence column)], time column HISTORY_TIME.
HISTORY_TIME = "ADDED"
HISTORY_ORDER: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "G_CALL_HISTORY": [(("CALLID",), "CSEQ")],
    "G_PARTY_HISTORY": [(("PARTYID",), "PSEQ"), (("CALLID",), "CSEQ")],
    "G_IS_LINK_HISTORY": [(("LINKID", "SWITCHID"), "SEQ")],
    "G_AGENT_STATE_HISTORY": [(("LOGINSESSIONID", "ETL_DN"), "SEQ")],
    "GO_CAMPAIGNHISTORY": [(("SESSID",), "SEQ")],
    "GO_CAMPPROP_HIST": [(("SESSID",), "SEQ")],
    "GO_CHAINREC_HIST": [(("CHAINGUID",), "SEQ")],
    "GO_FIELDHIST": [(("CHAINGUID", "RECORDHANDLE", "FIELDID"), "SEQ")],
    "GO_SEC_FIELDHIST": [(("CHAINGUID", "RECORDHANDLE", "FIELDID"), "SEQ")],
}

# Tables whose rows must match the entities of the hour's parsed events: table -> (column,
# event column, role whose entities still open at the end of the previous hour are carried in).
COVERAGE: dict[str, tuple[str, str, str]] = {
    "G_CALL": ("CALLID", "call_uuid", "gcc"),
}

# Columns whose values are never shown in check results (samples), whatever the rule.
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    "G_SECURE_USERDATA_HISTORY": ("VALUE",),
    "GO_SEC_FIELDHIST": ("OLDVALUE", "NEWVALUE"),
}
SECRET_MASK = "***"

# ---- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    table: str
    check: str

    @property
    def columns(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def label(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class NotNull(Rule):
    column: str

    @property
    def columns(self):
        return (self.column,)

    @property
    def label(self):
        return f"{self.column} not null"


@dataclass(frozen=True)
class Unique(Rule):
    key: tuple[str, ...]
    kind: str = "natural key"

    @property
    def columns(self):
        return self.key

    @property
    def label(self):
        return f"{self.kind} ({', '.join(self.key)}) unique"


@dataclass(frozen=True)
class InDictionary(Rule):
    column: str
    dictionary: str              # dictionary type name (G_DICT_TYPE.NAME)
    allowed: tuple[int, ...]

    @property
    def columns(self):
        return (self.column,)

    @property
    def label(self):
        return f"{self.column} in dictionary {self.dictionary}"


@dataclass(frozen=True)
class TimeOrder(Rule):
    earlier: str
    later: str

    @property
    def columns(self):
        return (self.earlier, self.later)

    @property
    def label(self):
        return f"{self.earlier} <= {self.later}"


@dataclass(frozen=True)
class HistoryOrder(Rule):
    entity: tuple[str, ...]
    sequence: str
    time: str = HISTORY_TIME

    @property
    def previous(self) -> str:
        """Derived column: the entity's time at the previous sequence number."""
        return f"_PREVIOUS_{self.time}_BY_{self.sequence}_PER_{'_'.join(self.entity)}"

    @property
    def columns(self):
        return (*self.entity, self.sequence, self.time, self.previous)

    @property
    def label(self):
        return f"{self.time} non-decreasing along {self.sequence} per {', '.join(self.entity)}"


@dataclass(frozen=True)
class Reference(Rule):
    key: tuple[str, ...]
    parent: str
    parent_key: tuple[str, ...]
    # (section, option, value): the reference holds only when the ICON option has this value
    requires: tuple[str, str, object] | None = None

    @property
    def found(self) -> str:
        """Derived column: True when the row's reference exists in the IDB (null: no reference)."""
        return f"_FOUND_{'_'.join(self.key)}_IN_{self.parent}"

    @property
    def columns(self):
        return self.key

    @property
    def label(self):
        when = f" (when [{self.requires[0]}] {self.requires[1]} = {self.requires[2]})" \
            if self.requires else ""
        return f"({', '.join(self.key)}) in {self.parent}({', '.join(self.parent_key)}){when}"

    def applies(self, options) -> bool:
        """Whether the reference must hold under `options` (an IconOptions)."""
        if self.requires is None:
            return True
        section, name, value = self.requires
        return options.get(section, name) == value


@dataclass(frozen=True)
class CoversEvents(Rule):
    """Every distinct event `event_column` value of the hour is a `column` value the hour (or a
    later hour of the run: an entity is kept in the hour of its last event) wrote, and every value
    written has events in the hour or before it (the `role`'s status says so). Validated on its
    own frame."""

    column: str
    event_column: str
    role: str

    WRITTEN = "_WRITTEN"
    EXPECTED = "_HAS_EVENTS_OR_CARRIED"

    @property
    def columns(self):
        return (self.column,)

    @property
    def label(self):
        return f"{self.column} = distinct {self.event_column} of the hour's events (+ kept later)"


@dataclass(frozen=True)
class TableRules:
    table: Table
    rules: tuple[Rule, ...]

    @property
    def name(self) -> str:
        return self.table.name

    def for_check(self, check: str) -> list[Rule]:
        return [r for r in self.rules if r.check == check]

    @property
    def frame_rules(self) -> list[Rule]:
        """Rules validated on the table's own rows (one suite)."""
        return [r for r in self.rules if not isinstance(r, CoversEvents)]

    @property
    def coverage(self) -> list[CoversEvents]:
        return [r for r in self.rules if isinstance(r, CoversEvents)]

    @property
    def checks(self) -> list[str]:
        """The checks this table has rules for, in CHECKS order."""
        present = {r.check for r in self.rules}
        return [c for c in CHECKS if c in present]

    @cached_property
    def secret(self) -> tuple[str, ...]:
        return SECRET_COLUMNS.get(self.name, ())


# ---- derivation ---------------------------------------------------------------------------------

def _table_pattern(text: str) -> re.Pattern:
    """`GC_*` (any suffix) and `G_AGENT_STATE_RC(_A)` (optional part) as a table-name regex."""
    out = ""
    for part in re.split(r"(\*|\([A-Z0-9_]+\))", text.strip()):
        if part == "*":
            out += "[A-Z0-9_]*"
        elif part.startswith("("):
            out += f"(?:{re.escape(part[1:-1])})?"
        else:
            out += re.escape(part)
    return re.compile(out + r"\Z")


def dictionary_columns() -> tuple[dict[tuple[str, str], tuple[str, tuple[int, ...]]], list[str]]:
    """(table, column) -> (dictionary name, allowed values), parsed from the column lists of
    `dictionary.TYPES` (e.g. "G_PARTY.STATE, PREVSTATE; G_PARTY_HISTORY.STATE"); and the items
    that name no existing column (a test keeps that list empty)."""
    mapping: dict[tuple[str, str], tuple[str, tuple[int, ...]]] = {}
    unresolved: list[str] = []
    for _tid, name, columns, _source, enum in dictionary.TYPES:
        allowed = tuple(dictionary.values(enum))
        for group in columns.split(";"):
            tables: list[str] = []
            for item in (i.strip() for i in group.split(",")):
                if not item:
                    continue
                if "." in item:
                    pattern, column = item.rsplit(".", 1)
                    rx = _table_pattern(pattern)
                    tables = [t for t in TABLES if rx.match(t)]
                else:
                    column = item
                hit = [t for t in tables if column in TABLES[t].column_names]
                if not hit:
                    unresolved.append(f"{name}: {item}")
                for t in hit:
                    mapping[(t, column)] = (name, allowed)
    return mapping, unresolved


def references(table: Table) -> list[tuple[tuple[str, ...], str, tuple[str, ...], tuple | None]]:
    """(columns, parent, parent columns, required option) of every reference of the table."""
    names = table.column_names
    out = [(*ref, None) for ref in REFERENCES.get(table.name, [])]
    domain = DOMAIN_PARENTS.get(table.role)
    if DOMAIN_COLUMN in names and domain in TABLES and (table.name, DOMAIN_COLUMN) not in NOT_REFERENCES:
        out.append(((DOMAIN_COLUMN,), domain, (DOMAIN_PARENT_COLUMN,), DOMAIN_OPTION))
    for column in names:
        if (table.name, column) in NOT_REFERENCES:
            continue
        target = TCODE_PARENT if column.endswith(TCODE_SUFFIX) else REFERENCES_BY_COLUMN.get(column)
        if target is None:
            continue
        parent, parent_column = target
        if parent == table.name and parent_column == column:
            continue
        if parent not in TABLES or parent_column not in TABLES[parent].column_names:
            continue
        out.append(((column,), parent, (parent_column,), None))
    return out


def rules_for(name: str) -> TableRules:
    """Every rule of one table, derived from its definition and the tables above."""
    table = TABLES[name]
    cols = table.column_names
    declared = {c.name: c for c in table.columns}
    rules: list[Rule] = []

    key_cols = [c for c in table.key] + [c for c in ENTITY_COLUMNS if c in cols]
    rules += [NotNull(name, KEYS, c) for c in dict.fromkeys(key_cols)]
    rules.append(Unique(name, KEYS, tuple(table.key)))
    for alt in ALTERNATE_KEYS.get(name, []):
        rules.append(Unique(name, KEYS, alt, "alternate key"))
    for sid in SURROGATE_IDS:
        if sid in cols and (sid,) != tuple(table.key):
            rules.append(Unique(name, KEYS, (sid,), "surrogate id"))

    for key, parent, parent_key, requires in references(table):
        check = VALUES if (name, key[0]) in SOFT_REFERENCES else FOREIGN_KEYS
        rules.append(Reference(name, check, key, parent, parent_key, requires))

    rules += [NotNull(name, VALUES, c) for c in cols
              if not declared[c].nullable and c not in key_cols]
    enums, _ = dictionary_columns()
    for column in cols:
        if (name, column) in enums:
            dict_name, allowed = enums[(name, column)]
            rules.append(InDictionary(name, VALUES, column, dict_name, allowed))
    for earlier, later in TIME_ORDER:
        if earlier in cols and later in cols:
            rules.append(TimeOrder(name, VALUES, earlier, later))
    for entity, sequence in HISTORY_ORDER.get(name, []):
        rules.append(HistoryOrder(name, VALUES, entity, sequence))

    if name in COVERAGE:
        column, event_column, role = COVERAGE[name]
        rules.append(CoversEvents(name, COMPLETENESS, column, event_column, role))
    return TableRules(table, tuple(rules))
