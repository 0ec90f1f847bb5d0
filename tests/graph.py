"""The asset graph as dagster_project/definitions.py builds it, over a test's own folders."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.graph import build_assets
from assets.partitions import hourly_partitions
from assets.resources import IconConfig, Idb, LogStorage
from dagster_project.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_OPTIONS = EXAMPLES / "icon-options.toml"
# the partitioning of the default settings (ICON_PARTITIONS_START unset)
HOURLY = hourly_partitions()


def graph_assets(replicas: list[str] | tuple[str, ...] = ("a",)) -> list:
    return build_assets(list(replicas), HOURLY)


def graph_resources(logs: Path, config: Path, work: Path, options: Path | None = None,
                    idb_url: str | None = None, workers: int = 1) -> dict:
    return {
        "logs": LogStorage(log_dir=str(logs), data_dir=str(work / "data"), workers=workers),
        "icon": IconConfig(snapshot=str(config), options_file=str(options or EXAMPLE_OPTIONS)),
        "idb": Idb(url=idb_url or f"sqlite:///{work / 'idb.sqlite'}"),
    }


def settings(logs: Path, config: Path, work: Path, options: Path | None = None,
             idb_url: str | None = None) -> Settings:
    """The settings `icon-etl load` would use for these folders (nothing from the environment)."""
    return Settings.from_env(env={}, home=work, log_dir=logs, config_snapshot=config,
                             options_file=options or EXAMPLE_OPTIONS, workers=1,
                             idb_url=idb_url or f"sqlite:///{work / 'idb.sqlite'}")


def graph(logs: Path, config: Path, work: Path, replicas=("a",), options: Path | None = None,
          idb_url: str | None = None, workers: int = 1, **definitions) -> dg.Definitions:
    """Definitions of the whole graph (`workers`: hours processed at once, `--parallel`);
    `definitions`: extra Definitions arguments (checks, jobs)."""
    return dg.Definitions(assets=graph_assets(replicas),
                          resources=graph_resources(logs, config, work, options, idb_url, workers),
                          **definitions)


def simulate_with_examples(root: Path, **simulation) -> Path:
    """A simulated contact center under `root` (simulator arguments), with the example options
    and attached-data spec beside it."""
    import shutil

    from simulator import simulate

    simulate(root, **simulation)
    for name in ("icon-options.toml", "ccon_adata_spec.xml"):
        shutil.copy(EXAMPLES / name, root / name)
    return root
