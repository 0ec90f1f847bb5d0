"""T-Server log output: one :class:`TServerLog` per T-Server, one :class:`SegmentWriter` per
replica folder.

``TServerLog`` owns what every replica shares: the event sequence numbers, the per-server
monotonic clock (``stamp``), and the rendering of each entry (done once). It hands the
finished text to each replica's ``SegmentWriter``, which only decides where segments roll
and writes headers. Replica ``b`` of an HA pair therefore carries the very same events
(same sequence numbers and times) but rolls at other points.

Faults (``simulator/faults.py``): a writer with a ``view`` (a ``faults.ReplicaView``) gets
every entry in structured form instead (``view.entry(tick, kind, seq, payload)``); the view
drops, injects, renumbers and re-renders (clock skew) for that replica only, and calls
``write`` itself. ``SegmentWriter.skew`` shifts the times of headers and file names. Writers
without a view take the shared, rendered-once text, so a run without faults is unchanged.

A lower-level seam stays available for ad-hoc experiments: ``SegmentWriter.fault`` may be set
to a callable ``fault(writer, tick, seq, text) -> str | None`` that sees every entry text
before it is written (``seq`` is the event sequence number, None for non-event lines) and
returns the text to write instead (``""`` or None drops it). The built-in faults do not use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from . import tlib
from .clock import TPMS, TPS, SiteClock, running_time, utc_iso_ms, utc_iso_s

FaultHook = Callable[["SegmentWriter", int, "int | None", str], "str | None"]

# entry kinds handed to a replica view (faults.ReplicaView.entry)
EV, RQ, LN, CP = "event", "request", "line", "check_point"


def render(clock: SiteClock, etype: str, t: int, seq: int | None, payload) -> str:
    """The text of one log entry stamped at tick ``t`` (already skewed by the caller)."""
    if etype == EV:
        kind, name, body = payload
        hms, frac = clock.hms(t)
        return tlib.event_block(hms, frac, kind, name, seq, t // TPS, body)
    if etype == RQ:
        name, label, fd, ref, body = payload
        return tlib.request_block(clock.iso_ms(t), name, label, fd, ref, body)
    if etype == LN:
        return f"{clock.iso_ms(t)} {payload}\n"
    return f"{clock.iso_ms(t)} Trc 04120 Check point {clock.iso_s(t)}\n"

LOG_DIR_LABEL = "/var/log/genesys"   # the path printed in `File:`; fixed so output is byte-identical
                                     # whatever output folder the caller chose


class Client:
    """A T-Library client connection (agent desktop, router)."""

    __slots__ = ("app", "fd", "handle", "addr", "label", "ref", "connected")

    def __init__(self, app: str, fd: int, handle: int, addr: str):
        self.app = app
        self.fd = fd
        self.handle = handle
        self.addr = addr
        self.label = f"{handle:08x} {app} {addr}"
        self.ref = 0
        self.connected = False


class SegmentWriter:
    """Writes one T-Server's log into one folder as size-rolled segments."""

    def __init__(self, folder: Path, app: str, host: str, tz_line: str, clock: SiteClock,
                 segment_bytes: int, first_segment_bytes: int, force_split: bool,
                 app_type: str = "TServer (1)", command: str = "ts_sip"):
        self.folder = folder
        self.app = app
        self.app_type = app_type
        self.command = command
        self.host = host
        self.tz_line = tz_line
        self.clock = clock
        self.limit = segment_bytes
        self.first_limit = first_segment_bytes
        # Roll-over is checked after every *line*. When a roll-over would fall exactly between
        # two blocks, `force_split` (until one split has happened) rolls one line earlier so the
        # last attribute line of the block opens the next segment: hazard H11 then occurs in
        # every run, not only when the size budget happens to end inside a block.
        self.need_split = force_split
        self.fault: FaultHook | None = None
        self.view = None                # faults.ReplicaView of this replica, if any
        self.skew = 0                   # ticks added to header times and file-name stamps
        self.files: list[Path] = []
        self.bytes = 0
        self.splits = 0
        self._fh = None
        self._buf: list[str] = []
        self._buflen = 0
        self._size = 0
        self._cur_limit = first_segment_bytes
        self._pending_roll = False
        self._ordinal = 0
        self._proc_start = 0
        self._names: set[str] = set()

    # -- segments ----------------------------------------------------------------------------
    def restart(self, tick: int, process_start: int, ordinal: int = 0) -> None:
        """(Re)start the log: a process started at ``process_start`` opens its first segment
        (ordinal ``ordinal + 1``: 1 for a new process)."""
        self._proc_start = process_start
        self._ordinal = ordinal
        self._new_segment(tick)

    @property
    def ordinal(self) -> int:
        return self._ordinal

    def cut(self) -> None:
        """End the current segment after what is written so far; the next entry opens a new
        one (next ordinal, fresh header stamped with that entry's time)."""
        self._close_file()
        self._pending_roll = True

    def _header(self, tick: int, path_label: str) -> str:
        c = self.clock
        tick += self.skew
        proc_start = self._proc_start + self.skew
        rows = [
            ("Application name:", self.app),
            ("Application type:", self.app_type),
            ("Command line:", f"{self.command} -host cfgsrv -port 2020 -app {self.app}"),
            ("Host name:", self.host),
            ("DST:", "TZ = 0, timeb = 0"),
            ("Time zone:", self.tz_line),
            ("UTC time:", utc_iso_ms(tick)),
            ("Local time:", c.iso_ms(tick)),
            ("Start time (UTC):", utc_iso_s(proc_start)),
            ("Running time:", running_time(tick - proc_start)),
            ("Host info:", "Linux 5.15 x86_64"),
            ("File:", f"({self._ordinal}) {path_label}"),
        ]
        return "".join(f"{k:<20}{v}\n" for k, v in rows) + "\n"

    def _new_segment(self, tick: int) -> None:
        self._close_file()
        self._ordinal += 1
        stamp_tick = tick + self.skew
        name = f"{self.app}.{self.clock.file_stamp(stamp_tick)}.log"
        while name in self._names:          # two roll-overs in one millisecond: next free name
            stamp_tick += TPMS
            name = f"{self.app}.{self.clock.file_stamp(stamp_tick)}.log"
        self._names.add(name)
        path = self.folder / name
        self.files.append(path)
        self._fh = open(path, "w", encoding="ascii", newline="")
        header = self._header(tick, f"{LOG_DIR_LABEL}/{name}")
        self._buf = [header]
        self._buflen = self._size = len(header)
        self._cur_limit = self.limit if self._ordinal > 1 else self.first_limit
        self._pending_roll = False

    def _flush(self) -> None:
        if self._buf and self._fh is not None:
            data = "".join(self._buf)
            self._fh.write(data)
            self.bytes += len(data)
        self._buf = []
        self._buflen = 0

    def _close_file(self) -> None:
        if self._fh is not None:
            self._flush()
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        self._close_file()

    # -- writing -----------------------------------------------------------------------------
    def write(self, tick: int, text: str, seq: int | None = None) -> None:
        if self.fault is not None:
            text = self.fault(self, tick, seq, text) or ""
            if not text:
                return
        if self._pending_roll:
            self._new_segment(tick)
        n = len(text)
        if self._size + n < self._cur_limit:          # fast path: no roll-over inside this entry
            self._buf.append(text)
            self._buflen += n
            self._size += n
            if self._buflen > 1 << 20:
                self._flush()
            return
        self._write_rolling(tick, text)

    def _write_rolling(self, tick: int, text: str) -> None:
        n = len(text)
        pos = 0
        while pos < n:
            need = self._cur_limit - self._size       # bytes until the limit is reached
            cross = pos + max(need, 1) - 1            # offset of the byte that reaches it
            if cross >= n:
                self._buf.append(text[pos:])
                self._size += n - pos
                return
            end = text.find("\n", cross) + 1          # the roll happens after this line
            cut = end
            if self.need_split and end == n:
                last = text.rfind("\n", pos, n - 1) + 1   # start of the entry's last line
                if last > pos and text[last] == "\t":
                    cut = last
            self._buf.append(text[pos:cut])
            self._size += cut - pos
            pos = cut
            if pos < n:                               # the rest of this entry opens the next one
                if text[pos] == "\t":
                    self.need_split = False
                    self.splits += 1
                self._new_segment(tick)
            else:
                self._pending_roll = True             # next entry opens the next segment


class TServerLog:
    """What one T-Server prints: sequence numbers, monotonic time, rendering, fan-out."""

    def __init__(self, clock: SiteClock, writers: list[SegmentWriter], first_seq: int):
        self.clock = clock
        self.writers = writers
        self.seq = first_seq - 1
        self.last = 0
        self.events = 0
        self.requests = 0
        self.lines = 0
        self.clients: list[Client] = []      # every client connection ever opened, in order
        self.faulted = any(w.view is not None for w in writers)
        for w in writers:
            if w.view is not None:
                w.view.bind(self)

    def stamp(self, t: int) -> int:
        """A T-Server handles one message at a time: every entry gets a time after the
        previous one (at least 0.1 ms later), so times never go backwards in its log."""
        if t <= self.last:
            t = self.last + 1
        self.last = t
        return t

    def _emit(self, t: int, etype: str, seq: int | None, payload) -> None:
        """Fan-out when some replica has faults: plain writers share one rendering."""
        text = None
        for w in self.writers:
            if w.view is None:
                if text is None:
                    text = render(self.clock, etype, t, seq, payload)
                w.write(t, text, seq)
            else:
                w.view.entry(t, etype, seq, payload)

    def event(self, t: int, name: str, body: str, kind: str = tlib.EVENT) -> int:
        t = self.stamp(t)
        self.seq += 1
        self.events += 1
        if self.faulted:
            self._emit(t, EV, self.seq, (kind, name, body))
            return t
        hms, frac = self.clock.hms(t)
        text = tlib.event_block(hms, frac, kind, name, self.seq, t // TPS, body)
        for w in self.writers:
            w.write(t, text, self.seq)
        return t

    def request(self, t: int, client: Client, name: str, body: str) -> tuple[int, int]:
        t = self.stamp(t)
        client.ref += 1
        self.requests += 1
        if self.faulted:
            self._emit(t, RQ, None, (name, client.label, client.fd, client.ref, body))
            return t, client.ref
        text = tlib.request_block(self.clock.iso_ms(t), name, client.label, client.fd,
                                  client.ref, body)
        for w in self.writers:
            w.write(t, text)
        return t, client.ref

    def line(self, t: int, text: str) -> int:
        """A standard log event line (`<iso time> <Lvl> <id> <text>`)."""
        t = self.stamp(t)
        self.lines += 1
        if self.faulted:
            self._emit(t, LN, None, text)
            return t
        out = f"{self.clock.iso_ms(t)} {text}\n"
        for w in self.writers:
            w.write(t, out)
        return t

    def check_point(self, t: int) -> int:
        t = self.stamp(t)
        self.lines += 1
        if self.faulted:
            self._emit(t, CP, None, None)
            return t
        out = f"{self.clock.iso_ms(t)} Trc 04120 Check point {self.clock.iso_s(t)}\n"
        for w in self.writers:
            w.write(t, out)
        return t

    def close(self, end: int | None = None) -> None:
        """Close every replica's log; views first run what is due before ``end``."""
        for w in self.writers:
            if w.view is not None and end is not None:
                w.view.finish(end)
            w.close()
