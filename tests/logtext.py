"""Hand-written T-Server log text for tests (server-side TLib form, docs/log-format.md)."""

from __future__ import annotations

from datetime import datetime, timedelta


def header(app: str = "TS_TEST", local: str = "2026-03-10T07:00:00.000", tz_west: int = -3600,
           ordinal: int = 1, name: str = "TS_TEST.20260310_070000_000.log") -> str:
    local_dt = datetime.fromisoformat(local)
    utc_dt = local_dt + timedelta(seconds=tz_west)
    return (
        f"Application name:   {app}\n"
        "Application type:   TServer (1)\n"
        f"Command line:       ts_sip -app {app}\n"
        "Host name:          test-host\n"
        "DST:                TZ = 0, timeb = 0\n"
        f"Time zone:          {tz_west}, Test Standard Time, Test Daylight Time\n"
        f"UTC time:           {utc_dt.isoformat(timespec='milliseconds')}\n"
        f"Local time:         {local_dt.isoformat(timespec='milliseconds')}\n"
        f"Start time (UTC):   {utc_dt.isoformat(timespec='seconds')}\n"
        "Running time:       0:00:00:00\n"
        "Host info:          Linux 5.15 x86_64\n"
        f"File:               ({ordinal}) /var/log/{name}\n"
        "\n"
    )


def event(time: str, name: str, seq: int, attrs: list[tuple[str, str]],
          kind: str = "distribute_event") -> str:
    lines = [f"@{time} [0] 8.1.101.25 {kind}: message {name}",
             f"\tAttributeEventSequenceNumber\t{seq:016x}"]
    lines += [f"\t{k}\t{v}" for k, v in attrs]
    return "\n".join(lines) + "\n"


def kvlist(name: str, members: list[tuple[str, str]], depth: int = 1) -> list[str]:
    pad = "\t" * depth
    head = f"{pad}{name}\t[{20 * len(members)}] 00 {len(members):02x} 00 00.."
    return [head] + [f"{pad}\t'{k}'\t{v}" for k, v in members]


def call_event(time: str, name: str, seq: int, dn: str, conn: str = "006c02462a161006",
               uuid: str = "AM5D3AE9D90757BKTSVJTCIAR4000014", extra: list[str] | None = None) -> str:
    text = event(time, name, seq, [("AttributeThisDN", f"'{dn}'"), ("AttributeConnID", conn),
                                   ("AttributeCallUUID", f"'{uuid}'"), ("AttributeCallType", "2")])
    if extra:
        text += "\n".join(extra) + "\n"
    return text


# -- call logs at 07:00 local (UTC+1) on 2026-03-10 -------------------------------------------

T0 = datetime(2026, 3, 10, 6, 0, 0)      # 07:00:00 local at UTC+1 (header tz_west -3600)


def at(seconds: float) -> datetime:
    """UTC time of the event logged at 07:00:00 local + seconds."""
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    t = datetime(2026, 3, 10, 7, 0, 0) + timedelta(seconds=seconds)
    return t.strftime("%H:%M:%S.") + f"{t.microsecond // 100:04d}"


def _dn_with_role(attrs: list[tuple[str, str]], name: str, dn: str | None, role: int | None) -> None:
    """`name` (a DN attribute) and `<name>Role` after it, each when given; no role without a DN."""
    if dn is not None:
        attrs.append((name, f"'{dn}'"))
        if role is not None:
            attrs.append((f"{name}Role", str(role)))


class CallLog:
    """One T-Server's log of call events: events get increasing AttributeEventSequenceNumbers;
    `customer` is the AttributeCustomerID every call event carries (None: none)."""

    def __init__(self, app: str = "TS_NORTH", seq: int = 0x100, customer: str | None = "Resources"):
        self.app, self.seq, self.parts, self.customer = app, seq, [], customer

    def text(self) -> str:
        name = f"{self.app}.20260310_070000_000.log"
        return header(app=self.app, name=name) + "".join(self.parts)

    def call(self, t: float, name: str, uuid: str, conn: str, dn: str | None = None, *,
             role: int | None = 2, queue: str | None = None, other: str | None = None,
             other_role: int | None = None, third: str | None = None,
             third_role: int | None = None, state: int | None = None, ctype: int = 2,
             agent: str | None = None, ref: int | None = None, attrs=(), ud=None, ext=None,
             reasons=None, kind: str = "distribute_event") -> "CallLog":
        self.seq += 1
        a: list[tuple[str, str]] = []
        if self.customer is not None:
            a.append(("AttributeCustomerID", f"'{self.customer}'"))
        _dn_with_role(a, "AttributeThisDN", dn, role)
        if queue is not None:
            a.append(("AttributeThisQueue", f"'{queue}'"))
        _dn_with_role(a, "AttributeOtherDN", other, other_role)
        _dn_with_role(a, "AttributeThirdPartyDN", third, third_role)
        if agent is not None:
            a.append(("AttributeAgentID", f"'{agent}'"))
        a += [("AttributeConnID", conn), ("AttributeCallUUID", f"'{uuid}'"),
              ("AttributeCallType", str(int(ctype)))]
        a += list(attrs)
        if state is not None:
            a.append(("AttributeCallState", str(int(state))))
        if ref is not None:
            a.append(("AttributeReferenceID", str(ref)))
        text = event(stamp(t), name, self.seq, a, kind=kind)
        for attr, members in (("AttributeUserData", ud), ("AttributeReasons", reasons),
                              ("AttributeExtensions", ext)):
            if members is not None:
                text += "\n".join(kvlist(attr, members)) + "\n"
        self.parts.append(text)
        return self

    def created(self, t: float, uuid: str, conn: str, *, ctype: int = 2, attrs=()) -> "CallLog":
        return self.call(t, "EventCallCreated", uuid, conn, role=None, ctype=ctype, attrs=attrs,
                         kind="distribute call/party event")

    def deleted(self, t: float, uuid: str, conn: str, *, ctype: int = 2, attrs=()) -> "CallLog":
        return self.call(t, "EventCallDeleted", uuid, conn, role=None, ctype=ctype, attrs=attrs,
                         kind="distribute call/party event")

    def request(self, t: float, name: str, attrs: list[tuple[str, str]],
                client: str = "URS_NORTH") -> "CallLog":
        when = (datetime(2026, 3, 10, 7, 0, 0) + timedelta(seconds=t)).isoformat(
            timespec="milliseconds")
        lines = [f"{when} Trc 04541 {name} received from [21] (0000013f {client} 10.0.1.200:50493)",
                 f"message {name}"] + [f"\t{k}\t{v}" for k, v in attrs]
        self.parts.append("\n".join(lines) + "\n")
        return self
