"""Purge / retention (docs/purge.md): remove from the IDB, in bounded batches, the entities that
ended before a cut-off, each whole and never one still open.

Three families of entities, each the rows of its roles' tables that share one `ETL_ENTITY`:

* `interactions` (roles gcc and gud): calls with their IRs, parties, histories, statistics,
  routing results, inter-site links and attached data. The unit is the *call group*: the calls
  that refer to one another (consultation, merge, IR, inter-site link, ...), purged only when
  every G_CALL and G_IR of the group ended before the cut-off and none is in G_CALL_ACTIVE or
  G_IR_ACTIVE;
* `sessions` (role gls): login sessions with their endpoints, state histories, reason codes, DND
  intervals and custom states (never one with a row in G_AGENT_STATE_RC_A), and the user events
  outside any session (G_CUSTOM_DATA_P/S, an entity each);
* `outbound` (role gos): chain processing attempts with their record histories, fields and dialed
  calls (GOX_CHAIN_CALL rows belong to the chain), and campaign processing attempts with their
  histories once none of their chains is left.

An entity is *ended before the cut-off* when every anchor row of it (G_CALL, G_IR,
G_LOGIN_SESSION, GO_CAMPAIGN, GO_CHAIN; G_CUSTOM_DATA_P for user events outside sessions) has a
time (TERMINATED_TS, ADDED_TS) before it and was written by an hour that ended by then
(ETL_PARTITION): an entity a later hour still writes is not final yet.

Referential integrity: a row that stays never loses what it refers to. Within a family the units
are closed under the references of `references()` (a call group is one unit); across families (an
agent state naming a call, a chain's campaign attempt), an entity that a staying row refers to
stays too (it is *held*). The dialed call a chain names (GOX_CHAIN_CALL.CALLID) is a soft
reference, as in the quality checks: the call follows the interaction rule alone.

Batches: the units of one transaction hold at most `batch_size` entities (a larger unit goes
alone); families are purged outbound, sessions, then interactions (the rows that refer first,
what they refer to last), each unit's children before its parents; a batch checks again, under
the writers' locks, that its entities are still ended (a unit found open again is skipped). An
interruption therefore leaves every remaining entity whole.

Every run, dry runs too, is recorded in G_LOG_MESSAGES (`LogMessageId` 5040 / 5050 / 5045) with its counts in
G_LOG_ATTRS."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import polars as pl
import sqlalchemy as sa

from transforms.hours import HOUR, as_utc, hour_of, key_of
from transforms.idb.dictionary import LogCategory, LogMessageId, LogPriority
from transforms.idb.log_messages import LogMessage, message_frames
from transforms.idb.references import (
    NOT_REFERENCES,
    REFERENCES,
    REFERENCES_BY_COLUMN,
    SOFT_REFERENCES,
)
from transforms.idb.schema import TABLES

# the families, in the order a run purges them: rows that refer (outbound, sessions) before the
# calls they refer to
FAMILIES = ("outbound", "sessions", "interactions")
FAMILY_ROLES = {"interactions": ("gcc", "gud"), "sessions": ("gls",), "outbound": ("gos",)}
# the [icon-etl] option that gives each family's retention in days (0: kept for ever)
RETENTION_OPTIONS = {"interactions": "retention-days-interactions",
                     "sessions": "retention-days-sessions",
                     "outbound": "retention-days-outbound"}
BATCH_OPTION = "purge-batch-size"
APP = "icon-etl purge"          # G_LOG_MESSAGES.APPNAME of the command line's runs
CANDIDATES_TEMP = "etl_purge_candidates_tmp"
PLAN_TEMP = "etl_purge_plan_tmp"
BATCH_TEMP = "etl_purge_batch_tmp"


@dataclass(frozen=True)
class Anchor:
    """Rows that tell when an entity of a family ended: `time` (epoch seconds) of every row of
    `table` (those matching `where`) of the entity. `rank`: units are purged in rank order."""
    table: str
    time: str
    where: str = ""     # SQL condition on the row, `{t}` its alias
    rank: int = 0


@dataclass(frozen=True)
class FamilySpec:
    anchors: tuple[Anchor, ...]
    open_tables: tuple[str, ...]      # a row there: the entity is open


SPECS = {
    "interactions": FamilySpec((Anchor("G_CALL", "TERMINATED_TS"),
                                Anchor("G_IR", "TERMINATED_TS")),
                               ("G_CALL_ACTIVE", "G_IR_ACTIVE")),
    "sessions": FamilySpec((Anchor("G_LOGIN_SESSION", "TERMINATED_TS"),
                            # a user event outside any login session: an entity of its own
                            Anchor("G_CUSTOM_DATA_P", "ADDED_TS", "{t}.LOGINSESSIONID IS NULL")),
                           ("G_AGENT_STATE_RC_A",)),
    # chains first: a campaign attempt goes after the last of its chains
    "outbound": FamilySpec((Anchor("GO_CHAIN", "TERMINATED_TS", rank=0),
                            Anchor("GO_CAMPAIGN", "TERMINATED_TS", rank=1)), ()),
}


def family_of(name: str) -> str | None:
    """The family whose entities own `name`'s rows (None: a table a purge never touches)."""
    table = TABLES[name]
    if not table.has_etl_columns:
        return None
    return next((f for f, roles in FAMILY_ROLES.items() if table.role in roles), None)


def family_tables(family: str) -> list[str]:
    return [n for n in TABLES if family_of(n) == family]


# ---- references between entities' rows ----------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """`table`.`columns` refer to `parent`.`parent_columns`. `kind`: GROUPS (the rows' entities
    are purged together when both are of one family; across families a staying row holds what
    it refers to), HOLDS (a staying row holds its parent, a parent never holds its children) or
    SOFT (a dangling value is not an error: nothing is held)."""
    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    kind: str = "groups"


GROUPS, HOLDS, SOFT = "groups", "holds", "soft"


# not checked by the quality rules (the attempt may be before the data), but a chain is the
# child of its campaign attempt: a chain that stays holds its attempt
_HOLDS = [Reference("GO_CHAIN", ("SESSID",), "GO_CAMPAIGN", ("SESSID",), HOLDS)]


def references() -> list[Reference]:
    """Every reference from a row of an entity to a row of an entity (both tables purged by
    some family): the foreign keys of the quality checks (transforms/idb/references.py), and a
    chain's campaign attempt."""
    out = []
    for name, table in TABLES.items():
        if family_of(name) is None:
            continue
        declared = [(cols, parent, pcols) for cols, parent, pcols in REFERENCES.get(name, [])]
        for column in table.column_names:
            target = REFERENCES_BY_COLUMN.get(column)
            if target is None or (name, column) in NOT_REFERENCES or target == (name, column):
                continue
            declared.append(((column,), target[0], (target[1],)))
        out += [Reference(name, cols, parent, pcols,
                          SOFT if (name, cols[0]) in SOFT_REFERENCES else GROUPS)
                for cols, parent, pcols in declared if family_of(parent) is not None]
    return out + _HOLDS


# ---- the plan -----------------------------------------------------------------------------------

@dataclass
class FamilyPlan:
    family: str
    cutoff: datetime
    units: list[tuple[str, ...]] = field(default_factory=list)  # entity groups, in purge order
    ended: int = 0      # entities ended before the cut-off
    held: int = 0       # of those, kept: their group has an entity still open or ended later,
    #                     or a row that stays refers to them

    @property
    def entities(self) -> int:
        return sum(len(u) for u in self.units)


@dataclass
class PurgePlan:
    families: dict[str, FamilyPlan]      # in purge order

    @property
    def entities(self) -> dict[str, int]:
        return {f: p.entities for f, p in self.families.items()}

    def cutoffs(self) -> dict[str, datetime]:
        return {f: p.cutoff for f, p in self.families.items()}


def parse_cutoff(text: str) -> datetime:
    """An ISO 8601 time (a date alone is its midnight; no zone: UTC)."""
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r}: not an ISO 8601 time (e.g. 2026-01-01 or "
                         f"2026-01-01T00:00Z)") from None
    return as_utc(ts)


def retention_cutoffs(options, now: datetime) -> dict[str, datetime]:
    """The cut-off of each family whose `[icon-etl] retention-days-*` is not 0: the start of the
    current UTC hour less that many days (`options`: an IconOptions)."""
    start = hour_of(as_utc(now))
    out = {}
    for family in FAMILIES:
        days = int(options.get("icon-etl", RETENTION_OPTIONS[family]))
        if days > 0:
            out[family] = start - timedelta(days=days)
    return out


def _bounds(cutoff: datetime) -> dict:
    """SQL parameters of a cut-off: `cut` (epoch seconds) and `last`, the last hour that ended
    by then (ETL_PARTITION keys sort as times)."""
    cutoff = as_utc(cutoff)
    return {"cut": int(cutoff.timestamp()), "last": key_of(hour_of(cutoff) - HOUR)}


def _ended_sql(spec: FamilySpec, entities: str | None = None) -> str:
    """The entities ended before :cut (in `entities`, a table of column `entity`, if given)."""
    parts = []
    for anchor in spec.anchors:
        where = [f"a.{anchor.time} < :cut", "a.ETL_PARTITION <= :last"]
        if anchor.where:
            where.append(anchor.where.format(t="a"))
        if entities:
            where.append(f"a.ETL_ENTITY IN (SELECT entity FROM {entities})")
        for other in spec.anchors:
            cond = (f"b.{other.time} IS NULL OR b.{other.time} >= :cut "
                    f"OR b.ETL_PARTITION > :last")
            extra = f" AND {other.where.format(t='b')}" if other.where else ""
            where.append(f"NOT EXISTS (SELECT 1 FROM {other.table} b WHERE "
                         f"b.ETL_ENTITY = a.ETL_ENTITY{extra} AND ({cond}))")
        for name in spec.open_tables:
            where.append(f"NOT EXISTS (SELECT 1 FROM {name} o WHERE o.ETL_ENTITY = a.ETL_ENTITY)")
        parts.append(f"SELECT DISTINCT a.ETL_ENTITY, {anchor.rank} AS rnk FROM {anchor.table} a "
                     f"WHERE " + " AND ".join(where))
    return " UNION ".join(parts)


def _join(ref: Reference, child: str = "c", parent: str = "p") -> str:
    return " AND ".join(f"{child}.{c} = {parent}.{p}"
                        for c, p in zip(ref.columns, ref.parent_columns))


def _load(store, conn, name: str, frame: pl.DataFrame) -> None:
    """`frame` (text columns, its rows unique) into a temporary table `name` of this
    connection, emptied first."""
    cols = ", ".join(f"{c} TEXT NOT NULL" for c in frame.columns)
    conn.execute(sa.text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({cols}, "
                         f"PRIMARY KEY ({', '.join(reversed(frame.columns))}))"))
    conn.execute(sa.text(f"DELETE FROM {name}"))
    store.bulk_insert(conn, name, frame.columns, frame)


def _entities(entities: Iterable[str]) -> pl.DataFrame:
    return pl.DataFrame({"entity": list(entities)}, schema={"entity": pl.String})


def _groups(entities: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """entity -> the smallest entity of its connected component (union-find)."""
    parent: dict[str, str] = {e: e for e in entities}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {e: find(e) for e in list(parent)}


def plan_purge(store, before: datetime | Mapping[str, datetime],
               families: Iterable[str] | None = None) -> PurgePlan:
    """What a purge with cut-off `before` (one time, or one per family) would remove from
    `store`'s IDB: per family, the units (groups of entities purged together) whose every
    entity ended before its family's cut-off and that no staying row refers to."""
    if isinstance(before, Mapping):
        cutoffs = {f: as_utc(t) for f, t in before.items()}
        wanted = set(families) if families is not None else set(cutoffs)
    else:
        wanted = set(families) if families is not None else set(FAMILIES)
        cutoffs = {f: as_utc(before) for f in wanted}
    unknown = sorted(wanted - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown famil{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)}: {', '.join(FAMILIES)}")
    missing = sorted(wanted - set(cutoffs))
    if missing:
        raise ValueError(f"no cut-off for {', '.join(missing)}")
    plan = PurgePlan({f: FamilyPlan(f, cutoffs[f]) for f in FAMILIES if f in wanted})
    refs = references()
    with store.engine.connect() as conn:
        ranks: dict[str, int] = {}
        for family, fplan in plan.families.items():
            rows = conn.execute(sa.text(_ended_sql(SPECS[family])), _bounds(fplan.cutoff)).all()
            ended = {e for e, _ in rows}
            for e, rank in rows:
                ranks[e] = min(rank, ranks.get(e, rank))
            fplan.ended = len(ended)
            fplan.units = _units(store, conn, family, ended, refs)
        _hold(store, conn, plan, refs)
        for fplan in plan.families.values():
            fplan.units.sort(key=lambda u: (min(ranks.get(e, 0) for e in u), u))
            fplan.held = fplan.ended - fplan.entities
        conn.rollback()
    return plan


def _units(store, conn, family: str, ended: set[str], refs: list[Reference]
           ) -> list[tuple[str, ...]]:
    """The ended entities of `family` grouped along the references between its tables; a group
    with an entity that has not ended is left out whole."""
    if not ended:
        return []
    _load(store, conn, CANDIDATES_TEMP, _entities(sorted(ended)))
    edges: set[tuple[str, str]] = set()
    for ref in refs:
        if ref.kind != GROUPS or family_of(ref.table) != family \
                or family_of(ref.parent) != family:
            continue
        for side in ("c", "p"):
            rows = conn.execute(sa.text(
                f"SELECT DISTINCT c.ETL_ENTITY, p.ETL_ENTITY FROM {ref.table} c "
                f"JOIN {ref.parent} p ON {_join(ref)} WHERE c.ETL_ENTITY <> p.ETL_ENTITY "
                f"AND {side}.ETL_ENTITY IN (SELECT entity FROM {CANDIDATES_TEMP})")).all()
            edges.update((a, b) for a, b in rows)
    group = _groups(ended, edges)
    members: dict[str, list[str]] = {}
    for entity, root in group.items():
        members.setdefault(root, []).append(entity)
    return sorted(tuple(sorted(m)) for m in members.values() if all(e in ended for e in m))


def _hold(store, conn, plan: PurgePlan, refs: list[Reference]) -> None:
    """Leave out, until nothing changes, the units a staying row of another unit refers to
    (across families; a chain's campaign attempt)."""
    holding = [r for r in refs if r.kind == HOLDS or (
        r.kind == GROUPS and family_of(r.table) != family_of(r.parent))]
    while True:
        rows = [(f, e) for f, p in plan.families.items() for u in p.units for e in u]
        _load(store, conn, PLAN_TEMP, pl.DataFrame(
            rows, schema={"family": pl.String, "entity": pl.String}, orient="row"))
        held: dict[str, set[str]] = {}
        for ref in holding:
            child, parent = family_of(ref.table), family_of(ref.parent)
            if parent not in plan.families or not plan.families[parent].units:
                continue
            found = conn.execute(sa.text(
                f"SELECT DISTINCT p.ETL_ENTITY FROM {ref.parent} p JOIN {ref.table} c "
                f"ON {_join(ref)} WHERE p.ETL_ENTITY IN (SELECT entity FROM {PLAN_TEMP} "
                f"WHERE family = :parent) AND NOT EXISTS (SELECT 1 FROM {PLAN_TEMP} q "
                f"WHERE q.family = :child AND q.entity = c.ETL_ENTITY)"),
                {"parent": parent, "child": child}).scalars().all()
            held.setdefault(parent, set()).update(found)
        if not any(held.values()):
            return
        for family, entities in held.items():
            fplan = plan.families[family]
            fplan.units = [u for u in fplan.units if not entities.intersection(u)]


# ---- the purge ----------------------------------------------------------------------------------

@dataclass
class PurgeReport:
    run_id: str
    dry_run: bool
    cutoffs: dict[str, datetime]
    rows: dict[str, int] = field(default_factory=dict)       # table -> rows removed (dry run:
    #                                                           that a run would remove)
    planned: dict[str, int] = field(default_factory=dict)    # family -> entities planned
    entities: dict[str, int] = field(default_factory=dict)   # family -> entities removed
    held: dict[str, int] = field(default_factory=dict)       # family -> ended entities kept
    skipped: dict[str, int] = field(default_factory=dict)    # family -> found open at their batch
    batches: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def attrs(self) -> dict[str, str]:
        """The counts as G_LOG_ATTRS attributes."""
        out = {"RUN_ID": self.run_id, "DRY_RUN": "1" if self.dry_run else "0",
               "BATCHES": str(self.batches), "TOTAL_ROWS": str(self.total_rows)}
        for family, cutoff in self.cutoffs.items():
            out[f"CUTOFF.{family}"] = iso_time(cutoff)
            out[f"PLANNED.{family}"] = str(self.planned.get(family, 0))
            out[f"ENTITIES.{family}"] = str(self.entities.get(family, 0))
            out[f"HELD.{family}"] = str(self.held.get(family, 0))
            out[f"SKIPPED.{family}"] = str(self.skipped.get(family, 0))
        out.update({f"ROWS.{name}": str(n) for name, n in self.rows.items()})
        return out


def iso_time(ts: datetime) -> str:
    """A cut-off as the log, the metadata and the run config print it."""
    return as_utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def _purge_order(family: str) -> list[str]:
    """The family's tables, each before the tables its rows refer to (children first; a cycle,
    G_CALL <-> G_IR, in schema order: the batch is one transaction either way)."""
    names = family_tables(family)
    refs = references()
    parents = {n: {r.parent for r in refs if r.table == n and r.parent != n
                   and r.parent in names} for n in names}
    order: list[str] = []
    while len(order) < len(names):
        left = [n for n in names if n not in order]
        # a table nobody left refers to can go now
        free = [n for n in left if not any(n in parents[o] for o in left if o != n)]
        order.append((free or left)[0])
    return order


def purge(store, plan: PurgePlan, batch_size: int = 1000, dry_run: bool = False,
          progress: Callable[[str], None] | None = None, app: str = APP,
          run_id: str | None = None) -> PurgeReport:
    """Remove what `plan` names, `batch_size` entities per transaction (a dry run counts the
    rows instead and removes nothing). The run is recorded in G_LOG_MESSAGES: a STARTED row, then
    an ENDED row with the counts, or a FAILED row with the counts so far (and the error raised
    again)."""
    if batch_size < 1:
        raise ValueError(f"batch size {batch_size}: at least 1")
    started = time.perf_counter()
    report = PurgeReport(run_id or uuid.uuid4().hex, dry_run, plan.cutoffs(),
                         rows={n: 0 for f in plan.families for n in _purge_order(f)},
                         planned=plan.entities, entities={f: 0 for f in plan.families},
                         held={f: p.held for f, p in plan.families.items()},
                         skipped={f: 0 for f in plan.families})
    tell = progress or (lambda _text: None)
    what = "would remove" if dry_run else "to remove"
    summary = ", ".join(f"{p.entities} {f} entities (cut-off {iso_time(p.cutoff)})"
                        for f, p in plan.families.items()) or "nothing"
    _record(store, app, report, LogMessageId.PROCEDURE_STARTED,
            f"purge {report.run_id} started{' (dry run)' if dry_run else ''}: {what} {summary}")
    try:
        # a dry run removes in one transaction that it rolls back: each batch then sees what the
        # batches before it left, as a real run would
        with _dry_run(store, plan) if dry_run else nullcontext() as shared:
            for family, fplan in plan.families.items():
                batches = _batches(fplan.units, batch_size)
                for n, units in enumerate(batches, 1):
                    counts, removed, skipped = _purge_batch(store, shared, family, fplan.cutoff,
                                                            units)
                    report.batches += 1
                    report.entities[family] += removed
                    report.skipped[family] += skipped
                    for name, rows in counts.items():
                        report.rows[name] += rows
                    tell(f"{family} batch {n}/{len(batches)}: {removed} entities, "
                         f"{sum(counts.values())} rows{' (dry run)' if dry_run else ''}"
                         + (f", {skipped} entities kept (open again, or a row that stays "
                            f"refers to them)" if skipped else ""))
    except BaseException as exc:
        report.seconds = time.perf_counter() - started
        try:
            _record(store, app, report, LogMessageId.RUN_FAILED,
                    f"purge {report.run_id} failed after {report.batches} batch(es), "
                    f"{report.total_rows} rows {'counted' if dry_run else 'removed'}: "
                    f"{type(exc).__name__}: {exc}"[:4000],
                    error=f"{type(exc).__name__}: {exc}"[:4000])
        except Exception:  # noqa: BLE001  (the IDB may be why it failed: the error is raised)
            pass
        raise
    report.seconds = time.perf_counter() - started
    _record(store, app, report, LogMessageId.PROCEDURE_ENDED,
            f"purge {report.run_id} ended{' (dry run)' if dry_run else ''}: "
            f"{'would remove' if dry_run else 'removed'} {report.total_rows} rows of "
            f"{sum(report.entities.values())} entities in {report.batches} batch(es)")
    return report


def _batches(units: list[tuple[str, ...]], size: int) -> list[list[tuple[str, ...]]]:
    """Consecutive units, at most `size` entities a batch (a larger unit alone)."""
    out: list[list[tuple[str, ...]]] = []
    current: list[tuple[str, ...]] = []
    held = 0
    for unit in units:
        if current and held + len(unit) > size:
            out.append(current)
            current, held = [], 0
        current.append(unit)
        held += len(unit)
    if current:
        out.append(current)
    return out


class _RolledBack(Exception):
    """Ends a dry run's transaction (rolled back)."""


@contextmanager
def _dry_run(store, plan: PurgePlan) -> Iterator:
    """One write transaction over every table of the plan, rolled back at its end."""
    try:
        with store.writing([n for f in plan.families for n in _purge_order(f)]) as conn:
            yield conn
            raise _RolledBack
    except _RolledBack:
        pass


def _purge_batch(store, shared, family: str, cutoff: datetime,
                 units: list[tuple[str, ...]]) -> tuple[dict[str, int], int, int]:
    """The units whose entities have all still ended and that no row staying refers to, their
    rows removed, children first: a transaction of its own, or part of `shared` (a dry run's).
    Returns rows per table, entities removed, entities skipped (found open again, or held)."""
    tables = _purge_order(family)
    with nullcontext(shared) if shared is not None else store.writing(tables) as conn:
        _load(store, conn, BATCH_TEMP, _entities(e for u in units for e in u))
        # still ended? (a write since the plan may have opened one again)
        ended = set(conn.execute(sa.text(_ended_sql(SPECS[family], BATCH_TEMP)),
                                 _bounds(cutoff)).scalars().all())
        kept = [u for u in units if ended.issuperset(u)]
        while True:
            # ... and does no row that stays refer to one? (a unit kept open in an earlier
            # batch, or a row written since the plan)
            _load(store, conn, BATCH_TEMP, _entities(e for u in kept for e in u))
            held = _referenced_from_outside(conn, family)
            if not held:
                break
            kept = [u for u in kept if not held.intersection(u)]
        skipped = sum(len(u) for u in units) - sum(len(u) for u in kept)
        counts = {name: conn.execute(sa.text(
            f"DELETE FROM {name} WHERE ETL_ENTITY IN (SELECT entity FROM {BATCH_TEMP})")).rowcount
            for name in tables}
    return counts, sum(len(u) for u in kept), skipped


def _referenced_from_outside(conn, family: str) -> set[str]:
    """The entities of the batch (BATCH_TEMP) that a row of another entity refers to."""
    found: set[str] = set()
    for ref in references():
        if ref.kind == SOFT or family_of(ref.parent) != family:
            continue
        found.update(conn.execute(sa.text(
            f"SELECT DISTINCT p.ETL_ENTITY FROM {ref.parent} p JOIN {ref.table} c "
            f"ON {_join(ref)} WHERE p.ETL_ENTITY IN (SELECT entity FROM {BATCH_TEMP}) "
            f"AND NOT EXISTS (SELECT 1 FROM {BATCH_TEMP} b WHERE b.entity = c.ETL_ENTITY)"))
            .scalars().all())
    return found


def _record(store, app: str, report: PurgeReport, message_id: LogMessageId, text: str,
            error: str | None = None) -> None:
    failed = message_id == LogMessageId.RUN_FAILED
    attrs = report.attrs() | ({"ERROR": error} if error else {})
    message = LogMessage(message_id, app, f"purge/{report.run_id}", text,  # type: ignore[arg-type]
                         datetime.now(timezone.utc),
                         LogPriority.ALARM if failed else LogPriority.STANDARD,
                         LogCategory.ALARM if failed else LogCategory.AUDIT,
                         run_id=report.run_id, attrs=attrs)
    messages, rows = message_frames([message])
    store.replace_messages(messages, rows, app)
