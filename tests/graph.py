"""The asset graph as dagster_project/definitions.py builds it, over a test's own folders (the
definitions module reads its folders from the environment once, at import)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.ha import build_ha_assets
from assets.idb import build_idb_assets
from assets.ingest import build_ingest_assets
from assets.roles import build_role_assets
from assets.resources import IconConfig, Idb, LogStorage

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_OPTIONS = EXAMPLES / "icon-options.toml"


def graph_assets(replicas: list[str] | tuple[str, ...] = ("a",)) -> list:
    replicas = list(replicas)
    return ([a for r in replicas for a in build_ingest_assets(r)] + build_ha_assets(replicas)
            + build_role_assets() + build_idb_assets(replicas))


def graph_resources(logs: Path, config: Path, work: Path, options: Path | None = None,
                    idb_url: str | None = None) -> dict:
    return {
        "logs": LogStorage(log_dir=str(logs), data_dir=str(work / "data"), workers=1),
        "icon": IconConfig(snapshot=str(config), options_file=str(options or EXAMPLE_OPTIONS)),
        "idb": Idb(url=idb_url or f"sqlite:///{work / 'idb.sqlite'}"),
    }


def graph(logs: Path, config: Path, work: Path, replicas=("a",), options: Path | None = None,
          idb_url: str | None = None, **definitions) -> dg.Definitions:
    """Definitions of the whole graph; `definitions`: extra Definitions arguments (checks, jobs)."""
    return dg.Definitions(assets=graph_assets(replicas),
                          resources=graph_resources(logs, config, work, options, idb_url),
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
