"""The data folder (ICON_DATA_DIR): every path under it, its atomic writes and its staged reads.
No other module joins a path under the data folder; they ask this one.

    <data>/
      <replica>/segments.parquet             the segment registry (transforms.segments.store)
      <replica>/segment_ids.parquet          SHA-256 -> segment_id, stable across refreshes
      <replica>/segments_skipped.parquet     what the folder holds but is never read
      <replica>/segment_cache/<parse key>/   one segment's parse (the `icon-etl parse` layout)
      <replica>/parsed/<hour>/               the replica's events, KV pairs, standard events of an hour
      ha/sessions.parquet                    data source sessions of every replica
      ha/clock_offsets.parquet               each replica's clock against the first
      ha/coverage/<hour>.parquet             ETL_COVERAGE rows of an hour
      ha/reconcile/<hour>.parquet            ETL_RECONCILE rows of an hour
      ha/events/<hour>/                      the reconciled events and KV pairs of an hour, and
                                             each role's index of them (index_<role>)
      reconciled/<role>/<hour>/              a role's hour: tables/<TABLE>, status
      failures/<stage>/<hour>.json           why a stage could not do an hour (until it can)
      .lock, .lock.json                      one command at a time (Dagster steps share it),
                                             and who holds it
      .register-<replica>.lock               one registration of a replica at a time
      idb.json                               the IDB this data folder belongs to

`<hour>` is the partition key without colons (`2026-03-10-09:00` -> `2026-03-10-0900`). Every
write goes to a `.partial` (or `.tmp`) name first and is renamed into place, so a reader sees the
old content or the new, never half of one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

STAGING_SUFFIX = ".partial"


class DataFolderBusy(RuntimeError):
    """Another run holds the data folder (the message names it)."""


# -- atomic writes -------------------------------------------------------------------------------

def write_frame(path: Path, frame: pl.DataFrame, **parquet) -> None:
    """One Parquet file, written aside and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")   # two writers never share one
    frame.write_parquet(tmp, **parquet)
    tmp.replace(path)


def swap_in(staging: Path, final: Path) -> None:
    """Put a completely written folder in place of `final` (whatever `final` held goes): the old
    folder is renamed aside first, so that `final` is never missing for longer than a rename,
    and two writers of the same folder end with one whole folder."""
    if final.exists():
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        try:
            final.rename(old)
        except FileNotFoundError:          # another writer moved it meanwhile
            old = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    try:
        staging.rename(final)
    except OSError:                         # another writer's folder came first: keep it
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def staged_folder(final: Path, staging: Path | None = None) -> Iterator[Path]:
    """A folder filled in a staging place and swapped in place of `final` when the block ends
    without an error (an error leaves `final` as it was and removes the staging folder)."""
    if staging is None:
        _discard_dead_stagings(final)
        staging = final.with_name(f"{final.name}.{os.getpid()}{STAGING_SUFFIX}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, final)


def _discard_dead_stagings(final: Path) -> None:
    """Staging folders of `final` that a process left when it was killed (its pid is gone)."""
    if not final.parent.is_dir():
        return
    for path in final.parent.glob(f"{final.name}.*{STAGING_SUFFIX}"):
        pid = path.name[len(final.name) + 1:-len(STAGING_SUFFIX)]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_frames(final: Path, frames: dict[str, pl.DataFrame]) -> None:
    """A folder of Parquet files (`name` may hold a sub-folder: `tables/G_CALL`), atomically."""
    with staged_folder(final) as staging:
        for name, frame in frames.items():
            path = staging / f"{name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(path)


def write_text(path: Path, text: str) -> None:
    """A small text file, written aside and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def read_frames(folder: Path, names: Iterable[str],
                columns: Mapping[str, Sequence[str]] | None = None) -> dict[str, pl.DataFrame] | None:
    """The named frames of a folder `write_frames` wrote, or None when it was never written;
    `columns`: only these columns of some of them."""
    names = list(names)
    if not (folder / f"{names[0]}.parquet").exists():
        return None
    return {name: pl.read_parquet(folder / f"{name}.parquet", columns=(columns or {}).get(name))
            for name in names}


def read_frame(path: Path) -> pl.DataFrame | None:
    return pl.read_parquet(path) if path.exists() else None


def hour_name(partition_key: str) -> str:
    """A partition key as a file name (no colons: portable to every file system)."""
    return partition_key.replace(":", "")


def hour_key(name: str) -> str:
    """The partition key of an hour's file name (`hour_name` undone)."""
    return f"{name[:13]}:{name[13:]}"


def entry_report(entry: Path) -> Path:
    """A parse-cache entry's line ledger and time span (JSON; written last: the entry is done)."""
    return entry / "report.json"


def entry_skeleton(entry: Path) -> Path:
    """A parse-cache entry's reduced skeleton (what data source sessions read of it)."""
    return entry / "skeleton.parquet"


# -- one replica ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReplicaData:
    """What the data folder holds of one replica: its segment registry, parse cache and hours."""

    folder: Path

    @property
    def registry(self) -> Path:
        return self.folder / "segments.parquet"

    @property
    def segment_ids(self) -> Path:
        return self.folder / "segment_ids.parquet"

    @property
    def skipped(self) -> Path:
        return self.folder / "segments_skipped.parquet"

    @property
    def cache(self) -> Path:
        return self.folder / "segment_cache"

    def cache_entry(self, parse_key: str) -> Path:
        return self.cache / parse_key

    def cache_staging(self, parse_key: str) -> Path:
        """Where a segment's parse is written before it is renamed to its entry."""
        return self.cache / f".{parse_key}{STAGING_SUFFIX}"

    def cache_entries(self) -> list[Path]:
        """Every entry of the parse cache (staging folders excluded)."""
        if not self.cache.exists():
            return []
        return [p for p in self.cache.iterdir() if not p.name.startswith(".")]

    def parsed_hour(self, partition_key: str) -> Path:
        return self.folder / "parsed" / hour_name(partition_key)


WINDOW_FRAMES = ("events", "kvpairs")
ROLE_STATUS = "status"
# the IDB ledger tables written per hour by the HA stage, and their folders
LEDGERS = {"ETL_COVERAGE": "coverage", "ETL_RECONCILE": "reconcile"}


# -- the whole folder ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DataFolder:
    """The data folder of one IDB: per replica (`replica`), HA, and the roles' hours."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    def replica(self, name: str) -> ReplicaData:
        return ReplicaData(self.root / name)

    # parsed hours of a replica
    def write_parsed_hour(self, replica: str, partition_key: str,
                          frames: dict[str, pl.DataFrame]) -> None:
        write_frames(self.replica(replica).parsed_hour(partition_key), frames)

    def parsed_hour(self, replica: str, partition_key: str) -> dict[str, pl.DataFrame] | None:
        """A replica's parsed events and KV pairs of an hour (None: not materialized)."""
        return read_frames(self.replica(replica).parsed_hour(partition_key), WINDOW_FRAMES)

    def parsed_events_file(self, replica: str, partition_key: str) -> Path:
        return self.replica(replica).parsed_hour(partition_key) / "events.parquet"

    def discard_parsed_hour(self, replica: str, partition_key: str) -> None:
        shutil.rmtree(self.replica(replica).parsed_hour(partition_key), ignore_errors=True)

    # HA
    @property
    def ha(self) -> Path:
        return self.root / "ha"

    def write_clock(self, sessions: pl.DataFrame, offsets: pl.DataFrame) -> None:
        write_frame(self.ha / "sessions.parquet", sessions)
        write_frame(self.ha / "clock_offsets.parquet", offsets)

    def clock(self) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        """(data source sessions, clock offsets), or None before they are derived."""
        if not (self.ha / "sessions.parquet").exists():
            return None
        return (pl.read_parquet(self.ha / "sessions.parquet"),
                pl.read_parquet(self.ha / "clock_offsets.parquet"))

    def _ledger(self, table: str, partition_key: str) -> Path:
        return self.ha / LEDGERS[table] / f"{hour_name(partition_key)}.parquet"

    def write_ledger(self, table: str, partition_key: str, frame: pl.DataFrame) -> None:
        """An hour's rows of a ledger table (`LEDGERS`: ETL_COVERAGE, ETL_RECONCILE)."""
        write_frame(self._ledger(table, partition_key), frame)

    def ledger(self, table: str, partition_key: str) -> pl.DataFrame | None:
        return read_frame(self._ledger(table, partition_key))

    def _reconciled(self, partition_key: str) -> Path:
        return self.ha / "events" / hour_name(partition_key)

    def write_reconciled_hour(self, partition_key: str, events: pl.DataFrame,
                              kvpairs: pl.DataFrame) -> None:
        write_frames(self._reconciled(partition_key), {"events": events, "kvpairs": kvpairs})

    def reconciled_hour(self, partition_key: str, event_columns: Sequence[str] | None = None
                        ) -> dict[str, pl.DataFrame] | None:
        """The reconciled events (all their columns, or `event_columns`) and KV pairs of an
        hour (what the roles read), or None."""
        return read_frames(self._reconciled(partition_key), WINDOW_FRAMES,
                           {"events": event_columns} if event_columns else None)

    def reconciled_hour_exists(self, partition_key: str) -> bool:
        return self.reconciled_events_file(partition_key).exists()

    def role_index(self, role: str, partition_key: str) -> pl.DataFrame | None:
        """A role's index of a reconciled hour (transforms/roles/lookback.py), or None."""
        return read_frame(self._reconciled(partition_key) / f"index_{role}.parquet")

    def write_role_index(self, role: str, partition_key: str, index: pl.DataFrame) -> None:
        write_frame(self._reconciled(partition_key) / f"index_{role}.parquet", index)

    def reconciled_event_count(self, partition_key: str) -> int:
        """Events of a reconciled hour, from the file's footer (nothing else is read)."""
        path = self.reconciled_events_file(partition_key)
        return pl.scan_parquet(path).select(pl.len()).collect().item() if path.exists() else 0

    def reconciled_events_file(self, partition_key: str) -> Path:
        return self._reconciled(partition_key) / "events.parquet"

    def discard_reconciled_hour(self, partition_key: str) -> None:
        """The hour's reconciled events and its ETL_RECONCILE rows."""
        shutil.rmtree(self._reconciled(partition_key), ignore_errors=True)
        self._ledger("ETL_RECONCILE", partition_key).unlink(missing_ok=True)

    # the roles' hours
    def _role_hour(self, role: str, partition_key: str) -> Path:
        return self.root / "reconciled" / role / hour_name(partition_key)

    def write_role_hour(self, role: str, partition_key: str, tables: dict[str, pl.DataFrame],
                        status: pl.DataFrame) -> None:
        """A role's output of one hour: its tables and the status of each entity it keeps —
        replaced together."""
        write_frames(self._role_hour(role, partition_key), {
            **{f"tables/{name}": frame for name, frame in tables.items()}, ROLE_STATUS: status})

    def role_hour(self, role: str, partition_key: str
                  ) -> tuple[dict[str, pl.DataFrame], pl.DataFrame] | None:
        """A role's (tables, status) of an hour, or None when it was not materialized."""
        folder = self._role_hour(role, partition_key)
        status = read_frame(folder / f"{ROLE_STATUS}.parquet")
        if status is None:
            return None
        tables = {p.stem: pl.read_parquet(p) for p in sorted((folder / "tables").glob("*.parquet"))}
        return tables, status

    def discard_role_hour(self, role: str, partition_key: str) -> None:
        shutil.rmtree(self._role_hour(role, partition_key), ignore_errors=True)

    def role_hours(self, role: str) -> list[str]:
        """The hours a role has written, in order."""
        folder = self.root / "reconciled" / role
        if not folder.is_dir():
            return []
        return sorted(hour_key(p.name) for p in folder.iterdir()
                      if (p / f"{ROLE_STATUS}.parquet").exists())

    def role_table_file(self, role: str, partition_key: str, name: str) -> Path:
        """Where a role's hour keeps one IDB table's rows (what the IDB writer reads)."""
        return self._role_hour(role, partition_key) / "tables" / f"{name}.parquet"

    def role_status(self, role: str, partition_key: str) -> pl.DataFrame | None:
        """The entity status (entity, open, [group]) a role's hour wrote, or None."""
        return read_frame(self._role_hour(role, partition_key) / f"{ROLE_STATUS}.parquet")

    def _failure(self, stage: str, partition_key: str) -> Path:
        folder = self.root / "failures" / stage.replace("/", "__")
        return folder / f"{hour_name(partition_key)}.json"

    def write_failure(self, stage: str, partition_key: str, cause: str) -> None:
        write_text(self._failure(stage, partition_key),
                   json.dumps({"stage": stage, "hour": partition_key, "cause": cause}))

    def clear_failure(self, stage: str, partition_key: str) -> None:
        self._failure(stage, partition_key).unlink(missing_ok=True)

    def failure(self, stage: str, partition_key: str) -> str | None:
        path = self._failure(stage, partition_key)
        return json.loads(path.read_text())["cause"] if path.exists() else None

    def failures(self, hours: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        """(stage, hour, cause) of every failure on record (of `hours` only, when given), in
        hour and stage order."""
        folder = self.root / "failures"
        wanted = None if hours is None else {hour_name(h) for h in hours}
        found = []
        for path in sorted(folder.glob("*/*.json")) if folder.is_dir() else []:
            if wanted is None or path.stem in wanted:
                doc = json.loads(path.read_text())
                found.append((doc["stage"], doc["hour"], doc["cause"]))
        return sorted(found, key=lambda f: (f[1], f[0]))

    # one command at a time; Dagster steps share
    def _holder_file(self) -> Path:
        return self.root / ".lock.json"

    def holder(self) -> str | None:
        """Who holds the data folder (as its holder described itself), if anyone said."""
        try:
            doc = json.loads(self._holder_file().read_text())
        except (OSError, ValueError):
            return None
        return f"{doc['holder']} (pid {doc['pid']} on {doc['host']}, since {doc['since']})"

    @contextmanager
    def lock(self, holder: str, wait: bool = True, on_wait: Callable[[str], None] | None = None,
             shared: bool = False) -> Iterator[None]:
        """Hold the data folder: another process asking for it waits (saying who holds it
        through `on_wait`) or, with `wait=False`, gets DataFolderBusy. An `icon-etl` command
        holds it alone; the steps of Dagster runs hold it `shared` (hours are independent and
        the IDB writers take their own locks, so steps of one run, or of several, may run at
        once), and wait while a command holds it. The operating system releases the lock when
        its holder ends, however it ends."""
        with self._flock(".lock", fcntl.LOCK_SH if shared else fcntl.LOCK_EX,
                         f"data folder {self.root}", wait, on_wait):
            mine = json.dumps({"holder": holder, "pid": os.getpid(), "host": socket.gethostname(),
                               "since": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            write_text(self._holder_file(), mine)
            try:
                yield
            finally:
                with suppress(OSError):             # a shared holder clears only its own name
                    if self._holder_file().read_text() == mine:
                        self._holder_file().unlink()

    @contextmanager
    def registering(self, replica: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """One registration of `replica`'s segments at a time (runs that share the data folder
        may start one each)."""
        with self._flock(f".register-{replica}.lock", fcntl.LOCK_EX,
                         f"the segment registry of replica {replica!r}", True, on_wait):
            yield

    @contextmanager
    def _flock(self, name: str, mode: int, what: str, wait: bool,
               on_wait: Callable[[str], None] | None) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                busy = f"{what} is in use by {self.holder() or 'another run'}"
                if not wait:
                    raise DataFolderBusy(busy) from None
                if on_wait is not None:
                    on_wait(f"{busy}; waiting for it to finish ...")
                fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    # the IDB this data folder belongs to
    def idb_marker(self) -> dict | None:
        path = self.root / "idb.json"
        return json.loads(path.read_text()) if path.exists() else None

    def write_idb_marker(self, marker: dict) -> None:
        write_text(self.root / "idb.json", json.dumps(marker, indent=1))
