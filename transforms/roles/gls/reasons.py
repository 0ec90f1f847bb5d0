"""Reason codes (G_AGENT_STATE_RC, G_AGENT_STATE_RC_A) and DND intervals (G_DND_HISTORY) of
each DN span.

Reason codes: every agent state event states the DN's current reasons (T-Server keeps one
current reason per DN, from the last successful request). A code is (HWFLAG, KEYNAME, VALUE).
At each agent state event of the span:

* if the agent state or workmode changed, every open code closes and the event's codes open;
* if not (a self-transition), codes the event repeats stay open, the others close, new or
  changed ones open.

A code still open at the end of the span closes with it (logout, or the artificial closure);
codes of a span still open at the end of the window are *active* (G_AGENT_STATE_RC_A).
"""

from __future__ import annotations

import polars as pl

from transforms.roles.gls.prep import DND_ON
from transforms.roles.gls.sessions import SPAN_END, closed_at, toggles
from transforms.roles.gls.states import ROW_AGENT, ROW_DND, SPAN

CODE = ["hw", "key", "value"]


def reason_instances(rows: pl.DataFrame, codes: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """One row per reason-code instance: created (ts, src), terminated (null while active),
    agent state / workmode / queue of the event that opened it, closed_by."""
    agent = rows.filter(pl.col("row_kind") == ROW_AGENT).sort(*SPAN, "ord") \
        .with_columns(r=pl.int_range(pl.len()).over(SPAN))
    occ = codes.join(agent.select("file_id", "line", *SPAN, "r", "state_change", "ts", "src",
                                  "dss_id", "u_ff", "wm_ff", "queue_ff"),
                     on=["file_id", "line"], how="inner")
    group = [*SPAN, *CODE]
    occ = occ.sort(*group, "r").with_columns(
        _cont=((pl.col("r") - pl.col("r").shift(1).over(group)) == 1).fill_null(False)
        & ~pl.col("state_change"))
    occ = occ.with_columns(_run=(~pl.col("_cont")).cast(pl.Int32).cum_sum().over(group))
    inst = occ.group_by(*group, "_run", maintain_order=True).agg(
        created=pl.col("ts").first(), src=pl.col("src").first(), dss_id=pl.col("dss_id").first(),
        state=pl.col("u_ff").first(), workmode=pl.col("wm_ff").first(),
        queue=pl.col("queue_ff").first(), _r_next=pl.col("r").last() + 1)
    nxt = agent.select(*SPAN, _r_next="r", _next_ts="ts", _next_src="src")
    inst = (inst.join(nxt, on=[*SPAN, "_r_next"], how="left")
            .join(spans.select(*SPAN, *SPAN_END), on=SPAN, how="left"))
    return inst.with_columns(**closed_at("_next_ts", "_next_src", logout_closes=False)).select(*SPAN, *CODE, "created", "src", "dss_id", "state", "workmode", "queue", "terminated",
             "src_last", "closed_by")


def dnd_intervals(rows: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """EventDNDOn opens a DND interval of the DN (when not already on), EventDNDOff closes it;
    one still on when the span ends closes with it (`ETL_CLOSED_BY` = how the span ended:
    `logout`, or the closure rule)."""
    d = toggles(rows.filter(pl.col("row_kind") == ROW_DND).sort(*SPAN, "ord"),
                pl.col("message") == DND_ON, SPAN)
    ons = d.filter(pl.col("_start")).select(*SPAN, "n", "app", "dss_id", created="ts", src="src",
                                            state="eff")
    offs = d.filter(pl.col("_end")).select(*SPAN, "n", _off_ts="ts", _off_src="src")
    out = (ons.join(offs, on=[*SPAN, "n"], how="left")
           .join(spans.select(*SPAN, *SPAN_END), on=SPAN, how="left"))
    return out.with_columns(**closed_at("_off_ts", "_off_src")).select(*SPAN, "app", "dss_id", "created", "src", "state", "terminated", "src_last",
             "closed_by")
