"""Where things live and how a run behaves: one `Settings` object, read once from the environment
(`Settings.from_env`) or given by the command line (`Settings.from_env(..., **given)`), then
passed along. Nothing else reads the environment.

| variable | default | what |
| --- | --- | --- |
| ICON_HOME | ./var | base folder for everything below |
| ICON_LOG_DIR | $ICON_HOME/logs | raw T-Server logs; one sub-folder per HA replica, or the files directly |
| ICON_DATA_DIR | $ICON_HOME/data | segment registry, parse cache, hourly parsed events |
| ICON_IDB_URL | sqlite:///$ICON_HOME/idb.sqlite | the Interaction Database (SQLAlchemy URL) |
| ICON_CONFIG_SNAPSHOT | $ICON_LOG_DIR/../config.json | configuration snapshot (switches, DNs, agents…) |
| ICON_OPTIONS | (none: defaults) | ICON options file (TOML, docs/options.md) |
| ICON_REPLICAS | detected | comma-separated replica folder names (e.g. `a,b`) |
| ICON_PARTITIONS_START | the first hour of the registered logs (else 2024-01-01-00:00) | first hourly partition (UTC) |
| ICON_WORKERS | number of cores (at most 8) | hours (and segments) processed at once: the processes of a step's pool (`--parallel`) |
| ICON_EXECUTOR | multiprocess | how a Dagster run executes its steps: `multiprocess`, `in_process` or `celery` (docs/architecture.md "Scaling out") |
| ICON_MAX_CONCURRENT | ICON_WORKERS | steps of one run at once under the multiprocess executor |
| ICON_CELERY_BROKER | redis://127.0.0.1:6379/0 | the Celery broker (`ICON_EXECUTOR=celery`) |
| ICON_CELERY_BACKEND | the broker | where Celery keeps task results |
| ICON_SCHEDULE | on | `off` starts the hourly schedule stopped |
| ICON_ALERT_WEBHOOK | (none) | URL a failed run or stale loading is POSTed to as JSON (`text`, `subject`, `message`, `details`) |
| ICON_ALERT_EMAIL | (none) | comma-separated addresses e-mailed on a failed run or stale loading |
| ICON_SMTP | 127.0.0.1:25 | the SMTP server (`host[:port]`) for ICON_ALERT_EMAIL |
| ICON_ALERT_FROM | icon-etl@localhost | the sender of those e-mails |
| DAGSTER_HOME | $ICON_HOME/dagster_home | the local Dagster instance |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from transforms.parsing import default_workers
from transforms.segments import parse_names, replica_folders

OFF = ("off", "0", "false", "no")
EXECUTORS = ("multiprocess", "in_process", "celery")
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Settings:
    home: Path
    log_dir: Path
    log_dir_given: bool             # set by the user (else the demo simulates its own logs)
    data_dir: Path
    idb_url: str
    config_snapshot: Path
    config_snapshot_given: bool     # set by the user (a missing file is then an error)
    options_file: Path | None
    replica_names: tuple[str, ...]
    partitions_start: str           # "": the first hour of the registered logs
    workers: int
    schedule_running: bool
    dagster_home: Path
    executor: str = "multiprocess"
    max_concurrent: int = 0         # 0: `workers`
    celery_broker: str = DEFAULT_BROKER
    celery_backend: str = ""        # "": the broker
    alert_webhook: str = ""
    alert_email: str = ""
    smtp: str = "127.0.0.1:25"
    alert_from: str = "icon-etl@localhost"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 defaults: Mapping[str, object] | None = None, **given) -> "Settings":
        """The settings: `given` (field name -> value) first, then `env` (default: this
        process's environment), then `defaults` (field name -> value), then the table above.
        None or "" means "not set". Derived defaults follow what was set: `home` moves the data
        folder and the IDB, `log_dir` the configuration snapshot."""
        env = dict(os.environ if env is None else env)
        defaults = dict(defaults or {})

        def pick(field: str, variable: str) -> str | None:
            for value in (given.get(field), env.get(variable), defaults.get(field)):
                if value not in (None, ""):
                    return str(value)
            return None

        home = Path(pick("home", "ICON_HOME") or "var").absolute()
        logs = pick("log_dir", "ICON_LOG_DIR")
        log_dir = Path(logs or home / "logs").absolute()
        snapshot = pick("config_snapshot", "ICON_CONFIG_SNAPSHOT")
        options = pick("options_file", "ICON_OPTIONS")
        names = given.get("replica_names") or parse_names(env.get("ICON_REPLICAS"))
        return cls(
            home=home,
            log_dir=log_dir,
            log_dir_given=logs is not None,
            data_dir=Path(pick("data_dir", "ICON_DATA_DIR") or home / "data").absolute(),
            idb_url=pick("idb_url", "ICON_IDB_URL") or f"sqlite:///{home / 'idb.sqlite'}",
            config_snapshot=Path(snapshot or log_dir.parent / "config.json").absolute(),
            config_snapshot_given=snapshot is not None,
            options_file=Path(options).absolute() if options else None,
            replica_names=tuple(names),
            partitions_start=pick("partitions_start", "ICON_PARTITIONS_START") or "",
            workers=int(pick("workers", "ICON_WORKERS") or 0) or default_workers(),
            schedule_running=(pick("schedule", "ICON_SCHEDULE") or "on").lower() not in OFF,
            dagster_home=Path(pick("dagster_home", "DAGSTER_HOME")
                              or home / "dagster_home").absolute(),
            executor=_executor(pick("executor", "ICON_EXECUTOR") or "multiprocess"),
            max_concurrent=int(pick("max_concurrent", "ICON_MAX_CONCURRENT") or 0),
            celery_broker=pick("celery_broker", "ICON_CELERY_BROKER") or DEFAULT_BROKER,
            celery_backend=pick("celery_backend", "ICON_CELERY_BACKEND") or "",
            alert_webhook=pick("alert_webhook", "ICON_ALERT_WEBHOOK") or "",
            alert_email=pick("alert_email", "ICON_ALERT_EMAIL") or "",
            smtp=pick("smtp", "ICON_SMTP") or "127.0.0.1:25",
            alert_from=pick("alert_from", "ICON_ALERT_FROM") or "icon-etl@localhost",
        )

    def replicas(self) -> dict[str, Path]:
        """Replica name -> its log folder (`transforms.segments.replicas.replica_folders`): the
        sub-folders of the log folder, or the folder itself; a folder scan, done when called."""
        return replica_folders(self.log_dir, list(self.replica_names))


def _executor(name: str) -> str:
    name = name.strip().lower().replace("-", "_")
    if name not in EXECUTORS:
        raise ValueError(f"ICON_EXECUTOR {name!r}: one of {', '.join(EXECUTORS)}")
    return name
