"""Progress lines of long work: to the run's log (the UI shows them) and to the Python logger
`icon_etl.progress`, which in-process runs of the command line print (`icon-etl load` shows one
line per partition and step without Dagster's own debug output: dagster_project/runner.py)."""

from __future__ import annotations

import logging

PROGRESS_LOGGER = "icon_etl.progress"
_log = logging.getLogger(PROGRESS_LOGGER)


def report(context, message: str) -> None:
    context.log.info(message)
    _log.info(message)

