"""Interval reports (docs/semantics.md §12): per hour, queue and virtual-queue KPIs
(`queues`), agent KPIs and not-ready time by reason (`agents`), computed from IDB frames; the
hour's frames read from the IDB (`frames`); one self-contained HTML page of charts (`html`)."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "agents": ["agent_kpis"],
    "frames": ["HourFrames", "read_hour", "read_kpis", "read_span"],
    "html": ["render_page"],
    "intervals": ["hour_window"],
    "queues": ["queue_kpis"],
})
