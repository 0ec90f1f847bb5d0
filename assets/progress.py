"""Progress lines of long work: always to the run's log (the UI shows them); also to a sink
the command line sets for in-process runs (`icon-etl load` prints one line per partition and
step without Dagster's own debug output)."""

from __future__ import annotations

from collections.abc import Callable

_sink: Callable[[str], None] | None = None


def set_sink(sink: Callable[[str], None] | None) -> None:
    global _sink
    _sink = sink


def report(context, message: str) -> None:
    context.log.info(message)
    if _sink is not None:
        _sink(message)
