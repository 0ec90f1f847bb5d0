"""The `[custom-states]` options (docs/semantics.md §8): which EventUserEvent keys start and
end custom agent states, fill G_CUSTOM_STATES' USERFIELD_n columns, and go to G_CUSTOM_DATA_S.
Checked when the options are loaded (`transforms.config.options.load_options`); the gls role
reads the result (`IconOptions.custom_states()`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms.config.errors import OptionsError

SECTION = "custom-states"
MIN_CODE = 200                              # custom state codes must be > 199 [DOC]
FIELD_TYPES = ("char", "int")               # the types ICON's documentation shows
FIELD_COLUMNS = tuple(f"USERFIELD_{n}" for n in range(1, 9))
STORE_MODES = ("none", "all", "conf")
# EventData_1, EventData_2, …: continuations of EventData (group 1: the number)
EVENT_DATA_CONTINUATION = re.compile(r"EventData_([1-9][0-9]*)")


@dataclass(frozen=True)
class CustomSettings:
    """The [custom-states] options, parsed and checked."""

    states: tuple[tuple[int, str], ...] = ()       # (state code, UserData key)
    fields: tuple[tuple[str, str], ...] = ()       # (G_CUSTOM_STATES column, UserData key)
    event_data: str = "none"
    event_data_keys: tuple[str, ...] = ()
    event_extensions: str = "none"
    event_extension_keys: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.states) or self.event_data != "none" or self.event_extensions != "none"


def parse_custom_states(raw: dict, src: str) -> CustomSettings:
    """Parse and check the [custom-states] options (`raw`: the section as read from `src`); a bad
    value raises OptionsError naming the options file, the option, its value and what is wrong."""

    def fail(name: str, value, problem: str):
        raise OptionsError(f"{src}: [{SECTION}] {name} = {value!r}: {problem}")

    def text(name: str) -> str:
        value = raw.get(name, "")
        if not isinstance(value, str):
            fail(name, value, "must be a string")
        return value

    def items(name: str, value: str, width: int, form: str) -> list[list[str]]:
        body = value.strip().strip(",").strip()
        if not body:
            return []
        parts = [p.strip() for p in body.split(",")]
        if any(not p for p in parts):
            fail(name, value, f"an empty item (two commas in a row); the form is {form}")
        if len(parts) % width:
            fail(name, value, f"{len(parts)} items do not make whole groups of {width}; the form "
                              f"is {form}")
        return [parts[k:k + width] for k in range(0, len(parts), width)]

    def typed(name: str, value: str, type_: str) -> None:
        if type_.lower() not in FIELD_TYPES:
            fail(name, value, f"type {type_!r} is not one of {', '.join(FIELD_TYPES)}")

    def once(name: str, value: str, what: str, seen: list[str]) -> None:
        dup = sorted({x for x in seen if seen.count(x) > 1})
        if dup:
            fail(name, value, f"{what} {', '.join(map(repr, dup))} given more than once")

    for name in ("store-event-data", "store-event-extensions"):
        if raw.get(name, "none") not in STORE_MODES:
            fail(name, raw[name], f"allowed values are {', '.join(STORE_MODES)}")

    name, value = "AgentRecordUserTypes", text("AgentRecordUserTypes")
    states = []
    for code, key in items(name, value, 2, "StateCode,KeyName,…"):
        if not re.fullmatch(r"[0-9]+", code) or int(code) < MIN_CODE:
            fail(name, value, f"state code {code!r} is not an integer greater than {MIN_CODE - 1}")
        states.append((int(code), key))
    once(name, value, "state code", [str(c) for c, _ in states])
    once(name, value, "key", [k for _, k in states])
    state_keys = {k for _, k in states}

    name, value = "AgentUserFields", text("AgentUserFields")
    fields = []
    for type_, column, key in items(name, value, 3, "Type,FieldName,KeyName,…"):
        typed(name, value, type_)
        if column.upper() not in FIELD_COLUMNS:
            fail(name, value, f"field {column!r} is not a G_CUSTOM_STATES custom column "
                              f"({FIELD_COLUMNS[0]} … {FIELD_COLUMNS[-1]})")
        if key in state_keys:
            fail(name, value, f"key {key!r} is a custom state key (AgentRecordUserTypes)")
        fields.append((column.upper(), key))
    once(name, value, "field", [c for c, _ in fields])
    once(name, value, "key", [k for _, k in fields])
    field_keys = {k for _, k in fields}

    # EventData and its continuations EventData_1, EventData_2, … joined in numeric order [DOC]
    pieces = [("EventData", text("EventData"))] + sorted(
        ((n, text(n)) for n in raw if EVENT_DATA_CONTINUATION.fullmatch(n)),
        key=lambda nv: int(EVENT_DATA_CONTINUATION.fullmatch(nv[0]).group(1)))
    name = "EventData" if len(pieces) == 1 else "EventData (with its continuations)"
    trimmed = [p.strip().strip(",").strip() for _, p in pieces]
    value = ",".join(p for p in trimmed if p)
    data_keys = []
    for type_, key in items(name, value, 2, "Type,KeyName,…"):
        typed(name, value, type_)
        if key in field_keys:
            fail(name, value, f"key {key!r} is also in AgentUserFields (unsupported by ICON)")
        data_keys.append(key)
    once(name, value, "key", data_keys)

    name, value = "EventExtensions", text("EventExtensions")
    ext_keys = []
    for type_, key in items(name, value, 2, "Type,KeyName,…"):
        typed(name, value, type_)
        ext_keys.append(key)
    once(name, value, "key", ext_keys)

    return CustomSettings(tuple(states), tuple(fields), raw.get("store-event-data", "none"),
                          tuple(data_keys), raw.get("store-event-extensions", "none"),
                          tuple(ext_keys))
