"""Simulation time and its printed forms.

Time is an integer number of *ticks* of 0.1 ms since the Unix epoch (UTC): the T-Server
prints event times with four fractional digits, so integer ticks keep every printed form
(`@HH:MM:SS.ffff`, AttributeTimeinSecs/AttributeTimeinuSecs, the truth's microseconds)
exactly consistent, with no float rounding.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

TPS = 10_000                  # ticks per second
TPMS = 10                     # ticks per millisecond
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def seconds(s: float) -> int:
    """Seconds (float) -> ticks."""
    return int(round(s * TPS))


def parse_start(start: str | datetime) -> int:
    """ISO 8601 string or datetime -> tick. Naive values are taken as UTC."""
    if isinstance(start, datetime):
        dt = start
    elif isinstance(start, str):
        text = start.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"cannot parse start {start!r}: expected ISO 8601, "
                             f"e.g. 2026-03-09T22:00:00Z") from exc
    else:
        raise ValueError(f"start must be an ISO 8601 string or a datetime, not {type(start).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt.astimezone(timezone.utc) - _EPOCH
    return (delta.days * 86400 + delta.seconds) * TPS + delta.microseconds // 100


def utc_iso(tick: int) -> str:
    """Truth form: UTC ISO 8601 with microseconds, e.g. 2026-03-09T22:01:02.000100+00:00."""
    dt = _EPOCH + timedelta(seconds=tick // TPS, microseconds=(tick % TPS) * 100)
    return dt.isoformat(timespec="microseconds")


def utc_iso_opt(tick: int | None) -> str | None:
    return None if tick is None else utc_iso(tick)


class SiteClock:
    """Local-time renderings for one site (fixed offset, no DST), cached per second and day
    because thousands of lines share the same second."""

    __slots__ = ("offset_ticks", "_sec", "_hms", "_day", "_date")

    def __init__(self, utc_offset_s: int):
        self.offset_ticks = utc_offset_s * TPS
        self._sec = -1
        self._hms = ""
        self._day = -1
        self._date = ""

    def _local(self, tick: int) -> tuple[int, int]:
        lt = tick + self.offset_ticks
        return lt // TPS, lt % TPS

    def hms(self, tick: int) -> tuple[str, int]:
        """('HH:MM:SS', fraction in ticks) in local time."""
        sec, frac = self._local(tick)
        if sec != self._sec:
            self._sec = sec
            ds = sec % 86400
            self._hms = f"{ds // 3600:02d}:{ds // 60 % 60:02d}:{ds % 60:02d}"
        return self._hms, frac

    def date(self, tick: int) -> str:
        """'YYYY-MM-DD' local."""
        day = (tick + self.offset_ticks) // (TPS * 86400)
        if day != self._day:
            self._day = day
            self._date = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
        return self._date

    def iso_ms(self, tick: int) -> str:
        """Standard log event time (time-format = ISO8601): 'YYYY-MM-DDTHH:MM:SS.mmm' local."""
        hms, frac = self.hms(tick)
        return f"{self.date(tick)}T{hms}.{frac // TPMS:03d}"

    def iso_s(self, tick: int) -> str:
        hms, _ = self.hms(tick)
        return f"{self.date(tick)}T{hms}"

    def file_stamp(self, tick: int) -> str:
        """Segment name stamp 'YYYYMMDD_HHMMSS_mmm' (local time of segment creation)."""
        hms, frac = self.hms(tick)
        return f"{self.date(tick).replace('-', '')}_{hms.replace(':', '')}_{frac // TPMS:03d}"


def utc_iso_ms(tick: int) -> str:
    """Header 'UTC time:' form."""
    dt = _EPOCH + timedelta(seconds=tick // TPS)
    return f"{dt.strftime('%Y-%m-%dT%H:%M:%S')}.{(tick % TPS) // TPMS:03d}"


def utc_iso_s(tick: int) -> str:
    return (_EPOCH + timedelta(seconds=tick // TPS)).strftime("%Y-%m-%dT%H:%M:%S")


def running_time(ticks: int) -> str:
    """Header 'Running time:' form d:hh:mm:ss."""
    s = max(0, ticks // TPS)
    return f"{s // 86400}:{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
