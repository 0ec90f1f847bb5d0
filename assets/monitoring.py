"""Monitoring as asset checks (quality/monitoring.py says what each judges):

* `freshness` on idb/ETL_COVERAGE, not partitioned: the IDB against the newest logged event.
  Every run evaluates it, and the sensor `icon_freshness` (dagster_project/sensors.py) runs it
  on its own when the answer changes;
* `coverage_gaps` on idb/ETL_COVERAGE and `call_volume` on idb/G_CALL, per hour like the quality
  suites: a ranged run records each hour's evaluation on its partition.
"""

from collections.abc import Iterator
from datetime import datetime, timezone

import dagster as dg
import polars as pl

from assets.checks import check_spec, check_result, latest_materializations, log_hour
from assets.idb import idb_key
from assets.resources import IconConfig, Idb, LogStorage
from quality.monitoring import (
    CALL_VOLUME,
    COVERAGE_GAPS,
    FRESHNESS,
    call_volume,
    coverage_gaps,
    freshness,
    volume_hours,
)
from quality.report import Report
from transforms.hours import HOUR, hour_start, key_of
from transforms.idb import IdbStore

COVERAGE_KEY = idb_key("ETL_COVERAGE")
CALLS_KEY = idb_key("G_CALL")
FRESHNESS_KEY = dg.AssetCheckKey(COVERAGE_KEY, FRESHNESS)
SEVERITY_ORDER = ("WARN", "ERROR")


def freshness_now(logs: LogStorage, store: IdbStore, icon: IconConfig) -> Report:
    """The freshness of the IDB now: the newest registered event against its last hour."""
    span = logs.span()
    return freshness(span[1] if span else None, store.max_of("ETL_COVERAGE", "HOUR"),
                     int(icon.options().get("icon-etl", "freshness-max-lag-minutes")))


def freshness_check() -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=COVERAGE_KEY, name=FRESHNESS, blocking=False,
                    description="The newest event of the registered logs is at most [icon-etl] "
                                "freshness-max-lag-minutes after the end of the last hour in "
                                "the IDB.")
    def fresh(logs: LogStorage, idb: Idb, icon: IconConfig) -> dg.AssetCheckResult:
        return check_result(COVERAGE_KEY, FRESHNESS, freshness_now(logs, idb.store(), icon),
                            "ERROR")

    return fresh


def hourly_monitoring_checks(hourly: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    specs = [
        check_spec(COVERAGE_GAPS, asset=COVERAGE_KEY, partitions_def=hourly,
                   additional_deps=[idb_key("ETL_RECONCILE")],
                   description="Every switch is logged for the whole hour: time no replica logged "
                               "fails as an error naming the intervals (ETL_RECONCILE.UNCOVERED); "
                               "time one replica missed and another filled, as a warning "
                               "(ETL_COVERAGE partial / missing)."),
        check_spec(CALL_VOLUME, asset=CALLS_KEY, partitions_def=hourly,
                   additional_deps=[COVERAGE_KEY],
                   description="The calls created in the hour are at least [icon-etl] "
                               "volume-min-share of the same hour's median over the previous "
                               "volume-weeks weeks (a warning)."),
    ]

    @dg.multi_asset_check(specs=specs, name="idb_monitoring", can_subset=True,
                          description="Coverage gaps and call volume, hour by hour.")
    def monitoring(context: dg.AssetCheckExecutionContext, idb: Idb,
                   icon: IconConfig) -> Iterator[dg.AssetCheckResult]:
        store = idb.store()
        hours = sorted(context.partition_keys)
        selected = context.selected_asset_check_keys
        gaps = dg.AssetCheckKey(COVERAGE_KEY, COVERAGE_GAPS)
        if gaps in selected:
            coverage = _rows(store, "ETL_COVERAGE", hours[0], hours[-1])
            reconcile = _rows(store, "ETL_RECONCILE", hours[0], hours[-1])
            found = {h: coverage_gaps(h, coverage.filter(pl.col("HOUR") == h),
                                      reconcile.filter(pl.col("HOUR") == h))
                     for h in hours}
            yield from _record(context, gaps, found)
        volume = dg.AssetCheckKey(CALLS_KEY, CALL_VOLUME)
        if volume in selected:
            options = icon.options()
            weeks = int(options.get("icon-etl", "volume-weeks"))
            needed = volume_hours(hours, weeks)
            calls = _calls_per_hour(store, needed)
            loaded = set(_rows(store, "ETL_COVERAGE", needed[0], needed[-1])["HOUR"].to_list())
            found = {h: (call_volume(h, calls, loaded, weeks,
                                     float(options.get("icon-etl", "volume-min-share")),
                                     int(options.get("icon-etl", "volume-min-calls"))), "WARN")
                     for h in hours}
            yield from _record(context, volume, found)

    return monitoring


def _rows(store: IdbStore, name: str, first: str, last: str):
    return store.read(name, where="HOUR >= :first AND HOUR <= :last",
                      params={"first": first, "last": last})


def _calls_per_hour(store: IdbStore, hours: list[str]) -> dict[str, int]:
    """Hour -> G_CALL rows created in it, for `hours` (one query per stretch of a week)."""
    counts: dict[str, int] = {}
    starts = sorted({hour_start(h) for h in hours})
    stretch = [starts[0]]
    for start in starts[1:] + [None]:
        if start is not None and start - stretch[-1] <= HOUR * 24:
            stretch.append(start)
            continue
        found = store.count_by_hour("G_CALL", "CREATED_TS", int(stretch[0].timestamp()),
                                    int((stretch[-1] + HOUR).timestamp()))
        counts.update({key_of(datetime.fromtimestamp(t, timezone.utc)): n
                       for t, n in found.items()})
        if start is not None:
            stretch = [start]
    return counts


def _record(context: dg.AssetCheckExecutionContext, key: dg.AssetCheckKey,
            found: dict[str, tuple[Report, str]]) -> Iterator[dg.AssetCheckResult]:
    """Each hour's evaluation on its partition (a ranged run), then the run's result: passed
    when every hour passed, with the worst severity of those that did not."""
    hours = sorted(found)
    if len(hours) > 1:
        targets = latest_materializations(context.instance, key.asset_key, hours)
        for hour in hours:
            log_hour(context, key, hour, *found[hour], targets)
    failed = {h: found[h] for h in hours if not found[h][0].passed}
    if len(hours) == 1:
        report, severity = found[hours[0]]
    elif failed:
        severity = max((s for _, s in failed.values()), key=SEVERITY_ORDER.index)
        report = Report(False, f"{len(failed)} of {len(hours)} hours failed: "
                        + "; ".join(r.description for r, _ in list(failed.values())[:10]),
                        {"failed_hours": ", ".join(failed), "hours": len(hours)})
    else:
        report, severity = Report(True, f"{len(hours)} hours passed",
                                  {"hours": len(hours)}), "ERROR"
    yield check_result(key.asset_key, key.name, report, severity)
