"""One self-contained HTML page of the interval reports: inline SVG charts drawn here (no
JavaScript, nothing fetched), each followed by the table of the numbers it draws. Every number
shown carries `data-value` so a test can compare the page with the tables."""

from __future__ import annotations

from html import escape

import polars as pl

WIDTH, HEIGHT, PAD = 720, 240, 40
COLOURS = ["#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b"]


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def _cell(value) -> str:
    raw = "" if value is None else str(value)
    return f'<td data-value="{escape(raw)}">{escape(_fmt(value))}</td>'


def _table(frame: pl.DataFrame, caption: str) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(_cell(v) if i else f"<th>{escape(str(v))}</th>"
                                    for i, v in enumerate(row)) + "</tr>"
                   for row in frame.iter_rows())
    return (f'<table class="data" data-caption="{escape(caption)}"><thead><tr>{head}</tr>'
            f"</thead><tbody>{rows}</tbody></table>")


def _chart(title: str, labels: list[str], series: dict[str, list], kind: str = "bar",
           unit: str = "") -> str:
    """An SVG bar chart (grouped) or line chart of `series` over `labels`."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = max(values, default=0) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(len(labels), 1)
    parts = [f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
             f'stroke="#444"/>',
             f'<text x="{PAD - 4}" y="{PAD}" text-anchor="end" font-size="10">{_fmt(top)}</text>',
             f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end" font-size="10">0</text>']
    for n, label in enumerate(labels):
        parts.append(f'<text x="{PAD + step * (n + 0.5):.1f}" y="{HEIGHT - PAD + 14}" '
                     f'text-anchor="middle" font-size="9">{escape(label[-5:])}</text>')
    for s, (name, vs) in enumerate(series.items()):
        colour = COLOURS[s % len(COLOURS)]
        if kind == "bar":
            width = step * 0.8 / len(series)
            for n, v in enumerate(vs):
                h = inner_h * (v or 0) / top
                x = PAD + step * n + step * 0.1 + width * s
                parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{width:.1f}" '
                             f'height="{h:.1f}" fill="{colour}"><title>{escape(name)} '
                             f'{escape(labels[n])}: {_fmt(v)}</title></rect>')
        else:
            points = " ".join(f"{PAD + step * (n + 0.5):.1f},{HEIGHT - PAD - inner_h * v / top:.1f}"
                              for n, v in enumerate(vs) if v is not None)
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                         f'stroke-width="2"/>')
        parts.append(f'<rect x="{WIDTH - PAD - 150}" y="{8 + 14 * s}" width="10" height="10" '
                     f'fill="{colour}"/><text x="{WIDTH - PAD - 136}" y="{17 + 14 * s}" '
                     f'font-size="11">{escape(name)}</text>')
    return (f'<figure><figcaption>{escape(title)}{f" ({unit})" if unit else ""}</figcaption>'
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{escape(title)}">{"".join(parts)}</svg></figure>')


def _by_hour(queue: pl.DataFrame, agent: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All queues and all agents per hour (ratios recomputed from the sums)."""
    decided = pl.col("ANSWERED") + pl.col("ABANDONED")
    q = (queue.group_by("HOUR").agg(pl.col("OFFERED", "ANSWERED", "ABANDONED",
                                           "ANSWERED_IN_THRESHOLD", "HANDLED", "WAIT_SECONDS",
                                           "HANDLE_SECONDS").sum())
         .sort("HOUR")
         .select("HOUR", "OFFERED", "ANSWERED", "ABANDONED",
                 SERVICE_LEVEL=pl.when(decided > 0).then(pl.col("ANSWERED_IN_THRESHOLD") / decided)
                 .round(4),
                 ASA_SECONDS=pl.when(pl.col("ANSWERED") > 0)
                 .then(pl.col("WAIT_SECONDS") / pl.col("ANSWERED")).round(1),
                 AHT_SECONDS=pl.when(pl.col("HANDLED") > 0)
                 .then(pl.col("HANDLE_SECONDS") / pl.col("HANDLED")).round(1)))
    working = pl.col("BUSY_SECONDS") + pl.col("ACW_SECONDS")
    a = (agent.group_by("HOUR").agg(pl.col("LOGIN_SECONDS", "READY_SECONDS", "NOT_READY_SECONDS",
                                           "BUSY_SECONDS", "ACW_SECONDS").sum())
         .sort("HOUR")
         .select("HOUR", *[pl.col(c).round(1) for c in ("LOGIN_SECONDS", "READY_SECONDS",
                                                          "NOT_READY_SECONDS", "BUSY_SECONDS",
                                                          "ACW_SECONDS")],
                 OCCUPANCY=pl.when(working + pl.col("READY_SECONDS") > 0)
                 .then(working / (working + pl.col("READY_SECONDS"))).round(4)))
    return q, a


def render_page(kpis: dict[str, pl.DataFrame], title: str = "icon-etl interval reports") -> str:
    """The page of the ETL_KPI_* frames (`read_kpis`)."""
    queue, agent = kpis["ETL_KPI_QUEUE"], kpis["ETL_KPI_AGENT"]
    q, a = _by_hour(queue, agent)
    hours = q["HOUR"].to_list()
    agent_hours = a["HOUR"].to_list()
    threshold = queue["SL_THRESHOLD_SECONDS"].drop_nulls().unique().sort().to_list()
    per_agent = (agent.group_by("AGENT").agg(pl.col("READY_SECONDS", "NOT_READY_SECONDS",
                                                    "BUSY_SECONDS", "ACW_SECONDS").sum())
                 .sort("AGENT"))
    occupancy = ((pl.col("BUSY_SECONDS") + pl.col("ACW_SECONDS"))
                 / (pl.col("BUSY_SECONDS") + pl.col("ACW_SECONDS") + pl.col("READY_SECONDS")))
    per_agent = per_agent.select("AGENT", *[pl.col(c).round(1) for c in per_agent.columns[1:]],
                                 OCCUPANCY=pl.when(occupancy.is_finite()).then(occupancy.round(4)))
    sections = [
        ("Calls per hour, all queues",
         _chart("Offered, answered, abandoned", hours, {
             "offered": q["OFFERED"].to_list(), "answered": q["ANSWERED"].to_list(),
             "abandoned": q["ABANDONED"].to_list()}),
         q.select("HOUR", "OFFERED", "ANSWERED", "ABANDONED")),
        (f"Service level (answered within {', '.join(map(str, threshold))} s / answered + "
         f"abandoned)",
         _chart("Service level", hours, {"service level": q["SERVICE_LEVEL"].to_list()},
                kind="line", unit="share"),
         q.select("HOUR", "SERVICE_LEVEL")),
        ("Speed of answer and handle time",
         _chart("ASA and AHT", hours, {"ASA": q["ASA_SECONDS"].to_list(),
                                       "AHT": q["AHT_SECONDS"].to_list()}, unit="seconds"),
         q.select("HOUR", "ASA_SECONDS", "AHT_SECONDS")),
        ("Agent occupancy",
         _chart("Occupancy", agent_hours, {"occupancy": a["OCCUPANCY"].to_list()}, kind="line",
                unit="share"),
         a.select("HOUR", "OCCUPANCY")),
        ("Agent state time per hour, all agents",
         _chart("State time", agent_hours, {
             "ready": a["READY_SECONDS"].to_list(), "not ready": a["NOT_READY_SECONDS"].to_list(),
             "busy": a["BUSY_SECONDS"].to_list(), "ACW": a["ACW_SECONDS"].to_list()},
                unit="seconds"),
         a.select("HOUR", "LOGIN_SECONDS", "READY_SECONDS", "NOT_READY_SECONDS", "BUSY_SECONDS",
                  "ACW_SECONDS")),
        ("State time per agent, all hours",
         _chart("State time per agent", per_agent["AGENT"].to_list(), {
             "ready": per_agent["READY_SECONDS"].to_list(),
             "not ready": per_agent["NOT_READY_SECONDS"].to_list(),
             "busy": per_agent["BUSY_SECONDS"].to_list(),
             "ACW": per_agent["ACW_SECONDS"].to_list()}, unit="seconds"),
         per_agent),
    ]
    body = "".join(f'<section><h2>{escape(h)}</h2>{chart}{_table(frame, h)}</section>'
                   for h, chart, frame in sections)
    span = f"{hours[0]} .. {hours[-1]}" if hours else "no hours"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em;color:#222}"
            "table.data{border-collapse:collapse;margin:0.5em 0 2em}"
            "table.data td,table.data th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
            "figure{margin:0}figcaption{font-weight:bold}"
            f"</style></head><body><h1>{escape(title)}</h1><p>Hours {escape(span)} (UTC); "
            f"definitions: docs/semantics.md §12.</p>{body}</body></html>\n")
