"""Monitoring checks: is the IDB fresh, complete and of the usual size? (docs/semantics.md §13)

* `freshness`: the newest event of the registered logs against the end of the last hour the IDB
  holds; more than `[icon-etl] freshness-max-lag-minutes` behind fails.
* `coverage_gaps`: an hour with time no replica logged (ETL_RECONCILE.UNCOVERED) fails as an
  error naming the intervals; an hour one replica missed but another filled (ETL_COVERAGE
  partial / missing) fails as a warning: nothing is lost, but HA is down to one copy.
* `call_volume`: the calls of an hour against the median of the same hour of the previous weeks;
  below `volume-min-share` of it fails (a warning: a holiday is a real drop).

Plain values in, `Report`s out (no Dagster here)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from quality.report import Report, md_table
from transforms.hours import hour_span, hour_start, key_of

FRESHNESS, COVERAGE_GAPS, CALL_VOLUME = "freshness", "coverage_gaps", "call_volume"
WEEK = timedelta(days=7)


def freshness(newest_event: datetime | None, last_loaded: str | None,
              max_lag_minutes: int) -> Report:
    """`newest_event`: of the registered logs; `last_loaded`: the latest hour in the IDB."""
    if newest_event is None:
        return Report(True, "no logs registered yet: nothing to be behind", {})
    if last_loaded is None:
        return Report(False, f"no hour loaded; the logs reach {newest_event:%Y-%m-%d %H:%M:%S}",
                      {"newest_event": f"{newest_event:%Y-%m-%d %H:%M:%S}"})
    loaded_to = hour_span(last_loaded)[1]
    if newest_event.tzinfo is None:     # registry times are UTC
        newest_event = newest_event.replace(tzinfo=timezone.utc)
    lag = max((newest_event - loaded_to).total_seconds() / 60, 0.0)
    meta = {"newest_event": f"{newest_event:%Y-%m-%d %H:%M:%S}", "last_loaded_hour": last_loaded,
            "lag_minutes": round(lag, 1), "max_lag_minutes": max_lag_minutes}
    if lag > max_lag_minutes:
        return Report(False, f"the IDB is {lag:.0f} min behind the logs (at most "
                             f"{max_lag_minutes}): loaded up to {loaded_to:%Y-%m-%d %H:%M}, the "
                             f"logs reach {newest_event:%Y-%m-%d %H:%M:%S}", meta)
    return Report(True, f"loaded up to {loaded_to:%Y-%m-%d %H:%M}, {lag:.0f} min behind the "
                        f"logs (at most {max_lag_minutes})", meta)


def coverage_gaps(hour: str, coverage: pl.DataFrame, reconcile: pl.DataFrame
                  ) -> tuple[Report, str]:
    """(report, severity) of one hour from its ETL_COVERAGE and ETL_RECONCILE rows."""
    lost = (reconcile.filter(pl.col("UNCOVERED").is_not_null() & (pl.col("UNCOVERED") != ""))
            .select("SWITCH", "UNCOVERED").unique().sort("SWITCH"))
    degraded = (coverage.filter(pl.col("STATUS") != "complete")
                .select("REPLICA", "SWITCH", "STATUS", "MISSING").sort("REPLICA", "SWITCH"))
    if lost.height:
        where = "; ".join(f"{switch}: {gaps}" for switch, gaps in lost.iter_rows())
        return Report(False, f"{hour}: no replica logged {where}", {
            "uncovered": ("md", md_table(lost)), "replicas_missing": ("md", md_table(degraded))}
        ), "ERROR"
    if degraded.height:
        where = "; ".join(f"replica {r} {s} {status}" + (f" ({m})" if m else "")
                          for r, s, status, m in degraded.iter_rows())
        return Report(False, f"{hour}: every interval is logged, by fewer replicas: {where}", {
            "replicas_missing": ("md", md_table(degraded))}), "WARN"
    if coverage.height == 0:
        return Report(False, f"{hour}: no coverage rows (the hour was not loaded)", {}), "ERROR"
    return Report(True, f"{hour}: every replica logged every switch for the whole hour",
                  {"switches": coverage["SWITCH"].n_unique()}), "ERROR"


def volume_hours(hours: list[str], weeks: int) -> list[str]:
    """The hours whose calls `call_volume` needs: each hour and the same hour `weeks` back."""
    return sorted({key_of(hour_start(h) - k * WEEK) for h in hours for k in range(weeks + 1)})


def call_volume(hour: str, calls: dict[str, int], loaded: set[str], weeks: int,
                min_share: float, min_calls: int) -> Report:
    """`calls`: hour -> calls created in it; `loaded`: hours the IDB holds (an hour before the
    logs start is no baseline, an hour loaded with no call is one)."""
    start = hour_start(hour)
    before = [key_of(start - k * WEEK) for k in range(1, weeks + 1)]
    history = [calls.get(h, 0) for h in before if h in loaded]
    n = calls.get(hour, 0)
    meta = {"calls": n, "weeks_compared": len(history)}
    if not history:
        return Report(True, f"{hour}: {n} calls; no earlier week loaded to compare with", meta)
    median = float(pl.Series(history).median())
    meta.update(median_previous_weeks=median, share=round(n / median, 3) if median else None)
    if median < min_calls:
        return Report(True, f"{hour}: {n} calls; the same hour's median of {len(history)} "
                            f"week(s) ({median:g}) is under {min_calls}: too few to judge", meta)
    if n < min_share * median:
        return Report(False, f"{hour}: {n} calls, {n / median:.0%} of the same hour's median of "
                             f"the previous {len(history)} week(s) ({median:g}); below "
                             f"{min_share:.0%}", meta)
    return Report(True, f"{hour}: {n} calls, {n / median:.0%} of the same hour's median of the "
                        f"previous {len(history)} week(s) ({median:g})", meta)

