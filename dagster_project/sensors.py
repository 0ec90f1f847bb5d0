"""The sensors: the log folder's, the freshness of the IDB, and the runs that failed.

The log-folder sensor: new or changed segments — also late files for past hours — bring the
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

from assets.failures import cause_of
from assets.monitoring import freshness_now
from assets.resources import IconConfig, Idb, LogStorage
from dagster_project.alerts import Alerts
from dagster_project.runner import RANGE_END, RANGE_START, step_cause
from transforms.hours import HOUR, hour_of, key_of
from transforms.idb import LogMessage, message_frames
from transforms.idb.dictionary import LogCategory, LogMessageId, LogPriority
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


def tell(idb: Idb, alerts: Alerts, message: LogMessage, log) -> None:
    """Record `message` in the IDB's G_LOG_MESSAGES, then send it to the alert channels. An IDB
    that cannot take it (often why a run failed) does not keep the alert from going out."""
    details = dict(message.attrs)
    try:
        idb.store().replace_messages(*message_frames([message]), message.app)
    except Exception as exc:  # noqa: BLE001  (said in the alert and the sensor's log)
        problem = cause_of(exc)
        log.warning(f"not recorded in the IDB: {problem}")
        details["NOT_RECORDED"] = f"G_LOG_MESSAGES could not be written: {problem}"
    for problem in alerts.send(f"[icon-etl] {message.text.splitlines()[0][:150]}", message.text,
                               details):
        log.warning(f"alert not sent: {problem}")


@dg.sensor(name="icon_freshness", job_name="icon_monitor", minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 5 minutes: is the IDB behind the logs by more than [icon-etl] "
                       "freshness-max-lag-minutes? When the answer changes, runs the freshness "
                       "check; when loading falls behind, records it in G_LOG_MESSAGES and "
                       "sends an alert.")
def freshness_sensor(context: dg.SensorEvaluationContext, logs: LogStorage, idb: Idb,
                     icon: IconConfig, alerts: Alerts):
    report = freshness_now(logs, idb.store(), icon)
    state = json.dumps({"passed": report.passed,
                        "loaded": report.metadata.get("last_loaded_hour")}, sort_keys=True)
    if state == context.cursor:
        return dg.SkipReason(f"unchanged: {report.description}")
    was_fresh = json.loads(context.cursor)["passed"] if context.cursor else True
    if was_fresh and not report.passed:
        tell(idb, alerts, LogMessage(
            LogMessageId.LOAD_STALE, "icon-etl icon_freshness", state, report.description,
            datetime.now(timezone.utc), LogPriority.ALARM, LogCategory.ALARM,
            attrs={k: str(v) for k, v in report.metadata.items()}), context.log)
    context.log.info(report.description)
    # the hourly runs evaluate the check themselves; this run is for when they stop coming
    flipped = was_fresh != report.passed     # (a first look that finds it fresh runs nothing)
    key = f"freshness-{hashlib.sha256(state.encode()).hexdigest()[:16]}"
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=key)] if flipped else [],
                           cursor=state)


@dg.run_failure_sensor(name="icon_run_failures", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="A run of this code location failed: record it in the IDB's "
                                   "G_LOG_MESSAGES (with its failed steps in G_LOG_ATTRS) and "
                                   "send an alert (ICON_ALERT_WEBHOOK, ICON_ALERT_EMAIL).")
def run_failure_sensor(context: dg.RunFailureSensorContext, idb: Idb, alerts: Alerts):
    tell(idb, alerts, failure_message(context), context.log)


def failure_message(context: dg.RunFailureSensorContext) -> LogMessage:
    """The G_LOG_MESSAGES row of a failed run: the job, its hours, why, and the steps that
    failed (one attribute each)."""
    run = context.dagster_run
    tags = run.tags
    hours = (f"{tags[RANGE_START]} .. {tags[RANGE_END]}" if RANGE_START in tags
             else tags.get("dagster/partition", ""))
    why = (context.failure_event.message or "").strip()
    steps = {f"STEP {e.step_key}": step_cause(e)[:4000] for e in context.get_step_failure_events()}
    text = f"run {run.run_id} of {run.job_name} failed" + (f" ({hours})" if hours else "") \
        + f": {why}"
    return LogMessage(
        LogMessageId.RUN_FAILED, f"icon-etl {run.job_name}", run.run_id, text,
        datetime.now(timezone.utc), LogPriority.ALARM, LogCategory.ALARM, run_id=run.run_id,
        attrs={"JOB": run.job_name, "RUN_ID": run.run_id, "HOURS": hours, **steps})
