"""One bad hour never stops the good ones: every partitioned asset does its hours through
`each_hour`, which records an hour that fails (with its cause, in the data folder), removes
whatever the asset had kept of that hour (so nothing downstream builds on it), and goes on with
the next hour. An hour whose input a failed hour should have made is recorded as blocked by it.
The next run of the hour clears the record; `icon-etl load` lists what is left and exits 1.

A problem of the machine rather than of an hour (a full disk, a folder that cannot be written, an
IDB that does not answer, no memory) stops the run instead: every hour would fail the same way.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from typing import TypeVar

import dagster as dg

from assets.progress import report
from transforms.datafolder import DataFolder
from transforms.idb import IdbError

T = TypeVar("T")
MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                  errno.EFBIG, errno.EMFILE, errno.ENFILE}


def machine_problem(exc: BaseException) -> bool:
    return (isinstance(exc, MemoryError | IdbError)
            or isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS)


def cause_of(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def each_hour(context, data: DataFolder, stage: str, keys: Iterable[str],
              one_hour: Callable[[str], T], inputs: Callable[[str], list[tuple[str, str]]] | None = None,
              discard: Callable[[str], None] | None = None) -> tuple[dict[str, T], dict[str, str]]:
    """Run `one_hour(key)` for every key; returns (results of the hours done, causes of those
    that failed). `inputs(key)`: the (stage, hour) pairs the hour builds on, so that a failure
    caused by one of them failing says so; `discard(key)`: removes the stage's output of an hour
    that failed."""
    done: dict[str, T] = {}
    failed: dict[str, str] = {}
    for key in keys:
        try:
            done[key] = one_hour(key)
        except Exception as exc:  # noqa: BLE001  (recorded, and the next hour goes on)
            failed.update(record_failure(context, data, stage, [key], exc, inputs, discard))
        else:
            data.clear_failure(stage, key)
    return done, failed


def record_failure(context, data: DataFolder, stage: str, keys: list[str], exc: BaseException,
                   inputs: Callable[[str], list[tuple[str, str]]] | None = None,
                   discard: Callable[[str], None] | None = None) -> dict[str, str]:
    """Record that `stage` could not do `keys` because of `exc` (or of a failed input), after
    removing what it kept of them; a machine problem is raised instead. Returns key -> cause."""
    if machine_problem(exc):
        raise exc
    needed = [pair for key in keys for pair in (inputs(key) if inputs else [])]
    cause = _blocked_by(data, needed) or cause_of(exc)
    for key in keys:
        if discard is not None:
            discard(key)
        data.write_failure(stage, key, cause)
    report(context, f"{stage} {keys[0]}{f' .. {keys[-1]}' if len(keys) > 1 else ''}: "
                    f"FAILED: {cause}")
    return {key: cause for key in keys}


def _blocked_by(data: DataFolder, inputs: list[tuple[str, str]]) -> str | None:
    for stage, key in inputs:
        cause = data.failure(stage, key)
        if cause is not None:
            first = cause.split("blocked by ")[-1] if cause.startswith("blocked by ") else \
                f"{stage} {key} ({cause})"
            return f"blocked by {first}"
    return None


def failure_metadata(failed: dict[str, str]) -> dict:
    """The asset's metadata for the hours that failed (none: nothing)."""
    if not failed:
        return {}
    rows = "\n".join(f"| {key} | {cause.replace('|', '/')} |" for key, cause in sorted(failed.items()))
    return {"failed_hours": len(failed),
            "failures": dg.MetadataValue.md(f"| hour | cause |\n| --- | --- |\n{rows}")}
