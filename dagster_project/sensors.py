"""The log-folder sensor: new or changed segments — also late files for past hours — bring the
IDB up to date, in two steps.

1. A file in a replica folder is new, changed or gone (size or modification time differ from the
   registry): register the segments (the unpartitioned assets: registry and parse cache, data
   source sessions, reference tables).
2. The registry holds segments it did not hold at the last evaluation (the cursor keeps each
   segment's SHA-256): process every hour from the first one they touch to the last hour with
   data, in one ranged run. Hours after the changed ones are included because each hour continues
   from the one before (docs/architecture.md). The hour still in progress is left to the
   schedule.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import dagster as dg
import polars as pl

from assets.resources import LogStorage
from dagster_project.runner import RANGE_END, RANGE_START
from transforms.hours import HOUR, hour_of, key_of
from transforms.parsing import discover


def folder_changes(logs: LogStorage) -> list[str]:
    """Paths (replica/relative) that are new, changed or gone compared with the registry."""
    changed = []
    for replica, root in logs.replica_folders().items():
        reg = logs.segments(replica).registry()
        known = {p: (s, m) for p, s, m in reg.select("path", "size_bytes", "mtime_ns").iter_rows()}
        seen = set()
        for path in discover([root]) if root.is_dir() else []:
            rel = str(path.relative_to(root))
            seen.add(rel)
            stat = path.stat()
            if known.get(rel) != (stat.st_size, stat.st_mtime_ns):
                changed.append(f"{replica}/{rel}")
        changed += [f"{replica}/{p}" for p in known if p not in seen]
    return sorted(changed)


def registered(logs: LogStorage) -> dict[str, str]:
    """replica/path -> SHA-256 of every registered segment."""
    out = {}
    for replica in logs.replica_folders():
        reg = logs.segments(replica).registry()
        out.update({f"{replica}/{p}": h for p, h in reg.select("path", "sha256").iter_rows()})
    return out


def affected_hours(logs: LogStorage, before: dict[str, str], now: datetime) -> tuple[str, str] | None:
    """First and last hour to process after the registry changed from `before`: from the first
    hour a new or changed segment touches to the last complete hour with data."""
    firsts, lasts = [], []
    for replica in logs.replica_folders():
        reg = logs.segments(replica).registry().filter(
            pl.col("duplicate_of").is_null() & pl.col("first_ts").is_not_null())
        for path, sha, first, last in reg.select("path", "sha256", "first_ts", "last_ts").iter_rows():
            lasts.append(last)
            if before.get(f"{replica}/{path}") != sha:
                firsts.append(first)
    if not firsts:
        return None
    complete = hour_of(now) - HOUR
    start, end = hour_of(min(firsts)), min(hour_of(max(lasts)), complete)
    return (key_of(start), key_of(end)) if start <= end else None


@dg.sensor(job_name="icon_hourly", minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="New, changed or late log segments: register them, then reprocess the "
                       "hours they touch and every hour after them.")
def log_folder_sensor(context: dg.SensorEvaluationContext, logs: LogStorage):
    changes = folder_changes(logs)
    if changes:
        digest = hashlib.sha256("\n".join(changes).encode()).hexdigest()[:16]
        return dg.SensorResult(run_requests=[dg.RunRequest(
            run_key=f"register-{digest}", job_name="icon_register",
            tags={"icon/changed_files": str(len(changes))})])
    now = registered(logs)
    before = json.loads(context.cursor) if context.cursor else {}
    if now == before:
        return dg.SkipReason("no new or changed log segments")
    hours = affected_hours(logs, before, datetime.now(timezone.utc))
    requests = []
    if hours:
        start, end = hours
        digest = hashlib.sha256(json.dumps(now, sort_keys=True).encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(run_key=f"hours-{digest}", job_name="icon_hourly",
                                      tags={RANGE_START: start, RANGE_END: end}))
        context.log.info(f"segments changed: processing {start} .. {end}")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(now, sort_keys=True))
