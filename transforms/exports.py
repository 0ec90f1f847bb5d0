"""A package's public names, listed in its `__init__` and imported on first use: the list is
the package's API (tests/test_layout.py checks that no other package uses a name outside it),
and importing the package stays cheap and free of import cycles between packages."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, public: dict[str, list[str]]
                 ) -> tuple[list[str], Callable[[str], object]]:
    """`public`: submodule -> the names of it the package exports (the submodule's own name
    exports the submodule). Returns the package's `__all__` and its module `__getattr__`."""
    where = {name: module for module, names in public.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no public name {name!r}")
        module = importlib.import_module(f"{package}.{where[name]}")
        return module if name == where[name] else getattr(module, name)

    return sorted(where), __getattr__
