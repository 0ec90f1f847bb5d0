"""A chunk of a role as a job a worker process can run (everything it needs is named or
carried in the job, nothing is shared): what the role assets hand to a pool of workers, or run
in their own process when there is one worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from transforms.config import load_options, load_snapshot, spec_from_options
from transforms.datafolder import DataFolder
from transforms.hours import hour_start, keys_between
from transforms.parsing import worker_pool
from transforms.roles.carry import Window
from transforms.roles import DataFilters
from transforms.roles.chunk import run_chunk, staged_tables
from transforms.roles.gcc.build import EVENT_COLUMNS as GCC_COLUMNS
from transforms.roles.gcc.build import build_gcc
from transforms.roles.gls.build import EVENT_COLUMNS as GLS_COLUMNS
from transforms.roles.gls.build import PARTY_LOOKUP, build_gls, gls_kvpairs
from transforms.roles.gos.build import EVENT_COLUMNS as GOS_COLUMNS
from transforms.roles.gos.build import build_gos
from transforms.roles.gos.chains import chain_kvpairs
from transforms.roles.gud.build import EVENT_COLUMNS as GUD_COLUMNS
from transforms.roles.gud.build import build_gud
from transforms.roles.lookback import Lookback, gcc_lookback, gls_lookback, gos_lookback
from transforms.roles.result import RoleResult
from transforms.roles.tables import ROLE_TABLES

# what gud reads of gcc: the parties and histories of the calls of its window
GUD_READS = ["G_PARTY", "G_PARTY_HISTORY", "G_CALL_HISTORY"]


@dataclass(frozen=True)
class RoleJob:
    role: str
    keys: tuple[str, ...]
    data_dir: str
    snapshot: str | None
    options: str | None
    sessions: pl.DataFrame            # every replica's data source sessions (clock)
    reconciled: pl.DataFrame          # the reconciled stream's sessions
    dss_ends: pl.DataFrame            # dss_id, end_ts, end_src of the sessions that ended


@dataclass
class JobSummary:
    """What a job did (small: it comes back from a worker process)."""

    keys: tuple[str, ...]
    events: int = 0
    earlier_events: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    open_entities: int = 0
    preview: pl.DataFrame | None = None     # a few rows of the role's main table


PREVIEW = {"gcc": ("G_CALL", ["CALLID", "CALLTYPE", "STATE", "CREATED", "TERMINATED",
                              "PARENTCALLID", "MERGECALLID"]),
           "gls": ("G_LOGIN_SESSION", ["LOGINSESSIONID", "AGENTID", "STATE", "CREATED",
                                       "TERMINATED", "ETL_CLOSED_BY"]),
           "gos": ("GO_CAMPAIGN", ["SESSID", "CAMPAIGNID", "GROUPID", "STATE", "DIALMODE",
                                   "CREATED", "TERMINATED"])}


def _first_data(sessions: pl.DataFrame) -> datetime | None:
    return sessions["start_ts"].min() if sessions.height else None


def _window_hours(lookback: Lookback, keys: tuple[str, ...]) -> list[str]:
    first = hour_start(lookback.hours[0]) if lookback.hours else hour_start(keys[0])
    return keys_between(first, hour_start(keys[-1]))


def run_job(job: RoleJob) -> JobSummary:
    """Build and keep one chunk of one role (transforms/roles/chunk.py)."""
    data = DataFolder(Path(job.data_dir))
    config = load_snapshot(job.snapshot)
    options = load_options(job.options)
    keys = list(job.keys)
    if job.role not in options.roles():
        # `[callconcentrator] role` leaves the role out: its hours are done, with no rows
        chunk = run_chunk(data, job.role, keys, Lookback.nothing(),
                          lambda window, part: RoleResult.empty(ROLE_TABLES[job.role]),
                          columns=("file_id", "line", "ts"))
        return JobSummary(job.keys, chunk.events, 0, chunk.result.rows_per_table())
    if job.role in ("gcc", "gud"):
        lookback = gcc_lookback(data, keys[0], _first_data(job.sessions),
                                options.gcc().max_call_idle)
    elif job.role == "gos":
        lookback = gos_lookback(data, keys[0], job.reconciled)
    else:
        lookback = gls_lookback(data, keys[0], job.reconciled, options.gls().max_duration)
    narrow = columns = None
    if job.role == "gcc":
        monitored = set(job.sessions["switch"].unique().to_list())

        def build(window: Window, part: str) -> RoleResult:
            return build_gcc(window.events, window.kvpairs, config.at(hour_start(part)), part,
                             options.gcc(), monitored)
        columns = GCC_COLUMNS
    elif job.role == "gud":
        gcc = _staged(data, "gcc", "gud", _window_hours(lookback, job.keys), GUD_READS)
        spec = spec_from_options(options)
        history = options.get("callconcentrator", "adata-userdata-history")

        def build(window: Window, part: str) -> RoleResult:
            return build_gud(window.events, window.kvpairs, config.at(hour_start(part)), gcc,
                             spec, history, part)
        columns = GUD_COLUMNS
    elif job.role == "gos":
        def build(window: Window, part: str) -> RoleResult:
            return build_gos(window.events, window.kvpairs, config.at(hour_start(part)), part,
                             job.dss_ends)

        def narrow(window: Window) -> Window:
            return Window(window.events, chain_kvpairs(window.kvpairs))
        columns = GOS_COLUMNS
    else:
        parties = _staged(data, "gcc", "gls", _window_hours(lookback, job.keys), ["G_PARTY"])
        lookup = parties.tables["G_PARTY"].select(PARTY_LOOKUP) if parties.tables["G_PARTY"].height \
            else pl.DataFrame(schema={c: pl.String for c in PARTY_LOOKUP})

        def build(window: Window, part: str) -> RoleResult:
            return build_gls(window.events, window.kvpairs, config.at(hour_start(part)), part,
                             options, lookup, job.dss_ends)

        def narrow(window: Window) -> Window:
            return Window(window.events, gls_kvpairs(window.events, window.kvpairs))
        columns = GLS_COLUMNS
    chunk = run_chunk(data, job.role, keys, lookback,
                      _filtered(build, job.role, DataFilters.from_options(options)), narrow,
                      columns)
    table, shown = PREVIEW.get(job.role, (None, []))
    preview = chunk.result.tables[table].select(shown).head(10) if table else None
    return JobSummary(job.keys, chunk.events, chunk.earlier_events,
                      chunk.result.rows_per_table(), chunk.result.open_entities, preview)


def _filtered(build, role: str, filters: DataFilters):
    """`build` less the rows `[filter-data]` leaves out before an hour is kept (observers)."""
    def run(window: Window, part: str) -> RoleResult:
        result = build(window, part)
        result.tables = filters.before_staging(role, result.tables)
        return result
    return run


def _staged(data: DataFolder, role: str, needed: str, keys: list[str],
            names: list[str]) -> RoleResult:
    return RoleResult(*staged_tables(data, role, keys, names, needed))


def run_jobs(jobs: list[RoleJob], workers: int) -> Iterator[tuple[RoleJob, JobSummary | BaseException]]:
    """Each job's summary, or the exception it raised, as the jobs finish (in worker processes
    when `workers` > 1)."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            try:
                yield job, run_job(job)
            except Exception as exc:  # noqa: BLE001  (the caller records it for the job's hours)
                yield job, exc
        return
    from concurrent.futures import as_completed

    with worker_pool(min(workers, len(jobs))) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except Exception as exc:  # noqa: BLE001
                yield job, exc

