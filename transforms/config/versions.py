"""The rules each stage follows, as short versions (Dagster code versions): an asset whose rules
changed (an option, the attached-data spec, the configuration snapshot) shows as stale in the
Dagster UI, and `icon-etl backfill --changed` rebuilds those assets and what depends on them,
leaving the others untouched (docs/semantics.md §16).

A version covers what the stage's rows depend on and nothing else: changing the attached-data
spec changes gud's version only, so only the attached-data tables are rewritten.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from transforms.config.adata_spec import spec_from_options
from transforms.config.options import IconOptions, load_options

# bumped when the code of a stage changes what it writes for the same rules
RULES_FORMAT = "1"
# role -> (section, option) pairs its rows follow (the whole section when the name is "*")
ROLE_OPTIONS: dict[str, list[tuple[str, str]]] = {
    "gcc": [("gts", "*"), ("icon-etl", "max-call-idle"), ("filter-data", "observer-party")],
    "gud": [("callconcentrator", "adata-userdata-history")],
    "gls": [("callconcentrator", "gls-acw-first"), ("callconcentrator", "gls-active-reason-codes"),
            ("gts", "gls-max-duration"), ("custom-states", "*")],
    "gos": [],
}
# the writers' own rules: what `[filter-data]` leaves out when a role's hours are written
WRITER_OPTIONS: dict[str, list[tuple[str, str]]] = {
    "gcc": [("filter-data", "call-metrics"), ("filter-data", "acd-party-metrics"),
            ("filter-data", "acd-party-history"), ("filter-data", "external-party"),
            ("callconcentrator", "store-releasing-party")],
    "gls": [("filter-data", "gls-queue")],
    "gud": [], "gos": [],
}


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr((RULES_FORMAT, *parts)).encode()).hexdigest()[:12]


def _values(options: IconOptions, names: list[tuple[str, str]]) -> list:
    out = []
    for section, name in names:
        if name == "*":
            out.append((section, sorted(options.values.get(section, {}).items())))
        else:
            out.append((section, name, options.get(section, name)))
    return out


def config_digest(path: Path | str | None) -> str:
    """A file's content, or every snapshot file of a folder (a configuration history)."""
    if not path:
        return "none"
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path] if path.is_file() else []
    h = hashlib.sha256()
    for file in files:
        h.update(file.name.encode() + b"\0" + file.read_bytes())
    return h.hexdigest()[:12] if files else "none"


class RuleVersions:
    """The versions of the roles (`role(name)`), of their IDB writers (`writer(name)`), of the
    configuration tables (`reference`) and of the data source session tables (`dss`)."""

    def __init__(self, options_file: Path | str | None, snapshot: Path | str | None):
        self.config = config_digest(snapshot)
        self.unreadable = None
        try:
            self.options = load_options(options_file or None)
            spec = spec_from_options(self.options)
            self.spec = (spec.vertical, spec.horizontal)
        except (OSError, ValueError):
            # a bad file fails the runs, which name it; its bytes still version every stage
            self.options, self.spec = IconOptions(), None
            self.unreadable = config_digest(options_file)
        self.roles = self.options.roles()

    def role(self, role: str) -> str:
        extra = self.spec if role == "gud" else None
        return _digest(role, role in self.roles, self.config,
                       _values(self.options, ROLE_OPTIONS[role]), extra, self.unreadable)

    def writer(self, role: str) -> str:
        return _digest("write", role, _values(self.options, WRITER_OPTIONS[role]),
                       self.unreadable)

    @property
    def reference(self) -> str:
        return _digest("reference", self.config)

    @property
    def dss(self) -> str:
        return _digest("dss", self.options.get("callconcentrator", "use-dss-monitor"),
                       self.unreadable)
