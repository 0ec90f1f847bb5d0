"""The Interaction Database through SQLAlchemy: schema from `transforms.idb.schema`, and
idempotent writes (docs/architecture.md, "Writing the IDB").

A write replaces whole entities, for a batch of hours, inside one transaction:
  1. rows these hours wrote before and no longer produce are removed;
  2. entities already written by a *later* hour are left alone (a re-run of an old hour must not
     roll back what a later hour completed);
  3. every other entity of the batch is made to hold exactly the batch's rows: rows whose id and
     content hash (ETL_HASH) are already there stay, the others are deleted or inserted.
Re-materializing any hours therefore never duplicates or loses rows, and a crash rolls the
whole batch back. A first load into empty tables builds their secondary indexes after the rows. Writers at once are safe: one per table at a time (`IdbStore.writing`).
Strings are stored whole (TEXT); values longer than the IDB's declared length are counted and
reported, never cut. Entities whose rows the database refuses (a key it holds unique, a value it
cannot store) are found by halving the batch inside savepoints, left out and reported with the
reason: one bad call never keeps the other calls out.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import time
import zlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl
import sqlalchemy as sa

from transforms.idb.schema import TABLES, Table

SQL_TYPES = {"int": sa.Integer, "smallint": sa.SmallInteger, "bigint": sa.BigInteger,
             "str50": sa.Text, "str64": sa.Text, "str128": sa.Text, "str255": sa.Text, "text": sa.Text,
             "datetime": sa.DateTime, "float": sa.Float}
IDB_LENGTH = {"str50": 50, "str64": 64, "str128": 128, "str255": 255}
ENTITY_TEMP = "etl_entities_tmp"
ID_TEMP = "etl_ids_tmp"
NOT_HASHED = ("ETL_PARTITION", "ETL_HASH")
LOCK_SPACE = 4242      # PostgreSQL advisory locks: (LOCK_SPACE, crc32 of a table's name)
# an empty table taking at least this many rows gets its secondary indexes after them (building
# an index over sorted rows costs a fraction of keeping it up to date row by row)
BULK_INDEX_ROWS = 50_000


def with_row_hash(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """ETL_HASH: a hash of the row's content (all columns but the writing partition)."""
    content = [c for c in table.column_names if c not in NOT_HASHED]
    return frame.with_columns(ETL_HASH=frame.select(content).hash_rows(seed=7).reinterpret(signed=True))


class IdbError(RuntimeError):
    """The IDB cannot be reached or written; the message says which database and why (never the
    password, never the content of a row)."""


def redact_url(url: str) -> str:
    """The URL with its password masked (`***`): everything between `user:` and the last `@`, so
    that a password with an unencoded `@` is masked whole too."""
    return re.sub(r"://([^:/@]*):.*@", r"://\1:***@", url)


def describe_db_error(exc: BaseException) -> str:
    """A driver's error without what it quotes of the rows: PostgreSQL's DETAIL ("Failing row
    contains (...)") and CONTEXT (the COPY line) can hold attached-data values, secure ones
    included, so only the primary message and the names of the table, column and constraint are
    kept. SQLAlchemy's wrapper (with its SQL and parameters) is unwrapped the same way."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    if diag is not None and getattr(diag, "message_primary", None):
        names = [f"{what} {value}" for what, value in (("table", diag.table_name),
                                                       ("column", diag.column_name),
                                                       ("constraint", diag.constraint_name))
                 if value]
        return diag.message_primary + (f" ({', '.join(names)})" if names else "")
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _is_db_error(exc: BaseException) -> bool:
    module = type(getattr(exc, "orig", None) or exc).__module__ or ""
    return isinstance(exc, sa.exc.DBAPIError) or module.split(".")[0] in ("sqlite3", "psycopg")


def build_metadata() -> sa.MetaData:
    """Unquoted identifiers: the IDB's upper-case names as in its SQL scripts, so that on
    PostgreSQL `SELECT callid FROM g_call` and `G_CALL.CALLID` both work."""
    meta = sa.MetaData()
    for t in TABLES.values():
        cols = [sa.Column(c.name, SQL_TYPES[c.type], nullable=True, quote=False) for c in t.columns]
        table = sa.Table(t.name, meta, *cols, quote=False)
        for n, idx in enumerate(t.indexes):
            sa.Index(f"ix_{t.name.lower()}_{n}", *[table.c[c] for c in idx])
        if t.key:
            sa.Index(f"ux_{t.name.lower()}_key", *[table.c[c] for c in t.key], unique=True)
        if t.has_etl_columns:
            sa.Index(f"ix_{t.name.lower()}_entity", table.c.ETL_ENTITY)
            sa.Index(f"ix_{t.name.lower()}_partition", table.c.ETL_PARTITION)
    return meta


METADATA = build_metadata()


@dataclass
class WriteReport:
    rows: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    skipped_entities: int = 0
    over_length: dict[str, int] = field(default_factory=dict)   # "TABLE.COLUMN" -> count
    refused: dict[str, str] = field(default_factory=dict)       # entity -> the database's reason
    seconds: float = 0.0

    def add(self, other: "WriteReport") -> None:
        for mine, theirs in ((self.rows, other.rows), (self.deleted, other.deleted),
                             (self.over_length, other.over_length)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        self.refused.update(other.refused)


def _refuses_rows(exc: BaseException) -> bool:
    """The database refused the rows themselves (a unique key, a value out of range), as opposed
    to not answering or not being writable."""
    names = {k.__name__ for k in type(getattr(exc, "orig", None) or exc).__mro__}
    return bool(names & {"IntegrityError", "DataError"})


class IdbStore:
    def __init__(self, url: str):
        self.url = url
        self.engine = sa.create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            # one writer at a time, readers never block it
            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):  # noqa: ANN001
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA busy_timeout=60000")
                cur.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self):
        """A transaction; a database error rolls it back and becomes an IdbError naming the IDB
        (password masked) without the rows it was writing (the driver's error is not chained:
        its text would show them in the run's log)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except Exception as exc:
            if not _is_db_error(exc):
                raise
            raise IdbError(f"IDB {redact_url(self.url)}: {describe_db_error(exc)}") from None

    def create_schema(self) -> None:
        """Create the tables that are missing. SQLAlchemy's own check looks for the quoted
        upper-case names, which PostgreSQL folded to lower case, so existence is checked here;
        concurrent writers are serialized like every write (`writing`)."""
        for attempt in range(2):
            try:
                with self.writing(["(schema)"]) as conn:
                    existing = {n.lower() for n in sa.inspect(conn).get_table_names()}
                    missing = [t for t in METADATA.sorted_tables if t.name.lower() not in existing]
                    METADATA.create_all(conn, tables=missing, checkfirst=False)
                    _migrate_reference_tables(conn)
                return
            except (sa.exc.ProgrammingError, IdbError) as exc:
                # created by another writer meanwhile (SQLite has no advisory lock): look again
                if attempt or "already exists" not in str(exc):
                    raise

    # -- reading --------------------------------------------------------------------------------
    def read(self, name: str, where: str | None = None, params: dict | None = None,
             columns: list[str] | None = None) -> pl.DataFrame:
        """The rows of `name` (`where`: an SQL condition with :params); `columns`: only those
        (the others come back null: the frame keeps the table's shape)."""
        table = TABLES[name]
        names = columns or table.column_names
        query = f'SELECT {", ".join(names)} FROM {name}' + (f" WHERE {where}" if where else "")
        with self.engine.connect() as conn:
            result = conn.execute(sa.text(query), params or {})
            rows = result.fetchall()
        frame = pl.DataFrame([tuple(r) for r in rows], schema=list(names), orient="row",
                             infer_schema_length=None) if rows else table.empty()
        return table.conform(frame.with_columns(
            pl.col(c.name).str.to_datetime(strict=False) for c in table.columns
            if c.type == "datetime" and frame.schema.get(c.name) == pl.String))

    def count(self, name: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one())

    def max_of(self, name: str, column: str):
        """The largest value of `column` (None in an empty table)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT MAX({column}) FROM {name}")).scalar_one()

    def count_by_hour(self, name: str, ts_column: str, start: int, end: int) -> dict[int, int]:
        """Rows per hour (its first second, epoch) of those whose `ts_column` (epoch seconds)
        is in [start, end)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                f"SELECT {ts_column} / 3600, COUNT(*) FROM {name} "
                f"WHERE {ts_column} >= :start AND {ts_column} < :end GROUP BY {ts_column} / 3600"),
                {"start": start, "end": end}).fetchall()
        return {int(h) * 3600: int(n) for h, n in rows}

    def row_counts(self, names: Iterable[str]) -> dict[str, int]:
        """Rows per table, as cheaply as the database tells: SQLite counts them (an IDB of the
        size SQLite suits counts in well under a second); PostgreSQL gives its planner's figure
        after ANALYZE (a sample, close to exact; a COUNT(*) would scan years of rows)."""
        names = [n for n in names if n in TABLES]
        if self.dialect != "postgresql":
            return {n: self.count(n) for n in names}
        with self.engine.begin() as conn:
            for n in names:
                conn.execute(sa.text(f"ANALYZE {n}"))
            rows = conn.execute(sa.text(
                "SELECT relname, reltuples FROM pg_class WHERE relname IN :names "
                "AND relkind = 'r'").bindparams(sa.bindparam("names", expanding=True)),
                {"names": [n.lower() for n in names]}).fetchall()
        found = {name.upper(): max(int(tuples), 0) for name, tuples in rows}
        return {n: found.get(n, 0) for n in names}

    # -- writing --------------------------------------------------------------------------------
    @contextmanager
    def writing(self, names: Iterable[str]):
        """A write transaction on the tables `names`, one writer per table at a time: on
        PostgreSQL an advisory lock per table, taken in name order so that two writers never
        wait for each other in a circle; SQLite has one writer per file, so the project's
        writers queue on a lock file beside it (never SQLite's 'database is locked')."""
        with self._sqlite_writer(), self.begin() as conn:
            if self.dialect == "postgresql":
                for name in sorted(set(names)):
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:space, :key)"),
                                 {"space": LOCK_SPACE, "key": zlib.crc32(name.encode()) & 0x7FFFFFFF})
            yield conn

    @contextmanager
    def _sqlite_writer(self):
        database = self.engine.url.database if self.dialect == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        fd = os.open(f"{database}.writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def write_entities(self, frames: dict[str, pl.DataFrame], owners: pl.DataFrame,
                       partitions: Iterable[str], guard: bool = True) -> WriteReport:
        """Replace the entities of `owners` (ETL_ENTITY, and ETL_PARTITION: the hour whose rows
        `frames` hold for it) in the tables of `frames`, as the hours `partitions` leave them."""
        started = time.perf_counter()
        report = WriteReport()
        partitions = sorted(set(partitions))
        owners = owners.select("ETL_ENTITY", "ETL_PARTITION").unique("ETL_ENTITY").sort("ETL_ENTITY")
        with self.writing(frames) as conn:
            self._load_entities(conn, owners)
            skip: set[str] = set()
            if guard:
                for name in frames:
                    skip |= self._owned_later(conn, name)
            report.skipped_entities = len(skip)
            for name in frames:
                # rows these hours wrote before of entities they no longer have (an entity a
                # later partition owns keeps the rows these wrote and that one left as they were)
                report.deleted[name] = conn.execute(sa.text(
                    f"DELETE FROM {name} WHERE ETL_PARTITION IN :ps AND ETL_ENTITY NOT IN "
                    f"(SELECT entity FROM {ENTITY_TEMP})").bindparams(
                        sa.bindparam("ps", expanding=True)), {"ps": partitions}).rowcount
            if skip:
                conn.execute(sa.text(f"DELETE FROM {ENTITY_TEMP} WHERE entity = :e"),
                             [{"e": e} for e in sorted(skip)])
                frames = {n: f.filter(~pl.col("ETL_ENTITY").is_in(list(skip)))
                          for n, f in frames.items()}
                owners = owners.filter(~pl.col("ETL_ENTITY").is_in(list(skip)))
            with self._indexes_after(conn, frames):
                self._write_batch(conn, frames, owners, report)
        report.seconds = time.perf_counter() - started
        return report

    @contextmanager
    def _indexes_after(self, conn, frames: dict[str, pl.DataFrame]):
        """The bulk path of a first load: an empty table about to take many rows loses its
        secondary indexes for the time of the insert and gets them back, built in one pass,
        before the transaction commits. The unique key stays, so a refused row is still found
        row by row (`_write_batch`)."""
        bulk = [METADATA.tables[n] for n, f in frames.items()
                if f.height >= BULK_INDEX_ROWS and self._is_empty(conn, n)]
        dropped = [ix for t in bulk for ix in sorted(t.indexes, key=lambda i: i.name)
                   if not ix.unique]
        for ix in dropped:
            ix.drop(conn)
        yield
        for ix in dropped:
            ix.create(conn)

    @staticmethod
    def _is_empty(conn, name: str) -> bool:
        return conn.execute(sa.text(f"SELECT 1 FROM {name} LIMIT 1")).first() is None

    def _write_batch(self, conn, frames: dict[str, pl.DataFrame], owners: pl.DataFrame,
                     report: WriteReport, loaded: bool = True) -> None:
        """Replace the rows of the entities of `owners` (the entity table holds them when
        `loaded`) inside a savepoint; when the database refuses some row, each half is written
        alone, down to the single entities it refuses (reported, left out)."""
        attempt = WriteReport()
        if not loaded:
            mine = owners["ETL_ENTITY"].implode()
            frames = {n: f.filter(pl.col("ETL_ENTITY").is_in(mine)) for n, f in frames.items()}
        try:
            with conn.begin_nested():
                if not loaded:
                    self._load_entities(conn, owners)
                for name, frame in frames.items():
                    self._replace_rows(conn, TABLES[name], frame, attempt)
        except Exception as exc:  # noqa: BLE001  (only rows the database refuses are isolated)
            if not _refuses_rows(exc) or owners.height == 0:
                raise
            if owners.height == 1:
                report.refused[owners["ETL_ENTITY"][0]] = describe_db_error(exc)
                return
            half = owners.height // 2
            for part in (owners.head(half), owners.tail(owners.height - half)):
                self._write_batch(conn, frames, part, report, loaded=False)
            return
        report.add(attempt)

    def _replace_rows(self, conn, table: Table, frame: pl.DataFrame, report: WriteReport) -> None:
        """Make the batch's entities hold exactly `frame`'s rows, touching only rows that changed:
        an open login session's eight hours of history are not deleted and inserted again, only
        its new rows (rows are compared by id and content hash, ETL_HASH); the rows kept take the
        hour now writing their entity (ETL_PARTITION: the entity's latest hour, on every row)."""
        name, idcol = table.name, table.columns[0].name
        have = conn.execute(sa.text(
            f"SELECT {idcol}, ETL_HASH, ETL_PARTITION FROM {name} "
            f"WHERE ETL_ENTITY IN (SELECT entity FROM {ENTITY_TEMP})")).fetchall()
        have = pl.DataFrame(have, orient="row", schema={idcol: pl.Int64, "ETL_HASH": pl.Int64,
                                                         "ETL_PARTITION": pl.String})
        new = with_row_hash(table, table.conform(frame))
        same = [idcol, "ETL_HASH"]
        gone = have.join(new.select(same), on=same, how="anti")
        if gone.height:
            self._load_ids(conn, gone.select(idcol, "ETL_PARTITION"))
            conn.execute(sa.text(f"DELETE FROM {name} WHERE {idcol} IN (SELECT id FROM {ID_TEMP}) "
                                 f"AND ETL_ENTITY IN (SELECT entity FROM {ENTITY_TEMP})"))
        moved = (have.join(new.select(*same, "ETL_PARTITION"), on=same, suffix="_now")
                 .filter(pl.col("ETL_PARTITION") != pl.col("ETL_PARTITION_now")))
        if moved.height:
            self._load_ids(conn, moved.select(idcol, "ETL_PARTITION_now"))
            conn.execute(sa.text(
                f"UPDATE {name} SET ETL_PARTITION = (SELECT partition FROM {ID_TEMP} "
                f"WHERE id = {name}.{idcol}) WHERE {idcol} IN (SELECT id FROM {ID_TEMP}) "
                f"AND ETL_ENTITY IN (SELECT entity FROM {ENTITY_TEMP})"))
        report.deleted[name] = report.deleted.get(name, 0) + gone.height
        self._insert(conn, table, new.join(have, on=same, how="anti"), report)

    def _load_ids(self, conn, ids: pl.DataFrame) -> None:
        """Row ids (with a partition) in a temporary table."""
        conn.execute(sa.text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {ID_TEMP} "
                             f"(id BIGINT PRIMARY KEY, partition TEXT)"))
        conn.execute(sa.text(f"DELETE FROM {ID_TEMP}"))
        self.bulk_insert(conn, ID_TEMP, ["id", "partition"], ids)

    def replace_all(self, frames: dict[str, pl.DataFrame]) -> WriteReport:
        """Reference tables (configuration, dictionary): the whole table is replaced."""
        report = WriteReport()
        with self.writing(frames) as conn:
            for name, frame in frames.items():
                report.deleted[name] = conn.execute(sa.text(f"DELETE FROM {name}")).rowcount
                self._insert(conn, TABLES[name], frame, report)
        return report

    def replace_where(self, frames: dict[str, pl.DataFrame], column: str, value: str) -> WriteReport:
        """Ledger tables: the rows of one hour (`column` = `value`) are replaced together."""
        report = WriteReport()
        with self.writing(frames) as conn:
            for name, frame in frames.items():
                report.deleted[name] = conn.execute(
                    sa.text(f"DELETE FROM {name} WHERE {column} = :v"), {"v": value}).rowcount
                self._insert(conn, TABLES[name], frame, report)
        return report

    def replace_messages(self, messages: pl.DataFrame, attrs: pl.DataFrame, app: str,
                         partitions: Iterable[str] = ()) -> None:
        """G_LOG_MESSAGES / G_LOG_ATTRS: `app`'s messages about `partitions` (hours) are replaced
        by `messages`; a message without hour replaces the one with its ID."""
        with self.writing(["G_LOG_MESSAGES", "G_LOG_ATTRS"]) as conn:
            hours = [{"app": app, "hour": hour} for hour in partitions]
            if hours:
                where = "APPNAME = :app AND ETL_PARTITION = :hour"
                conn.execute(sa.text(f"DELETE FROM G_LOG_ATTRS WHERE ID IN "
                                     f"(SELECT ID FROM G_LOG_MESSAGES WHERE {where})"), hours)
                conn.execute(sa.text(f"DELETE FROM G_LOG_MESSAGES WHERE {where}"), hours)
            ids = [{"id": i} for i in messages["ID"].to_list()]
            if ids:
                conn.execute(sa.text("DELETE FROM G_LOG_ATTRS WHERE ID = :id"), ids)
                conn.execute(sa.text("DELETE FROM G_LOG_MESSAGES WHERE ID = :id"), ids)
            report = WriteReport()
            self._insert(conn, TABLES["G_LOG_MESSAGES"], messages, report)
            self._insert(conn, TABLES["G_LOG_ATTRS"], attrs, report)

    def delete_in(self, name: str, column: str, values: list[str]) -> int:
        if not values:
            return 0
        with self.writing([name]) as conn:
            return conn.execute(sa.text(f"DELETE FROM {name} WHERE {column} = :v"),
                                [{"v": v} for v in values]).rowcount

    def upsert(self, name: str, frame: pl.DataFrame) -> WriteReport:
        """Insert the rows whose natural key is not there yet (G_TIMECODE, remote locations);
        of rows with one key, the last."""
        report = WriteReport()
        table = TABLES[name]
        if frame.height == 0:
            return report
        key = list(table.key)
        with self.writing([name]) as conn:
            have = self.read(name).select(key)
            new = frame.unique(key, keep="last", maintain_order=True).join(have, on=key, how="anti")
            self._insert(conn, table, new, report)
        return report

    def _load_entities(self, conn, owners: pl.DataFrame) -> None:
        """The batch's entities (ETL_ENTITY, with the hour ETL_PARTITION each is written for) in
        a temporary table."""
        conn.execute(sa.text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {ENTITY_TEMP} "
                             f"(entity TEXT PRIMARY KEY, partition TEXT)"))
        conn.execute(sa.text(f"DELETE FROM {ENTITY_TEMP}"))
        self.bulk_insert(conn, ENTITY_TEMP, ["entity", "partition"],
                          owners.select("ETL_ENTITY", "ETL_PARTITION"))

    @staticmethod
    def _owned_later(conn, name: str) -> set[str]:
        """Entities of the batch that a later hour than the batch's has written."""
        rows = conn.execute(sa.text(
            f"SELECT DISTINCT t.ETL_ENTITY FROM {name} t JOIN {ENTITY_TEMP} e "
            f"ON t.ETL_ENTITY = e.entity WHERE t.ETL_PARTITION > e.partition"))
        return {r[0] for r in rows}

    def _insert(self, conn, table: Table, frame: pl.DataFrame, report: WriteReport) -> None:
        frame = table.conform(frame)
        report.rows[table.name] = report.rows.get(table.name, 0) + frame.height
        for col in table.columns:
            limit = IDB_LENGTH.get(col.type)
            if limit is not None and frame.height:
                n = int(frame.select((pl.col(col.name).str.len_chars() > limit).sum()).item() or 0)
                if n:
                    key = f"{table.name}.{col.name}"
                    report.over_length[key] = report.over_length.get(key, 0) + n
        if frame.height == 0:
            return
        if table.key:
            # in key order the unique index grows at its end instead of at random pages
            # (measured 2x faster inserts of a day's G_USERDATA_HISTORY on SQLite)
            frame = frame.sort(list(table.key))
        self.bulk_insert(conn, table.name, table.column_names, self._as_text_times(table, frame))

    def _as_text_times(self, table: Table, frame: pl.DataFrame) -> pl.DataFrame:
        """Times as text, to the millisecond (SQLAlchemy's SQLite DateTime reads six digits)."""
        digits = "000" if self.dialect == "sqlite" else ""
        return frame.with_columns(pl.col(c.name).dt.strftime("%Y-%m-%d %H:%M:%S.%3f") + digits
                                  for c in table.columns if c.type == "datetime")

    def bulk_insert(self, conn, name: str, columns: list[str], frame: pl.DataFrame) -> None:
        """Insert `frame` (times already text) into `name` inside `conn`'s transaction as fast as the database takes rows: COPY on
        PostgreSQL (measured ~7x faster than Core inserts), one prepared statement on SQLite."""
        if frame.height == 0:
            return
        cols = ", ".join(columns)
        raw = conn.connection.driver_connection
        if self.dialect == "postgresql":
            buf = io.BytesIO()
            # strings quoted: an unquoted \N is NULL, so a string that reads `\N` stays a string
            frame.write_csv(buf, include_header=False, null_value=r"\N", quote_style="non_numeric")
            with raw.cursor() as cur:
                with cur.copy(f"COPY {name} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
                    copy.write(buf.getvalue())
        else:
            # a column with no value is left to its default (NULL): binding values is most of
            # an insert's cost here, and IDB tables carry several columns a deployment never fills
            filled = [i for i, s in enumerate(frame.iter_columns())
                      if s.null_count() < frame.height] or [0]
            marks = ", ".join("?" for _ in filled)
            raw.executemany(f"INSERT INTO {name} ({', '.join(columns[i] for i in filled)}) "
                            f"VALUES ({marks})", frame.select(pl.nth(filled)).iter_rows())


def _migrate_reference_tables(conn) -> None:
    """GC_* / GCX_* tables an older icon-etl made: the columns they lack are added and their
    indexes made as defined now (GCX_*: the key is ID); their rows, and any view over them,
    stay (the next load rewrites the rows whole from the snapshot)."""
    inspector = sa.inspect(conn)
    cfg = {t.name.lower(): t for t in METADATA.sorted_tables if TABLES[t.name].role == "cfg"}
    actual = [n for n in inspector.get_table_names() if n.lower() in cfg]
    # one catalogue query for every table (this runs whenever a store is opened)
    columns = {name: cols for (_, name), cols in
               inspector.get_multi_columns(filter_names=actual).items()}
    all_indexes = {name: found for (_, name), found in
                   inspector.get_multi_indexes(filter_names=actual).items()}
    for name in actual:
        t = cfg[name.lower()]
        have = {c["name"].upper() for c in columns.get(name, [])}
        for column in t.columns:
            if column.name.upper() not in have:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {t.name} ADD COLUMN {column.name} {kind}"))
        indexes = {i["name"].lower(): [c.upper() for c in i["column_names"]]
                   for i in all_indexes.get(name, [])}
        for index in t.indexes:
            found = indexes.get(index.name.lower())
            if found == [c.name.upper() for c in index.columns]:
                continue
            if found is not None:
                index.drop(conn)
            index.create(conn)
