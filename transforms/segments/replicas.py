"""Which folders of a log root are HA replicas (README "HA pairs")."""

from __future__ import annotations

from pathlib import Path

SINGLE_REPLICA = "a"


def replica_folders(root: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Replica name -> its log folder. `names` (ICON_REPLICAS) name the replica sub-folders; else
    the sub-folders of the root are the replicas (an HA pair has two), and a root that holds the
    log files directly is one replica named `a`."""
    root = Path(root)
    if names:
        return {n: root if len(names) == 1 and not (root / n).is_dir() else root / n for n in names}
    if root.is_dir():
        subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        has_files = any(p.is_file() and not p.name.startswith(".") for p in root.iterdir())
        if subdirs and not has_files:
            return {p.name: p for p in subdirs}
    return {SINGLE_REPLICA: root}


def parse_names(text: str | None) -> list[str]:
    """`a,b` -> ["a", "b"] (empty or None: detect)."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]
