"""ICON options, read from one TOML file with ICON's section and option names
(docs/options.md), and every option checked here, in one place: loading is strict (an unknown
section or option, or a value outside the allowed set, fails with the file, the option and the
allowed values; nothing falls back silently: in ICON an upper-case `role` silently becomes `all`,
https://docs.genesys.com/Documentation:ICON:Dep:Roles:8.1.5), and the roles read their options
through the typed views `IconOptions.gcc()`, `gls()` and `custom_states()`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.config.custom_states import (
    EVENT_DATA_CONTINUATION,
    CustomSettings,
    parse_custom_states,
)
from transforms.config.errors import OptionsError


@dataclass(frozen=True)
class Spec:
    default: Any
    allowed: tuple | None = None          # allowed values (exact)
    kind: type = str
    minimum: int | None = None
    maximum: int | None = None
    doc: str = ""


ROLES = ("all", "cfg", "gcc", "gls", "gud", "lrm", "gos")


class _ContinuedOptions(dict):
    """The [custom-states] specs: `EventData_<n>` for any integer n ≥ 1 is a continuation of
    EventData [DOC] and has the spec of `EventData_1`; every other name must be listed."""

    def _resolve(self, name):
        if not dict.__contains__(self, name) and isinstance(name, str) \
                and EVENT_DATA_CONTINUATION.fullmatch(name):
            return "EventData_1"
        return name

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, self._resolve(name))

    def __getitem__(self, name):
        return dict.__getitem__(self, self._resolve(name))

    def get(self, name, default=None):
        return dict.get(self, self._resolve(name), default)


SPECS: dict[str, dict[str, Spec]] = {
    "callconcentrator": {
        "role": Spec("all", kind=str, doc="comma-separated roles (lowercase, `~role` excludes); "
                                          "a role left out writes no rows"),
        "gls-acw-first": Spec(-1, (-1, 0, 1), int,
                              doc="-1 application default (behaves as 1), 0 last, 1 first voice call"),
        "adata-userdata-history": Spec("none", ("none", "first", "last", "all"),
                                       doc="history of keys not in the attached-data spec"),
        "adata-spec-name": Spec("ccon_adata_spec.xml", doc="attached-data specification file"),
        "gls-active-reason-codes": Spec(1, (0, 1), int, doc="write G_AGENT_STATE_RC_A"),
        "use-dss-monitor": Spec(1, (0, 1), int, doc="write the G_DSS_*_PROVIDER tables"),
        "extended-route-result": Spec(0, (0, 1), int, doc="URS 7.6 extended routing results"),
        "store-releasing-party": Spec(1, (0, 1), int,
                                      doc="1: who released the call in G_CALL_STAT.GSYS_EXT_VCH1/2 "
                                          "and G_PARTY_STAT.GSYS_EXT_INT1 (ICON's default is 0; "
                                          "docs/semantics.md §15)"),
    },
    # what ICON leaves out of the IDB (docs/semantics.md §15): 1 filters, 0 (default) stores
    "filter-data": {
        "call-metrics": Spec(0, (0, 1), int, doc="1: no G_CALL_STAT rows"),
        "acd-party-metrics": Spec(0, (0, 1), int,
                                  doc="1: no G_PARTY_STAT rows of ACD-queue parties"),
        "acd-party-history": Spec(0, (0, 1), int,
                                  doc="1: no G_PARTY_HISTORY rows of ACD-queue parties (the "
                                      "others keep the CSEQ ICON gives them)"),
        "external-party": Spec(0, (0, 1), int, doc="1: no G_PARTY_STAT rows of External parties"),
        "observer-party": Spec(0, (0, 1), int,
                               doc="1: parties with role Observer are left out of G_PARTY, "
                                   "G_PARTY_HISTORY and G_PARTY_STAT"),
        "gls-queue": Spec(0, (0, 1), int,
                          doc="1: no queue in the agent tables (QUEUEID/QUEUETYPE null, one "
                              "GX_SESSION_ENDPOINT row per DN and period)"),
    },
    "gts": {
        "delivered-flag": Spec(0, (0, 1, 2, 3), int,
                               doc="0: an External far end alerts at EventDialing, 1: at "
                                   "EventNetworkReached (2, 3: as 1)"),
        "lookup-queue-on-ringing": Spec(1, (0, 1), int,
                                        doc="1: a ringing party's distributed parent (G_PARTY."
                                            "PARENTPARTYID) is the party of EventRinging's "
                                            "ThisQueue; 0: not taken from ThisQueue"),
        "ring-divert": Spec(0, (0, 1), int,
                            doc="1: a ringing (or External) party's distributed parent is also "
                                "taken from the EventDiverted/EventRouteUsed of the same call "
                                "that named its DN as ThirdPartyDN, before or after the ringing "
                                "(ThisQueue wins when both apply); 0: not"),
        "sst-options": Spec(0, (0, 1), int,
                            doc="single-step transfer = EventReleased (CallState Transferred, "
                                "ThirdPartyDN X) 0: followed by EventRinging/EventQueued of X "
                                "in the same call, 1: alone; counts in G_CALL_STAT.CNT_TRANSFER "
                                "and makes the transferring party the reached party's parent "
                                "(link transferred)"),
        "call-deletion-timeout": Spec(30, None, int, 0, 3600, doc="seconds (batch: not used)"),
        "gls-max-duration": Spec(0, None, int, 0, 7 * 24 * 3600,
                                 doc="seconds; 0 = no limit on a login session"),
    },
    # list syntax, codes, types, field names and key clashes: transforms/config/custom_states.py
    # (docs/semantics.md §8 "Custom states")
    "custom-states": _ContinuedOptions({
        "AgentRecordUserTypes": Spec("", doc="`StateCode,KeyName,…` custom agent states: "
                                             "EventUserEvent key = '+' starts, '-' ends the "
                                             "state (codes > 199)"),
        "AgentUserFields": Spec("", doc="`Type,FieldName,KeyName,…` EventUserEvent keys stored "
                                        "in G_CUSTOM_STATES columns USERFIELD_1..USERFIELD_8 "
                                        "while the DN is in a custom state (types char, int)"),
        "EventData": Spec("", doc="`Type,KeyName,…` EventUserEvent UserData keys for "
                                  "G_CUSTOM_DATA_S with store-event-data = conf (types char, int)"),
        "EventData_1": Spec("", doc="EventData_1, EventData_2, …: continuations of EventData, "
                                    "joined in numeric order"),
        "store-event-data": Spec("none", ("none", "all", "conf"),
                                 doc="which EventUserEvent UserData keys go to G_CUSTOM_DATA_S"),
        "EventExtensions": Spec("", doc="`Type,KeyName,…` EventUserEvent Extensions keys for "
                                        "G_CUSTOM_DATA_S with store-event-extensions = conf"),
        "store-event-extensions": Spec("none", ("none", "all", "conf"),
                                       doc="which EventUserEvent Extensions keys go to "
                                           "G_CUSTOM_DATA_S"),
    }),
    "icon-etl": {
        "max-quarantine-share-warn": Spec(0.01, kind=float, doc="quarantined/lines that warns"),
        "max-quarantine-share-fail": Spec(0.10, kind=float, doc="quarantined/lines that fails"),
        "mask-keys": Spec("", doc="comma-separated KV keys masked in everything printed"),
        "service-level-threshold": Spec(20, None, int, 1, 3600,
                                        doc="seconds: a queued call answered within this wait "
                                            "counts in ETL_KPI_QUEUE.SERVICE_LEVEL"),
        "max-call-idle": Spec(14400, None, int, 0, 7 * 24 * 3600,
                              doc="seconds without an event after which an open call ends at its "
                                  "last event (ETL_CLOSED_BY idle_timeout); 0 = never"),
        "freshness-max-lag-minutes": Spec(120, None, int, 1, 30 * 24 * 60,
                                          doc="minutes the newest logged event may be ahead of "
                                              "the end of the last loaded hour (check "
                                              "`freshness`, sensor `icon_freshness`)"),
        "volume-min-share": Spec(0.5, kind=float,
                                 doc="calls of an hour below this share of the same hour's "
                                     "median in the previous weeks fail `call_volume`"),
        "volume-weeks": Spec(4, None, int, 1, 52,
                             doc="previous weeks the `call_volume` check compares an hour with"),
        "volume-min-calls": Spec(20, None, int, 0, None,
                                 doc="a median below this many calls is too small to judge "
                                     "(`call_volume` passes)"),
        "check-results-per-hour": Spec(1, (0, 1), int,
                                       doc="1: a run of many hours records each IDB check's "
                                           "result on every hour's partition (about 12 ms each "
                                           "in the Dagster instance: ~34 s a day); 0: one "
                                           "result per check and run, naming the failed hours "
                                           "(every hour is still checked)"),
        # purge (docs/purge.md): 0 keeps a family for ever
        "retention-days-interactions": Spec(0, None, int, 0, 36500,
                                            doc="days a terminated interaction (calls, parties, "
                                                "attached data) is kept; 0 = for ever"),
        "retention-days-sessions": Spec(0, None, int, 0, 36500,
                                        doc="days a closed login session (states, reason "
                                            "codes, DND) is kept; 0 = for ever"),
        "retention-days-outbound": Spec(0, None, int, 0, 36500,
                                        doc="days an ended campaign attempt and its chains are "
                                            "kept; 0 = for ever"),
        "purge-batch-size": Spec(1000, None, int, 1, 1000000,
                                 doc="entities removed per transaction by a purge"),
    },
}


@dataclass(frozen=True)
class GccOptions:
    """Switch-behaviour options of ICON's `[gts]` section that change the call model
    (docs/semantics.md has the defaults and what each does here)."""

    delivered_flag: int = 0            # 0: an External far end alerts at EventDialing; 1: at EventNetworkReached
    lookup_queue_on_ringing: int = 1   # 1: a ringing party's parent is the party of its ThisQueue
    ring_divert: int = 0               # 1: ... also the party whose EventDiverted/RouteUsed named it
    max_call_idle: int = 14400         # [icon-etl] max-call-idle: seconds without an event that end a call
    sst_options: int = 0               # single-step transfer = EventReleased (Transferred) 0: then
                                       # EventRinging/EventQueued of ThirdPartyDN; 1: the release alone


@dataclass(frozen=True)
class GlsOptions:
    """What the gls role reads: agent states, reason codes, session limits, custom states."""

    acw_first: int = -1                # gls-acw-first
    active_reason_codes: bool = True   # gls-active-reason-codes: write G_AGENT_STATE_RC_A
    max_duration: int = 0              # [gts] gls-max-duration, seconds; 0 = no limit
    custom_states: CustomSettings = CustomSettings()


@dataclass(frozen=True)
class IconOptions:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "<defaults>"

    def get(self, section: str, name: str) -> Any:
        return self.values.get(section, {}).get(name, SPECS[section][name].default)

    def roles(self) -> set[str]:
        return parse_roles(self.get("callconcentrator", "role"), self.source)

    def gcc(self) -> GccOptions:
        return GccOptions(delivered_flag=self.get("gts", "delivered-flag"),
                          lookup_queue_on_ringing=self.get("gts", "lookup-queue-on-ringing"),
                          ring_divert=self.get("gts", "ring-divert"),
                          sst_options=self.get("gts", "sst-options"),
                          max_call_idle=self.get("icon-etl", "max-call-idle"))

    def custom_states(self) -> CustomSettings:
        """The [custom-states] options parsed (a bad value raises OptionsError)."""
        return parse_custom_states(self.values.get("custom-states", {}), self.source)

    def gls(self) -> GlsOptions:
        return GlsOptions(acw_first=int(self.get("callconcentrator", "gls-acw-first")),
                          active_reason_codes=int(self.get("callconcentrator",
                                                           "gls-active-reason-codes")) == 1,
                          max_duration=int(self.get("gts", "gls-max-duration")),
                          custom_states=self.custom_states())

    def masked_keys(self) -> frozenset[str]:
        """`[icon-etl] mask-keys`: KV keys whose values are never printed."""
        return frozenset(k.strip() for k in self.get("icon-etl", "mask-keys").split(",")
                         if k.strip())


def parse_roles(text: str, source: str) -> set[str]:
    items = [r.strip() for r in str(text).split(",") if r.strip()]
    if not items:
        raise OptionsError(f"{source}: [callconcentrator] role is empty; allowed: {', '.join(ROLES)}")
    chosen: set[str] = set()
    excluded: set[str] = set()
    for item in items:
        name = item[1:] if item.startswith("~") else item
        if name not in ROLES:
            raise OptionsError(f"{source}: [callconcentrator] role has {item!r}; allowed (lowercase): "
                               f"{', '.join(ROLES)}, each optionally prefixed with ~")
        (excluded if item.startswith("~") else chosen).add(name)
    if "all" in chosen or (excluded and not chosen):
        chosen = set(ROLES) - {"all"}
    return chosen - excluded


def load_options(path: Path | str | None) -> IconOptions:
    """Read and validate an options file; no file gives the documented defaults."""
    if path is None:
        return IconOptions()
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OptionsError(f"{path}: options file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise OptionsError(f"{path}: not a readable TOML options file: {exc}") from exc
    values: dict[str, dict[str, Any]] = {}
    for section, options in doc.items():
        if section not in SPECS:
            raise OptionsError(f"{path}: unknown section [{section}]; known: "
                               f"{', '.join('[' + s + ']' for s in SPECS)}")
        if not isinstance(options, dict):
            raise OptionsError(f"{path}: [{section}] must be a table of options")
        for name, value in options.items():
            spec = SPECS[section].get(name)
            if spec is None:
                raise OptionsError(f"{path}: unknown option {name!r} in [{section}]; known: "
                                   f"{', '.join(SPECS[section])}")
            values.setdefault(section, {})[name] = _check(path, section, name, spec, value)
    options = IconOptions(values, str(path))
    options.roles()  # validates the role list
    _check_shares(path, options)
    options.gls()    # validates [custom-states] (list syntax, codes, columns, key clashes)
    return options


SHARES = ("max-quarantine-share-warn", "max-quarantine-share-fail")


def _check_shares(path: Path, options: IconOptions) -> None:
    """The share options are shares (0..1), and the quarantine warning comes first."""
    for name in (*SHARES, "volume-min-share"):
        value = options.get("icon-etl", name)
        if not 0 <= value <= 1:
            raise OptionsError(f"{path}: [icon-etl] {name} = {value!r}: must be a share between "
                               f"0 and 1 (e.g. 0.01 for 1 %)")
    warn, fail = (options.get("icon-etl", name) for name in SHARES)
    if warn > fail:
        raise OptionsError(f"{path}: [icon-etl] max-quarantine-share-warn = {warn!r} is above "
                           f"max-quarantine-share-fail = {fail!r}: the warning must come first")


def _check(path: Path, section: str, name: str, spec: Spec, value: Any) -> Any:
    where = f"{path}: [{section}] {name}"
    if spec.kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
        raise OptionsError(f"{where} = {value!r}: must be an integer")
    if spec.kind is float and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise OptionsError(f"{where} = {value!r}: must be a number")
    if spec.kind is str and not isinstance(value, str):
        raise OptionsError(f"{where} = {value!r}: must be a string")
    if spec.allowed is not None and value not in spec.allowed:
        raise OptionsError(f"{where} = {value!r}: allowed values are "
                           f"{', '.join(repr(a) for a in spec.allowed)}")
    if spec.minimum is not None and value < spec.minimum or \
            spec.maximum is not None and value > spec.maximum:
        raise OptionsError(f"{where} = {value!r}: must be between {spec.minimum} and {spec.maximum}")
    return value


def describe() -> str:
    """Markdown table of every option (docs/options.md is generated from this)."""
    lines = ["| section | option | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for section, specs in SPECS.items():
        for name, spec in specs.items():
            allowed = ", ".join(map(str, spec.allowed)) if spec.allowed else (
                f"{spec.minimum}..{spec.maximum}" if spec.minimum is not None else spec.kind.__name__)
            lines.append(f"| [{section}] | `{name}` | `{spec.default}` | {allowed} | {spec.doc} |")
    return "\n".join(lines)
