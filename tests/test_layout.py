"""The import rule of the layout (docs/architecture.md): dagster_project -> assets -> quality ->
transforms, the simulator apart; transforms imports neither Dagster nor another top-level folder;
no absolute machine path in the code or the tests."""

from __future__ import annotations

import ast
import re
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
