"""Campaign processing attempts from OCS reporting events (pure Polars): GO_CAMPAIGN,
GO_CAMPAIGNHISTORY and GO_CAMPPROP_HIST (docs/semantics.md §14).

A campaign processing attempt is a campaign group of one OCS from its load to its unload: OCS
names it with a session GUID (`SessID`), a new one at every load. An attempt lies within one data
source session of the OCS: one open when the session ends is closed then, once the window's data
reaches that moment (as gls closes login sessions), and the group's next event starts another.
Its rows depend only on its own events, so a day built hour by hour equals the day built at once.
"""

from __future__ import annotations

import polars as pl

from transforms.idb import gsys, lineage, row_id, table, times
from transforms.idb.dictionary import CampaignCause, CampaignState, DialMode, OptimMode
from transforms.roles.gos.attempts import close_at_dss_end, code, go_events, status, with_attempts
from transforms.roles.result import RoleResult

CAMPAIGN_TABLES = ["GO_CAMPAIGN", "GO_CAMPAIGNHISTORY", "GO_CAMPPROP_HIST"]

LOADED, ENDS = "CampaignLoaded", ("CampaignUnloaded", "CampaignForceUnloaded")
# EvtCode -> the campaign state it leaves (None: a property change, the state stays)
STATE_AFTER: dict[str, CampaignState | None] = {
    LOADED: CampaignState.LOADED,
    "CampaignStarted": CampaignState.STARTED,
    "CampaignStopped": CampaignState.LOADED,
    "CampaignUnloading": CampaignState.UNLOADING,
    "CampaignUnloaded": CampaignState.TERMINATED,
    "CampaignForceUnloaded": CampaignState.TERMINATED,
    "CampaignModeChanged": None,
}
CAMPAIGN_GROUP = ["app", "dss_id", "go_group_dbid", "go_campaign_dbid"]


def campaign_events(events: pl.DataFrame) -> pl.DataFrame:
    """The window's campaign events, in order, each with its attempt (`sess`) and the state,
    dialing mode and optimisation it leaves the attempt in."""
    ev = with_attempts(go_events(events, list(STATE_AFTER)), CAMPAIGN_GROUP, LOADED, ENDS,
                       "go_session", "sess")
    state = pl.col("go_evt_code").replace_strict(
        {k: (None if v is None else int(v)) for k, v in STATE_AFTER.items()}, return_dtype=pl.Int32)
    over = pl.col("sess")
    return ev.with_columns(
        seq=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(over),
        state=state.forward_fill().over(over),
        dial_mode=code(pl.col("go_dial_mode"), DialMode).forward_fill().over(over),
        optim_mode=code(pl.col("go_optim_mode"), OptimMode).forward_fill().over(over),
        optim_value=pl.col("go_optim_value").forward_fill().over(over),
        cause=code(pl.col("go_cause"), CampaignCause))


def build_campaigns(events: pl.DataFrame, partition: str = "",
                    dss_ends: pl.DataFrame | None = None,
                    ocs_ids: dict[str, int] | None = None) -> RoleResult:
    """`events`: reconciled events with `app`, `src`, `dss_id` and the go_* columns;
    `dss_ends`: dss_id, end_ts, end_src of the data source sessions known to have ended;
    `ocs_ids`: OCS application name -> DBID (the configuration's)."""
    ev = campaign_events(events)
    if ev.height == 0:
        return RoleResult.empty(CAMPAIGN_TABLES)
    attempts = close_at_dss_end(_attempts(ev), dss_ends, events["ts"].max())
    attempts = attempts.with_columns(
        state=pl.when(pl.col("closed_by").is_null()).then(pl.col("state")),
        ocs_id=pl.col("app").replace_strict(ocs_ids or {}, default=None, return_dtype=pl.Int32))
    return RoleResult({"GO_CAMPAIGN": _campaigns(attempts, partition),
                       "GO_CAMPAIGNHISTORY": _history(ev, partition),
                       "GO_CAMPPROP_HIST": _properties(ev, partition)},
                      status(attempts, "sess"),
                      event_keys=ev.select("file_id", "line", key="sess"))


def _attempts(ev: pl.DataFrame) -> pl.DataFrame:
    """One row per attempt: what GO_CAMPAIGN shows, and whether an unload ended it."""
    ended = pl.col("go_evt_code").is_in(ENDS)
    return ev.group_by("sess").agg(
        app=pl.col("app").first(),
        campaign=pl.col("go_campaign_dbid").drop_nulls().first(),
        group=pl.col("go_group_dbid").drop_nulls().first(),
        state=pl.col("state").last(), dial_mode=pl.col("dial_mode").last(),
        optim_mode=pl.col("optim_mode").last(), optim_value=pl.col("optim_value").last(),
        created=pl.col("ts").first(), last=pl.col("ts").last(),
        terminated=pl.col("ts").filter(ended).first(), open=~ended.any(),
        dss_id=pl.col("dss_id").first(), src=pl.col("src").first(),
        src_last=pl.col("src").last())


def _campaigns(rows: pl.DataFrame, partition: str) -> pl.DataFrame:
    # a terminated attempt's state is null, as the IDB has it
    state = pl.when(pl.col("state") != int(CampaignState.TERMINATED)).then(pl.col("state"))

    return table("GO_CAMPAIGN").conform(rows.sort("sess").select(
        ID=row_id(pl.lit("GO_CAMPAIGN"), pl.col("sess")), SESSID=pl.col("sess"),
        CAMPAIGNID=pl.col("campaign"), GROUPID=pl.col("group"), OCSID=pl.col("ocs_id"),
        STATE=state,
        DIALMODE=pl.col("dial_mode"), OPTIMMODE=pl.col("optim_mode"),
        OPTIMVALUE=pl.col("optim_value"),
        *times(CREATED=pl.col("created"), TERMINATED=pl.col("terminated"),
               LASTCHANGE=pl.max_horizontal("last", "terminated")),
        ETL_CLOSED_BY=pl.col("closed_by"),
        *gsys(pl.col("dss_id"), pl.col("created"), pl.col("last")),
        *lineage(pl.col("sess"), partition, pl.col("src"), pl.col("src_last"))))


def _history(ev: pl.DataFrame, partition: str) -> pl.DataFrame:
    rows = ev.with_columns(prev_state=pl.col("state").shift(1).over("sess"),
                           prev_ts=pl.col("ts").shift(1).over("sess"))
    return table("GO_CAMPAIGNHISTORY").conform(rows.select(
        ID=row_id(pl.lit("GO_CAMPAIGNHISTORY"), pl.col("sess"), pl.col("seq")),
        SESSID=pl.col("sess"), SEQ=pl.col("seq"), STATE=pl.col("state"),
        PREVSTATE=pl.col("prev_state"), CAUSE=pl.col("cause"),
        *times(PREVSENTER=pl.col("prev_ts"), ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("sess"), partition, pl.col("src"), pl.col("src"))))


def _properties(ev: pl.DataFrame, partition: str) -> pl.DataFrame:
    """A row where the dialing mode or the optimisation changes (the first at the attempt's
    first event that names them)."""
    props = ["dial_mode", "optim_mode", "optim_value"]
    changed = pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift(1).over("sess"))
                                for c in props)
    named = pl.any_horizontal(pl.col(c).is_not_null() for c in props)
    mode_changed = pl.col("dial_mode").ne_missing(pl.col("dial_mode").shift(1).over("sess"))
    rows = (ev.with_columns(_dm_enter=pl.when(mode_changed).then(pl.col("ts"))
                            .forward_fill().over("sess"))
            .filter(changed & named)
            .with_columns(prev_mode=pl.col("dial_mode").shift(1).over("sess"),
                          prev_enter=pl.col("_dm_enter").shift(1).over("sess"),
                          prev_optim=pl.col("optim_mode").shift(1).over("sess"),
                          prev_value=pl.col("optim_value").shift(1).over("sess")))
    return table("GO_CAMPPROP_HIST").conform(rows.select(
        ID=row_id(pl.lit("GO_CAMPPROP_HIST"), pl.col("sess"), pl.col("seq")),
        SESSID=pl.col("sess"), SEQ=pl.col("seq"), DIALMODE=pl.col("dial_mode"),
        PREVDIALMODE=pl.col("prev_mode"), OPTIMMODE=pl.col("optim_mode"),
        OPTIMVALUE=pl.col("optim_value"), PREVOPTIMMODE=pl.col("prev_optim"),
        PREVOPTIMVALUE=pl.col("prev_value"),
        *times(PREVDMENTER=pl.col("prev_enter"), ADDED=pl.col("ts")),
        *gsys(pl.col("dss_id"), pl.col("ts"), pl.col("ts")),
        *lineage(pl.col("sess"), partition, pl.col("src"), pl.col("src"))))

