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

from assets.partitions import DEFAULT_START
from transforms.segments.replicas import parse_names, replica_folders


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
    return os.environ.get("ICON_PARTITIONS_START", DEFAULT_START)


def workers() -> int:
    return int(os.environ.get("ICON_WORKERS") or 0) or max(1, min(os.cpu_count() or 1, 8))


def replica_names() -> list[str]:
    return parse_names(os.environ.get("ICON_REPLICAS"))


def replicas(root: Path | None = None) -> dict[str, Path]:
    """Replica name -> its log folder (`transforms.segments.replicas.replica_folders`)."""
    return replica_folders(root or log_dir(), replica_names())
