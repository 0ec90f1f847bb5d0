"""The rules each stage follows, as short versions (Dagster code versions): an asset whose rules
changed (an option, the attached-data spec, the configuration snapshot) shows as stale in the
Dagster UI, and `icon-etl backfill --changed` rebuilds those assets and what depends on them,
leaving the others untouched (docs/semantics.md §16).

A version covers what the stage's rows depend on and nothing else: changing the attached-data
spec changes gud's version only, so only the attached-data tables are rewritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from transforms.config.adata_spec import spec_from_options
from transforms.config.options import SPECS, IconOptions, load_options

# bumped when the code of a stage changes what it writes for the same rules
RULES_FORMAT = "1"
# role -> (section, option) pairs its rows follow (the whole section when the name is "*")
ROLE_OPTIONS: dict[str, list[tuple[str, str]]] = {
    "gcc": [("gts", "delivered-flag"), ("gts", "lookup-queue-on-ringing"), ("gts", "ring-divert"),
            ("gts", "sst-options"), ("icon-etl", "max-call-idle"),
            ("filter-data", "observer-party")],
    # gud's look-back finds the calls still open with max-call-idle
    "gud": [("callconcentrator", "adata-userdata-history"), ("icon-etl", "max-call-idle")],
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
    """The values the options have (defaults included: writing a default down changes
    nothing); "*": every option of the section."""
    out = []
    for section, name in names:
        every = sorted(set(SPECS[section]) | set(options.values.get(section, {})))
        for one in every if name == "*" else [name]:
            out.append((section, one, options.get(section, one)))
    return out


def config_digest(path: Path | str | None) -> str:
    """What the configuration says: the snapshot, or every snapshot of a folder in time order,
    read as JSON (a file's name, key order or spacing changes nothing). A file that cannot be
    read versions by its bytes; loading it then fails, naming it."""
    if not path:
        return "none"
    path = Path(path)
    files = ([f for f in sorted(path.glob("*.json")) if f.is_file()] if path.is_dir()
             else [path] if path.is_file() else [])
    docs = []
    for file in files:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            docs.append((str(doc.get("exported_at")) if isinstance(doc, dict) else "",
                         json.dumps(doc, sort_keys=True)))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            docs.append(("", _bytes_digest(file)))
    return _digest(sorted(docs)) if docs else "none"


def _bytes_digest(file: Path) -> str:
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.strerror}"


class RuleVersions:
    """The versions of the roles (`role(name)`), of their IDB writers (`writer(name)`), of the
    configuration tables (`reference`), of the data source session tables (`dss`) and of the
    interval reports (`reports`)."""

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
            self.unreadable = _bytes_digest(Path(options_file)) if options_file else None
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
        # the configuration's switches name the T-Servers whose sessions are written
        return _digest("dss", self.options.get("callconcentrator", "use-dss-monitor"),
                       self.config, self.unreadable)

    @property
    def reports(self) -> str:
        return _digest("reports", self.options.get("icon-etl", "service-level-threshold"),
                       self.unreadable)
