"""Hand-written T-Server log text for tests (server-side TLib form of tserver-log-format.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

SAMPLES = "/work/shared/samples"


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
