"""Copies of one segment under other names: a whole or partial copy (a rotated segment copied
while still being written, a half-finished transfer), the same segment compressed (`.log` and
`.log.gz`), a collector that re-shipped a segment after a restart. A byte-for-byte copy is
already known by its SHA-256 (transforms/segments/store.py); these differ in bytes but hold the
same log.

A segment is identified by its header: application, the local time the segment was opened, its
ordinal and the process start time are the same in every copy of it, and differ between two
segments of one process. Among segments with the same header, the one with the most content is
read; another is its copy when its decompressed content is a prefix of it (the whole of it, or
its first part). A copy is not read (its events would be events twice) and is left out of the
chain of segments, so that a cut copy never takes the place of the segment a TLib block continues
in. Segments whose content differs are not copies: both are read, and events they both hold are
loaded once by their identity on the switch (transforms/ha/reconcile.py `without_repeats`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from transforms.parsing.header import LogHeader
from transforms.parsing.logread import LogReadError, iter_raw_blocks

BLOCK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Copy:
    file_id: int            # the copy
    original: int           # the segment read in its place
    whole: bool             # all of the original (else its first part)
    problem: str | None     # what is wrong with the copy itself (a truncated gzip, ...)


def header_identity(header: LogHeader) -> tuple | None:
    """What every copy of a segment shares and two segments never do (None: no usable header)."""
    if not header.present or header.local_time is None:
        return None
    return (header.app_name, header.local_time, header.file_ordinal, header.start_time_utc,
            header.host)


def find_copies(files: list[tuple[int, Path, LogHeader]]) -> list[Copy]:
    """The copies among `files` (file_id, path, header), each with the segment read instead."""
    groups: dict[tuple, list[tuple[int, Path]]] = {}
    for file_id, path, header in files:
        identity = header_identity(header)
        if identity is not None:
            groups.setdefault((str(path.parent), identity), []).append((file_id, path))
    copies = []
    for members in groups.values():
        if len(members) > 1:
            copies += _copies_in(members)
    return copies


def _copies_in(members: list[tuple[int, Path]]) -> list[Copy]:
    measured = [(file_id, path, *_content_length(path)) for file_id, path in members]
    # the most content first; a clean file before a damaged one of the same length; then by name
    measured.sort(key=lambda m: (-m[2], m[3] is not None, m[1].name))
    original_id, original, length, _ = measured[0]
    out = []
    for file_id, path, size, problem in measured[1:]:
        if _is_prefix(path, original):
            out.append(Copy(file_id, original_id, size == length, problem))
    return out


def _content(path: Path) -> Iterator[tuple[bytes, str | None]]:
    try:
        for block, error, _last in iter_raw_blocks(path, BLOCK_BYTES):
            yield block, error
    except LogReadError as exc:
        yield b"", str(exc)


def _content_length(path: Path) -> tuple[int, str | None]:
    """Bytes of decompressed content (what can be read of a damaged file) and the damage."""
    total, problem = 0, None
    for block, error in _content(path):
        total += len(block)
        problem = error or problem
    return total, problem


def _is_prefix(short: Path, long: Path) -> bool:
    """Whether the content of `short` is the first part (or all) of the content of `long`."""
    rest = _bytes(long)
    pending = b""
    for block in _bytes(short):
        while len(pending) < len(block):
            more = next(rest, None)
            if more is None:
                return False
            pending += more
        if pending[:len(block)] != block:
            return False
        pending = pending[len(block):]
    return True


def _bytes(path: Path) -> Iterator[bytes]:
    for block, _error in _content(path):
        if block:
            yield block
