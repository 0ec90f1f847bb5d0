"""Data quality of the IDB and of the parsed events: Great Expectations suites generated from the
table definitions (`quality.rules` -> `quality.suites`), run as Dagster asset checks
(`assets.checks.build_quality_checks`). Great Expectations is imported lazily, inside the checks."""
