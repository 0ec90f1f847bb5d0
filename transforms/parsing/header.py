"""The header block at the top of every Genesys log segment (docs/log-format.md, "Header").

Runs on the first few lines of a file only, so plain Python is fine here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

HEADER_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 ()/_.-]*?):\s+(.*)$")
FILE_NAME_STAMP = re.compile(r"(\d{8})_(\d{6})_(\d{3})")
APP_TYPE = re.compile(r"^(.*?)\s*\((\d+)\)\s*$")
FILE_LINE = re.compile(r"^\((\d+)\)\s*(.*)$")
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
                    "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S.%f")


# the `Application type:` of the servers whose logs are read: T-Server / SIP Server, and Outbound
# Contact Server (its reporting to ICON, docs/log-format.md "OCS logs")
TSERVER_APP_TYPE, OCS_APP_TYPE = "TServer", "OCServer"


@dataclass
class LogHeader:
    """What the header says. `lines` counts the header lines including the closing empty line."""

    lines: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    app_name: str | None = None
    app_type: str | None = None
    app_type_code: int | None = None
    host: str | None = None
    tz_west_seconds: int | None = None
    utc_time: datetime | None = None
    local_time: datetime | None = None
    start_time_utc: datetime | None = None
    file_ordinal: int | None = None
    file_path: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return self.lines > 0

    @property
    def utc_offset_seconds(self) -> int | None:
        """local − UTC in seconds. The UTC/Local pair is authoritative (it includes DST);
        `Time zone:` (seconds *west* of UTC) is the fallback."""
        if self.utc_time and self.local_time:
            delta = (self.local_time - self.utc_time).total_seconds()
            return int(round(delta / 60.0)) * 60
        if self.tz_west_seconds is not None:
            return -self.tz_west_seconds
        return None


def parse_datetime(text: str) -> datetime | None:
    text = text.strip()
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_header(lines: list[str]) -> LogHeader:
    """Parse the `Key: value` block that starts a segment; an absent header gives `lines == 0`."""
    header = LogHeader()
    if not lines or not lines[0].lstrip("\ufeff").startswith("Application name:"):
        return header
    n = 0
    for raw in lines:
        text = raw.lstrip("\ufeff")
        if not text.strip():
            n += 1  # the empty line that closes the header belongs to it
            break
        m = HEADER_KEY.match(text)
        if not m:
            break
        header.fields[m.group(1).strip()] = m.group(2).rstrip()
        n += 1
    header.lines = n
    _interpret(header)
    return header


def _interpret(h: LogHeader) -> None:
    f = h.fields
    h.app_name = f.get("Application name") or None
    if app_type := f.get("Application type"):
        m = APP_TYPE.match(app_type)
        h.app_type, h.app_type_code = (m.group(1), int(m.group(2))) if m else (app_type, None)
    h.host = f.get("Host name")
    if tz := f.get("Time zone"):
        first = tz.split(",")[0].strip()
        try:
            h.tz_west_seconds = int(first)
        except ValueError:
            h.problems.append(f"Time zone value {first!r} is not a number of seconds")
    for key, attr in (("UTC time", "utc_time"), ("Local time", "local_time"),
                      ("Start time (UTC)", "start_time_utc")):
        if key in f:
            value = parse_datetime(f[key])
            if value is None:
                h.problems.append(f"{key} value {f[key]!r} is not a date-time")
            setattr(h, attr, value)
    if file_line := f.get("File"):
        m = FILE_LINE.match(file_line)
        if m:
            h.file_ordinal, h.file_path = int(m.group(1)), m.group(2).strip()
    if h.utc_time and h.local_time and h.tz_west_seconds is not None:
        implied = -(h.local_time - h.utc_time).total_seconds()
        if abs(implied - h.tz_west_seconds) > 3600 + 60:
            h.problems.append(f"Time zone {h.tz_west_seconds} disagrees with UTC/Local time lines "
                              f"(which imply {int(implied)}); using the UTC/Local lines")


def file_name_time(name: str) -> datetime | None:
    """Local time of segment creation from `<app>.<YYYYMMDD>_<HHMMSS>_<mmm>.log`."""
    m = None
    for m in FILE_NAME_STAMP.finditer(name):
        pass
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S") + timedelta(
            milliseconds=int(m.group(3)))
    except ValueError:
        return None
