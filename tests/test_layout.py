"""The rules of the layout (docs/architecture.md): imports point one way (dagster_project ->
assets -> quality -> transforms, the simulator apart; transforms imports neither Dagster nor
another top-level folder); a transforms package is used only through the names its `__init__`
lists; one module owns the data folder; settings are read once, when definitions are built (no
environment read, folder scan or mutable module state at import); no absolute machine path in
the code or the tests."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# each folder and what it may import of the project (itself included)
ALLOWED = {
    "dagster_project": {"dagster_project", "assets", "quality", "transforms", "simulator"},
    "assets": {"assets", "quality", "transforms"},
    "quality": {"quality", "transforms"},
    "transforms": {"transforms"},
    "simulator": {"simulator", "transforms"},
}
NO_DAGSTER = ("transforms", "simulator")
PACKAGES = ("parsing", "segments", "ha", "roles", "idb", "config", "reports")
# the data folder's own file and folder names (those that are no ordinary word): written only in
# transforms/datafolder.py
DATA_FOLDER_NAMES = {"segments.parquet", "segment_ids.parquet", "segments_skipped.parquet",
                     "segment_cache", "sessions.parquet", "clock_offsets.parquet",
                     "status.parquet", "report.json", "skeleton.parquet"}


def sources(folders=tuple(ALLOWED)) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def project_imports() -> dict[tuple[str, str], list[str]]:
    """(folder, imported folder) -> files, for every import of a project folder."""
    arrows: dict[tuple[str, str], list[str]] = {}
    for folder in ALLOWED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for module in imports(path):
                top = module.split(".")[0]
                if top in ALLOWED or top == "dagster":
                    arrows.setdefault((folder, top), []).append(str(path.relative_to(ROOT)))
    return arrows


def test_imports_point_one_way():
    arrows = project_imports()
    wrong = {arrow: files for arrow, files in arrows.items()
             if arrow[1] in ALLOWED and arrow[1] not in ALLOWED[arrow[0]]}
    assert not wrong, f"imports against the layout: {wrong}"


def test_transforms_and_the_simulator_do_not_use_dagster():
    arrows = project_imports()
    assert not [(a, f) for a, f in arrows.items() if a[0] in NO_DAGSTER and a[1] == "dagster"]


def test_no_absolute_machine_path_in_code_or_tests():
    pattern = re.compile(r"""["'](/work|/home|/root|/tmp/|/Users)[/"']""")
    hits = []
    for folder in (*ALLOWED, "tests", "bench", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line) and path.name != "test_layout.py":
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_transforms_packages_are_used_through_their_public_names():
    """Code outside a transforms package imports only what its `__init__` lists (`__all__`),
    or names of a module it lists as public (the dictionary, dss, parquet_sink); no code
    imports a private (`_name`) name from another module."""
    public = {p: set(importlib.import_module(f"transforms.{p}").__all__) for p in PACKAGES}
    wrong = []
    for path in sources():
        rel = path.relative_to(ROOT).parts
        own = rel[1] if rel[0] == "transforms" and len(rel) > 2 else None
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
                continue
            names = [a.name for a in node.names]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            wrong += [f"{where}: private {n} of {node.module}" for n in names
                      if n.startswith("_") and node.module.split(".")[0] in ALLOWED]
            parts = node.module.split(".")
            if parts[0] != "transforms" or len(parts) < 2 or parts[1] not in PACKAGES \
                    or parts[1] == own:
                continue
            if len(parts) > 2 and parts[2] in public[parts[1]]:
                continue                       # a module the package lists as public
            wrong += [f"{where}: {n} is not public in transforms.{parts[1]}" for n in names
                      if n not in public[parts[1]]]
    assert not wrong, "\n".join(wrong)


def test_every_public_name_exists_and_is_what_it_says():
    """A public name that is also a submodule's name must be that submodule: once imported, a
    submodule shadows a function of the same name in its package."""
    for package in PACKAGES:
        module = importlib.import_module(f"transforms.{package}")
        submodules = {m.name for m in pkgutil.iter_modules(module.__path__)}
        for name in module.__all__:
            value = getattr(module, name)
            assert value is not None, f"transforms.{package}.{name}"
            if name in submodules:
                assert value is importlib.import_module(f"transforms.{package}.{name}"), \
                    f"transforms.{package}.{name} is a function and a submodule"


def test_one_module_owns_the_data_folder():
    """The data folder's file and folder names appear in transforms/datafolder.py only."""
    owner = ROOT / "transforms" / "datafolder.py"
    hits = []
    for path in sources():
        if path == owner:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in DATA_FOLDER_NAMES:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not hits, "\n".join(hits)


def test_no_mutable_module_state_and_the_environment_read_in_one_place():
    """No `global` rebinding anywhere; `os.environ` / `os.getenv` only in the settings (and the
    parser's worker start, which sets the children's environment for the duration of a spawn)."""
    readers = {Path("dagster_project/settings.py"), Path("transforms/parsing/parse_files.py")}
    hits = []
    for path in sources():
        rel = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Global):
                hits.append(f"{rel}:{node.lineno}: global {', '.join(node.names)}")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "os" and node.attr in ("environ", "getenv", "putenv") \
                    and rel not in readers:
                hits.append(f"{rel}:{node.lineno}: os.{node.attr}")
    assert not hits, "\n".join(hits)


def test_importing_the_code_location_reads_no_setting():
    """The definitions module imports without looking at the environment or the log folder: a
    log folder that does not exist and an invalid partition start only matter when Dagster
    builds the definitions."""
    env = {**os.environ, "ICON_LOG_DIR": "/nonexistent/icon-logs", "ICON_PARTITIONS_START": "x"}
    script = ("import dagster_project.definitions as d\n"
              "print('imported')\n"
              "try:\n    d.defs()\nexcept Exception as exc:\n"
              "    print('built:', type(exc).__name__)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "imported" and lines[-1].startswith("built: "), done.stdout
