"""The attached-data specification (ICON's `ccon_adata_spec.xml`, docs/semantics.md §9):
which KV keys go to which table, and how much of their history is kept.

```xml
<adata-spec xmlns="http://www.genesyslab.com/standards/icon/ed1">
  <public>  <key name="CustomerSegment" source="userdata" history="all"/>  </public>
  <secure>  <key name="CustomerPIN" source="userdata" history="last"/>     </secure>
  <call>    <key name="CustomerSegment" field="customer-segment" history="last"/> </call>
  <call_cust> <key name="Topic" field="cust-data-1" history="first"/>     </call_cust>
</adata-spec>
```

Vertical sections (`public`, `secure`) map keys to G_USERDATA_HISTORY / G_SECURE_USERDATA_HISTORY
with `history` none|first|last|all; a key is unique by (name, source, storage) [DOC]. Horizontal
sections map a key to one column of G_CALL_USERDATA(_CUST, _CUST1, _CUST2) with first|last. The
element/attribute names `adata-spec`, `key`, `name`, `source`, `history`, `field` are this
project's reading of the XSD type names [INF, docs/semantics.md §9].
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SOURCES = ("userdata", "reasons", "extensions")
HISTORY = ("none", "first", "last", "all")
CALL_HISTORY = ("first", "last")
CALL_FIELDS = {  # AdataCallFieldType -> G_CALL_USERDATA column (the XSD spells busines-result)
    "customer-segment": "G_CUSTOMER_SEGMENT", "service-type": "G_SERVICE_TYPE",
    "service-subtype": "G_SERVICE_SUBTYPE", "busines-result": "G_BUSINESS_RESULT",
    "business-result": "G_BUSINESS_RESULT", "customer-id": "CUSTOMER_ID",
    "transaction-id": "TRANSACTION_ID", "cause-id": "CAUSE_ID", "account-id": "ACCOUNT_ID",
    "destination-id": "DESTINATION_ID", "target-id": "TARGET_ID",
}
CUST_SECTIONS = {"call_cust": "G_CALL_USERDATA_CUST", "call_cust1": "G_CALL_USERDATA_CUST1",
                 "call_cust2": "G_CALL_USERDATA_CUST2"}
CUST_FIELDS = 20
HORIZONTAL = {"call": "G_CALL_USERDATA", **CUST_SECTIONS}


class SpecError(ValueError):
    """A bad attached-data specification; the message names the file, element and problem."""


@dataclass(frozen=True)
class VerticalKey:
    name: str
    source: str
    storage: str      # public | secure
    history: str      # none | first | last | all


@dataclass(frozen=True)
class HorizontalKey:
    name: str
    source: str
    table: str        # G_CALL_USERDATA or a _CUST table
    column: str
    history: str      # first | last


@dataclass(frozen=True)
class AdataSpec:
    vertical: tuple[VerticalKey, ...] = ()
    horizontal: tuple[HorizontalKey, ...] = ()
    source: str = "<none>"

    @property
    def secure_keys(self) -> frozenset[str]:
        return frozenset(k.name for k in self.vertical if k.storage == "secure")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def load_spec(path: Path | str | None) -> AdataSpec:
    """Parse and validate; no file means an empty specification (only `adata-userdata-history`
    then decides what is stored)."""
    if path is None:
        return AdataSpec()
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise SpecError(f"{path}: attached-data specification not found") from None
    except ET.ParseError as exc:
        raise SpecError(f"{path}: not well-formed XML: {exc}") from exc
    return parse_spec(root, str(path))


ROOT = "adata-spec"


def parse_spec(root: ET.Element, source: str) -> AdataSpec:
    if _local(root.tag) != ROOT:
        raise SpecError(f"{source}: the root element is <{_local(root.tag)}>; an attached-data "
                        f"specification is an <{ROOT}> element")
    vertical: list[VerticalKey] = []
    horizontal: list[HorizontalKey] = []
    seen_vertical: set[tuple[str, str, str]] = set()
    for section in root:
        name = _local(section.tag)
        if name in ("public", "secure"):
            for key in _keys(section, source, name):
                attrs = _attrs(key, source, name, required=("name",),
                               allowed=("name", "source", "history"))
                src = attrs.get("source", "userdata")
                history = attrs.get("history", "all")
                _one_of(src, SOURCES, source, name, attrs["name"], "source")
                _one_of(history, HISTORY, source, name, attrs["name"], "history")
                triple = (attrs["name"], src, name)
                if triple in seen_vertical:
                    raise SpecError(f"{source}: <{name}> repeats key {attrs['name']!r} with source "
                                    f"{src!r}: a key is unique by (name, source, storage)")
                seen_vertical.add(triple)
                vertical.append(VerticalKey(attrs["name"], src, name, history))
        elif name in HORIZONTAL:
            columns_used: set[str] = set()
            for key in _keys(section, source, name):
                attrs = _attrs(key, source, name, required=("name", "field"),
                               allowed=("name", "source", "field", "history"))
                src = attrs.get("source", "userdata")
                history = attrs.get("history", "last")
                _one_of(src, SOURCES, source, name, attrs["name"], "source")
                _one_of(history, CALL_HISTORY, source, name, attrs["name"], "history")
                column = _column(name, attrs["field"], source, attrs["name"])
                if column in columns_used:
                    raise SpecError(f"{source}: <{name}> maps two keys to field {attrs['field']!r}")
                columns_used.add(column)
                horizontal.append(HorizontalKey(attrs["name"], src, HORIZONTAL[name], column, history))
        else:
            raise SpecError(f"{source}: unknown section <{name}>; allowed: <public>, <secure>, "
                            + ", ".join(f"<{s}>" for s in HORIZONTAL))
    return AdataSpec(tuple(vertical), tuple(horizontal), source)


def _keys(section: ET.Element, source: str, name: str) -> list[ET.Element]:
    keys = []
    for child in section:
        if _local(child.tag) != "key":
            raise SpecError(f"{source}: <{name}> may only hold <key> elements, found "
                            f"<{_local(child.tag)}>")
        keys.append(child)
    return keys


def _attrs(key: ET.Element, source: str, section: str, required: tuple, allowed: tuple) -> dict:
    attrs = dict(key.attrib)
    for a in required:
        if not attrs.get(a):
            raise SpecError(f"{source}: a <key> in <{section}> lacks the {a!r} attribute")
    unknown = set(attrs) - set(allowed)
    if unknown:
        raise SpecError(f"{source}: <key name={attrs.get('name')!r}> in <{section}> has unknown "
                        f"attribute(s) {', '.join(sorted(unknown))}; allowed: {', '.join(allowed)}")
    return attrs


def _one_of(value: str, allowed: tuple, source: str, section: str, key: str, what: str) -> None:
    if value not in allowed:
        raise SpecError(f"{source}: <key name={key!r}> in <{section}> has {what}={value!r}; "
                        f"allowed: {', '.join(allowed)}")


def _column(section: str, field: str, source: str, key: str) -> str:
    if section == "call":
        if field not in CALL_FIELDS:
            raise SpecError(f"{source}: <key name={key!r}> in <call> has field={field!r}; allowed: "
                            f"{', '.join(sorted(CALL_FIELDS))}")
        return CALL_FIELDS[field]
    prefix = "cust-data-"
    number = field[len(prefix):] if field.startswith(prefix) else ""
    if not number.isdigit() or not 1 <= int(number) <= CUST_FIELDS:
        raise SpecError(f"{source}: <key name={key!r}> in <{section}> has field={field!r}; allowed: "
                        f"cust-data-1 .. cust-data-{CUST_FIELDS}")
    return f"CUST_DATA_{int(number)}"


def spec_from_options(options) -> AdataSpec:
    """The spec named by `[callconcentrator] adata-spec-name`, relative to the options file.
    The default name may be absent (then nothing but `adata-userdata-history` applies); a name
    given explicitly must exist."""
    name = options.get("callconcentrator", "adata-spec-name")
    explicit = "adata-spec-name" in options.values.get("callconcentrator", {})
    base = Path(options.source).parent if explicit or Path(options.source).exists() else Path.cwd()
    if not Path(name).is_absolute() and ".." in Path(name).parts:
        # a relative name stays inside the options file's folder (give an absolute path to
        # read a spec from elsewhere)
        raise SpecError(f"{options.source}: [callconcentrator] adata-spec-name = {name!r}: a "
                        f"relative name may not leave the folder of the options file ('..'); "
                        f"allowed: a file name in {base} or an absolute path")
    path = Path(name) if Path(name).is_absolute() else base / name
    if not path.exists() and not explicit:
        return AdataSpec()
    return load_spec(path)
