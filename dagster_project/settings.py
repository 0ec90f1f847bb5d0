"""Where things live, read once from the environment (documented in the README).

| variable | default | what |
| --- | --- | --- |
| ICON_HOME | ./var | base folder for everything below |
| ICON_LOG_DIR | $ICON_HOME/logs | raw T-Server logs; one sub-folder per HA replica, or the files directly |
| ICON_DATA_DIR | $ICON_HOME/data | segment registry, parse cache, hourly parsed events |
| ICON_IDB_URL | sqlite:///$ICON_HOME/idb.sqlite | the Interaction Database (SQLAlchemy URL) |
| ICON_CONFIG_SNAPSHOT | $ICON_LOG_DIR/../config.json | configuration snapshot (switches, DNs, agents…) |
| ICON_OPTIONS | (none: defaults) | ICON options file (TOML, docs/options.md) |
| ICON_REPLICAS | detected | comma-separated replica folder names (e.g. `a,b`) |
| ICON_PARTITIONS_START | 2024-01-01-00:00 | first hourly partition (UTC) |
| ICON_WORKERS | number of cores | parser processes |
"""

from __future__ import annotations

import os
from pathlib import Path

SINGLE_REPLICA = "a"


def home() -> Path:
    return Path(os.environ.get("ICON_HOME", "var")).absolute()


def log_dir() -> Path:
    return Path(os.environ.get("ICON_LOG_DIR") or home() / "logs").absolute()


def data_dir() -> Path:
    return Path(os.environ.get("ICON_DATA_DIR") or home() / "data").absolute()


def idb_url() -> str:
    return os.environ.get("ICON_IDB_URL") or f"sqlite:///{home() / 'idb.sqlite'}"


def config_snapshot() -> Path:
    return Path(os.environ.get("ICON_CONFIG_SNAPSHOT") or log_dir().parent / "config.json").absolute()


def options_file() -> Path | None:
    value = os.environ.get("ICON_OPTIONS")
    return Path(value).absolute() if value else None


def partitions_start() -> str:
    return os.environ.get("ICON_PARTITIONS_START", "2024-01-01-00:00")


def workers() -> int:
    return int(os.environ.get("ICON_WORKERS") or 0) or max(1, min(os.cpu_count() or 1, 8))


def replicas(root: Path | None = None) -> dict[str, Path]:
    """Replica name -> its log folder. Sub-folders of the log root are replicas (an HA pair has
    two); a root that holds the log files directly is one replica named `a`."""
    root = root or log_dir()
    named = os.environ.get("ICON_REPLICAS")
    if named:
        names = [n.strip() for n in named.split(",") if n.strip()]
        return {n: root if len(names) == 1 and not (root / n).is_dir() else root / n for n in names}
    if root.is_dir():
        subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        has_files = any(p.is_file() and not p.name.startswith(".") for p in root.iterdir())
        if subdirs and not has_files:
            return {p.name: p for p in subdirs}
    return {SINGLE_REPLICA: root}
