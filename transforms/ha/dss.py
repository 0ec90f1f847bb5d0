"""Data source sessions (DSS): the unbroken stretches of one T-Server's events in one replica's
logs (docs/architecture.md "High availability", docs/semantics.md §10).

ICON writes a G_DSS_<role>_PROVIDER row per connection to a T-Server. From logs, a new session
starts where the stream of a switch's events breaks (docs/semantics.md §10):

* another T-Server process: a restart (new `Start time`, DSCONN_TYPE 3) or the backup of the HA
  pair taking over (another application of the switch, 5);
* EventLinkDisconnected … EventLinkConnected: the T-Server lost its switch (4);
* a jump in AttributeEventSequenceNumber, a missing segment (header ordinal skipped), or a silence
  with no line at all (not even a check point) longer than `max_silence`: the replica lost part of
  the stream (2).

The time between two sessions is not covered by that replica: the HA reconciliation fills it from
another replica (transforms/ha/reconcile.py). Everything here is a pure function of the replica's
parsed lines, so a session (and its DSS_ID) is the same whatever hour is being processed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import polars as pl

from transforms.idb import TSERVER_DSS_TABLES, table
from transforms.idb.dictionary import DsConnType, DsType

MAX_SILENCE_S = 3900   # hourly check points + 5 minutes

# a segment's lines as `reduce_skeleton` keeps them (message null on standard lines), and the
# skeleton of a replica: those lines with their segment's application, process start, ordinal
REDUCED_SCHEMA = {"file_id": pl.UInt32, "line": pl.UInt32, "ts": pl.Datetime("us", "UTC"),
                  "seq": pl.UInt64, "message": pl.String, "prev_seq": pl.UInt64}
SKELETON_SCHEMA = {**REDUCED_SCHEMA, "app": pl.String, "proc_start": pl.Datetime("us"),
                   "ordinal": pl.Int32}
SESSION_SCHEMA = {"replica": pl.String, "switch": pl.String, "switch_id": pl.Int32,
                  "dss_id": pl.Int64, "start_ts": pl.Datetime("us", "UTC"),
                  "end_ts": pl.Datetime("us", "UTC"), "open": pl.Boolean, "conn_type": pl.Int32,
                  "end_reason": pl.String, "app": pl.String, "first_seq": pl.UInt64,
                  "last_seq": pl.UInt64, "first_file_id": pl.UInt32, "first_line": pl.UInt32,
                  "last_file_id": pl.UInt32, "last_line": pl.UInt32}

# break reasons -> DSCONN_TYPE of the session that follows
REASONS = {"restart": DsConnType.SERVER_RESTART, "switchover": DsConnType.SWITCHOVER,
           "link_disconnected": DsConnType.SWITCH_RECONNECT, "sequence_gap": DsConnType.RECONNECT,
           "missing_segment": DsConnType.RECONNECT, "silence": DsConnType.RECONNECT}
PRIORITY = list(REASONS)   # when several causes break the stream at once, the first names it


def dss_id(replica: str, switch: str, start: datetime) -> int:
    """Stable 31-bit id of a session: CRC of (replica, switch, first event time)."""
    return zlib.crc32(f"{replica}|{switch}|{start.isoformat()}".encode()) & 0x7FFFFFFF


# Sampled numbered events for clock-offset matching: all of them in a segment with at most
# KEEP_ALL_NUMBERED, else those whose sequence number is a multiple of SAMPLE_EVERY (both
# replicas sample the same numbers, so pairs still meet).
KEEP_ALL_NUMBERED = 5000
SAMPLE_EVERY = 64


def reduce_skeleton(lines: pl.DataFrame, max_silence: int = MAX_SILENCE_S,
                    keep_all_numbered: int = KEEP_ALL_NUMBERED,
                    sample_every: int = SAMPLE_EVERY) -> pl.DataFrame:
    """The few lines of one segment's parse that `breaks`, `sessions` and `clock_offsets` can
    tell apart from all of them (REDUCED_SCHEMA), so that the sessions of years of logs are
    derived from a small table (docs/architecture.md, "Data source sessions at scale").

    `lines`: file_id, line, ts, seq, message (null on standard lines). Within a file, kept are:
    its first and last line, event and numbered event; the first and last line of every
    `max_silence`-wide time bucket (a silence shows between the same two lines as before); both
    ends of a sequence jump and the events inside it (where the hole is placed); each
    EventLinkDisconnected and the event after it; the clock-offset sample; every line sharing a
    timestamp with a kept line; and the last event before and first event after each kept
    timestamp (the ends of a session). `prev_seq` keeps each numbered event's true predecessor in
    its file, so dropped events do not look like a sequence gap. Exact as long as the files of one
    T-Server process do not interleave in time (segments follow each other)."""
    file = "file_id"
    is_ev = pl.col("message").is_not_null()
    is_num = is_ev & pl.col("seq").is_not_null()
    idx = pl.col("_idx")
    num_seq = pl.when(is_num).then(pl.col("seq").cast(pl.Int64))
    ev_idx = pl.when(is_ev).then(idx)
    ranked = (
        lines.lazy().filter(pl.col("ts").is_not_null()).sort(file, "ts", "line")
        .with_columns(_idx=pl.int_range(pl.len()).over(file),
                      _bucket=pl.col("ts").dt.epoch("s") // max_silence)
        .with_columns(
            _n=pl.len().over(file),
            _ev_rank=is_ev.cum_sum().over(file), _ev_n=is_ev.sum().over(file),
            _num_rank=is_num.cum_sum().over(file), _num_n=is_num.sum().over(file),
            _prev_num=num_seq.shift(1).forward_fill().over(file),
            _next_num=num_seq.shift(-1).backward_fill().over(file),
            _prev_msg=pl.when(is_ev).then(pl.col("message")).shift(1).forward_fill().over(file),
            _lev=ev_idx.shift(1).forward_fill().over(file),
            _nev=ev_idx.shift(-1).backward_fill().over(file),
        )
        # the last event before, and the first after, this line's timestamp (its tie group)
        .with_columns(_lev=pl.col("_lev").first().over(file, "ts"),
                      _nev=pl.col("_nev").last().over(file, "ts"))
    )
    ends = lambda rank, n, flag: flag & ((pl.col(rank) == 1) | (pl.col(rank) == pl.col(n)))  # noqa: E731
    gap = pl.col("_next_num") - pl.col("_prev_num")
    jump_end = is_num & (pl.col("seq").cast(pl.Int64) - pl.col("_prev_num") > 1)
    jump_start = is_num & (pl.col("_next_num") - pl.col("seq").cast(pl.Int64) > 1)
    inside = is_ev & ~is_num & (gap.is_null() | (gap > 1))
    sample = is_num & ((pl.col("_num_n") <= keep_all_numbered)
                       | (pl.col("seq") % sample_every == 0))
    keep = ((idx == 0) | (idx == pl.col("_n") - 1)
            | ends("_ev_rank", "_ev_n", is_ev) | ends("_num_rank", "_num_n", is_num)
            | (idx == idx.min().over(file, "_bucket")) | (idx == idx.max().over(file, "_bucket"))
            | jump_start | jump_end | inside | sample
            | (pl.col("message") == "EventLinkDisconnected")
            | (is_ev & (pl.col("_prev_msg") == "EventLinkDisconnected")))
    ranked = ranked.with_columns(_keep=keep.fill_null(False)).collect()
    kept_ts = ranked.filter("_keep").select(file, "ts").unique()
    tied = ranked.join(kept_ts, on=[file, "ts"], how="semi")
    neighbours = pl.concat([tied.select(file, _idx="_lev"), tied.select(file, _idx="_nev")]
                           ).drop_nulls().unique()
    return (pl.concat([tied, ranked.join(neighbours, on=[file, "_idx"], how="semi")])
            .unique([file, "_idx"]).sort(file, "_idx")
            .with_columns(prev_seq=pl.when(is_num).then(pl.col("_prev_num")))
            .select(list(REDUCED_SCHEMA)).cast(REDUCED_SCHEMA))


def switch_of(lines: pl.DataFrame, switches: pl.DataFrame) -> pl.DataFrame:
    """`switch` (name) and `switch_id` of each line's application; an application the
    configuration does not know is a switch of its own."""
    return (lines.join(switches.select("app", "switch", "switch_id"), on="app", how="left")
            .with_columns(switch=pl.coalesce("switch", "app")))


def breaks(lines: pl.DataFrame, max_silence: int = MAX_SILENCE_S) -> pl.DataFrame:
    """Where the stream of each switch breaks: switch, gap_start (last line before), gap_end
    (first line after), reason. `lines`: the skeleton (SKELETON_SCHEMA) with `switch`."""
    ev = lines.filter(pl.col("message").is_not_null()).sort("switch", "ts", "file_id", "line")
    prev = lambda c: pl.col(c).shift(1).over("switch")  # noqa: E731
    proc = pl.concat_str(["app", pl.col("proc_start").cast(pl.String)], separator="|",
                         ignore_nulls=True)
    ev = ev.with_columns(_proc=proc)
    by_process = ev.with_columns(_pproc=prev("_proc"), _papp=prev("app"), _pts=prev("ts"),
                                 _pmsg=prev("message"))
    changed = pl.col("_pproc").is_not_null() & (pl.col("_proc") != pl.col("_pproc"))
    found = [
        by_process.filter(changed).select(
            "switch", gap_start="_pts", gap_end="ts",
            reason=pl.when(pl.col("app") != pl.col("_papp")).then(pl.lit("switchover"))
            .otherwise(pl.lit("restart"))),
        _sequence_gaps(ev),
        # the link is down from EventLinkDisconnected to the next event (EventLinkConnected)
        by_process.filter(pl.col("_pmsg") == "EventLinkDisconnected")
        .select("switch", gap_start="_pts", gap_end="ts", reason=pl.lit("link_disconnected")),
    ]
    # per process, over every line (events and check points): skipped segments and silences
    every = lines.with_columns(_proc=proc).sort("_proc", "ts", "file_id", "line")
    pp = lambda c: pl.col(c).shift(1).over("_proc")  # noqa: E731
    every = every.with_columns(_pts=pp("ts"), _pord=pp("ordinal"))
    found.append(every.filter(pl.col("ordinal") - pl.col("_pord") > 1)
                 .select("switch", gap_start="_pts", gap_end="ts", reason=pl.lit("missing_segment")))
    found.append(every.filter((pl.col("ts") - pl.col("_pts")) > timedelta(seconds=max_silence))
                 .select("switch", gap_start="_pts", gap_end="ts", reason=pl.lit("silence")))
    out = pl.concat(found, how="vertical_relaxed").with_columns(
        _rank=pl.col("reason").replace_strict({r: i for i, r in enumerate(PRIORITY)},
                                              return_dtype=pl.Int32))
    # one break per gap: causes found at the same place merge, the highest-priority one names it
    return (out.sort("switch", "gap_start", "_rank")
            .group_by("switch", "gap_end", maintain_order=True)
            .agg(pl.col("gap_start").min(), pl.col("reason").first())
            .select("switch", "gap_start", "gap_end", "reason").sort("switch", "gap_start"))


def _sequence_gaps(ev: pl.DataFrame) -> pl.DataFrame:
    """Numbered events (requests and replies carry no sequence number) of one process whose
    number jumps by more than one: the events in between are not in this replica."""
    numbered = ev.filter(pl.col("seq").is_not_null()).sort("_proc", "ts", "file_id", "line")
    prev = lambda c: pl.col(c).shift(1).over("_proc")  # noqa: E731
    # a reduced skeleton names each event's true predecessor in its file (`prev_seq`)
    pseq = pl.coalesce(pl.col("prev_seq").cast(pl.Int64), prev("seq").cast(pl.Int64))
    numbered = numbered.with_columns(_pts=prev("ts"), _pseq=pseq)
    jumps = (numbered.filter((pl.col("seq").cast(pl.Int64) - pl.col("_pseq") > 1))
             .select("_proc", "switch", _a="_pts", _b="ts").with_row_index("_gap"))
    if jumps.height == 0:
        return pl.DataFrame(schema={"switch": pl.String, "gap_start": pl.Datetime("us", "UTC"),
                                    "gap_end": pl.Datetime("us", "UTC"), "reason": pl.String})
    # the hole lies somewhere between the two numbered events: at the longest pause between
    # consecutive lines (requests, replies) of the process in between
    lines = ev.sort("_proc", "ts", "file_id", "line").with_columns(_pts=prev("ts"))
    inside = (lines.sort("ts").join_asof(jumps.sort("_a"), left_on="ts", right_on="_a",
                                         by="_proc", strategy="backward", check_sortedness=False)
              .filter(pl.col("_gap").is_not_null() & (pl.col("ts") > pl.col("_a"))
                      & (pl.col("ts") <= pl.col("_b")) & (pl.col("_pts") >= pl.col("_a"))))
    return (inside.with_columns(_pause=pl.col("ts") - pl.col("_pts"))
            .sort("_gap", "_pause", descending=[False, True])
            .group_by("_gap", maintain_order=True).first()
            .select("switch", gap_start="_pts", gap_end="ts", reason=pl.lit("sequence_gap")))


def sessions(lines: pl.DataFrame, switches: pl.DataFrame, replica: str,
             max_silence: int = MAX_SILENCE_S) -> pl.DataFrame:
    """The data source sessions of one replica (SESSION_SCHEMA), from its skeleton of lines
    (SKELETON_SCHEMA)."""
    if lines.height == 0:
        return pl.DataFrame(schema=SESSION_SCHEMA)
    lines = switch_of(lines, switches)
    cuts = breaks(lines, max_silence)
    ev = lines.filter(pl.col("message").is_not_null()).sort("switch", "ts", "file_id", "line")
    # each event's session number = breaks of its switch that end at or before it
    starts = cuts.select("switch", ts="gap_end", reason="reason").with_columns(
        n=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("switch")).sort("ts")
    ev = (ev.sort("ts").join_asof(starts, on="ts", by="switch", strategy="backward",
                                  check_sortedness=False)
          .with_columns(n=pl.col("n").fill_null(0)))
    per = ev.sort("switch", "ts", "file_id", "line").group_by("switch", "n", maintain_order=True).agg(
        switch_id=pl.col("switch_id").first(), start_ts=pl.col("ts").first(),
        end_ts=pl.col("ts").last(), app=pl.col("app").first(), reason=pl.col("reason").first(),
        first_seq=pl.col("seq").first(), last_seq=pl.col("seq").last(),
        first_file_id=pl.col("file_id").first(), first_line=pl.col("line").first(),
        last_file_id=pl.col("file_id").last(), last_line=pl.col("line").last())
    per = per.sort("switch", "n").with_columns(
        end_reason=pl.col("reason").shift(-1).over("switch"),
        conn_type=pl.when(pl.col("n") == 0).then(pl.lit(int(DsConnType.FIRST_CONNECTION)))
        .otherwise(pl.col("reason").replace_strict({r: int(t) for r, t in REASONS.items()},
                                                   return_dtype=pl.Int32)))
    ids = [dss_id(replica, sw, ts) for sw, ts in per.select("switch", "start_ts").iter_rows()]
    return per.with_columns(
        replica=pl.lit(replica), dss_id=pl.Series(ids, dtype=pl.Int64),
        open=pl.col("end_reason").is_null()).select(list(SESSION_SCHEMA)).cast(SESSION_SCHEMA)


def assign(events: pl.DataFrame, dss: pl.DataFrame, switches: pl.DataFrame) -> pl.DataFrame:
    """`dss_id` of each event: the session of its switch that started at or before it."""
    keyed = switch_of(events.drop("dss_id", strict=False), switches).with_row_index("_i")
    starts = dss.select("switch", ts="start_ts", dss_id="dss_id").sort("ts")
    out = (keyed.sort("ts").join_asof(starts, on="ts", by="switch", strategy="backward",
                                      check_sortedness=False))
    # an event before the first session of its switch (not possible for the replica's own
    # sessions) falls back to the first one
    first = dss.sort("start_ts").group_by("switch").agg(_first=pl.col("dss_id").first())
    out = (out.join(first, on="switch", how="left")
           .with_columns(dss_id=pl.coalesce("dss_id", "_first")).sort("_i"))
    return out.drop("_i", "_first", "switch", "switch_id")


def provider_tables(dss: pl.DataFrame, replica_dbid: int, src_prefix: str,
                    paths: pl.DataFrame, ocs_apps: set[str] = frozenset()
                    ) -> dict[str, pl.DataFrame]:
    """G_DSS_GCC/GLS/GUD_PROVIDER rows (the three roles read the same T-Server sessions), and
    G_DSS_GOS_PROVIDER rows of the sessions of `ocs_apps` (Outbound Contact Servers).
    `paths`: file_id, path of the replica's segments (for ETL_SOURCE)."""
    def src(file_col: str, line_col: str) -> pl.Expr:
        return pl.concat_str([pl.lit(src_prefix), pl.col(f"_{file_col}"), pl.lit(":"),
                              pl.col(line_col).cast(pl.String)])

    naive = lambda c: pl.col(c).dt.replace_time_zone(None).cast(pl.Datetime("ms"))  # noqa: E731
    hexseq = lambda c: pl.col(c).map_elements(lambda v: f"{v:016x}", return_dtype=pl.String)  # noqa: E731
    rows = (dss.join(paths.rename({"file_id": "first_file_id", "path": "_first_file_id"}),
                     on="first_file_id", how="left")
            .join(paths.rename({"file_id": "last_file_id", "path": "_last_file_id"}),
                  on="last_file_id", how="left")
            .with_columns(
                DSS_ID=pl.col("dss_id").cast(pl.Int32), ICON_DBID=pl.lit(replica_dbid),
                DS2_DBID=pl.col("switch_id"),
                DS_TYPE=pl.when(pl.col("app").is_in(
                    pl.Series(sorted(ocs_apps), dtype=pl.String).implode()))
                .then(pl.lit(int(DsType.OCS))).otherwise(pl.lit(int(DsType.TSERVER))),
                DSCONN_STIME=naive("start_ts"), DSCONN_SDSTIME=naive("start_ts"),
                DSCONN_SDSTS=pl.col("start_ts").dt.epoch("s"), DSCONN_TYPE=pl.col("conn_type"),
                DSCONN_ETIME=pl.when(~pl.col("open")).then(naive("end_ts")),
                FEVENT_ITIME=naive("start_ts"), FEVENT_DSTIME=naive("start_ts"),
                FEVENT_DSSEQ=hexseq("first_seq"), LEVENT_ITIME=naive("end_ts"),
                LEVENT_DSTIME=naive("end_ts"), LEVENT_DSSEQ=hexseq("last_seq"),
                ETL_REPLICA=pl.col("replica"), ETL_APP=pl.col("app"), ETL_SWITCH=pl.col("switch"),
                ETL_END_REASON=pl.col("end_reason"),
                ETL_SOURCE=src("first_file_id", "first_line"),
                ETL_SOURCE_LAST=src("last_file_id", "last_line")))
    tserver = rows.filter(pl.col("DS_TYPE") == int(DsType.TSERVER))
    ocs = rows.filter(pl.col("DS_TYPE") == int(DsType.OCS))
    return {**{name: table(name).conform(tserver) for name in TSERVER_DSS_TABLES},
            "G_DSS_GOS_PROVIDER": table("G_DSS_GOS_PROVIDER").conform(ocs)}


def session_ends(reconciled: pl.DataFrame, paths: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Sessions of the reconciled stream that ended (dss_id, end_ts, end_src): login sessions
    still open then are closed at its last event (docs/semantics.md §8). `paths`: each replica's
    file_id, path (for end_src)."""
    ends = reconciled.filter(~pl.col("open"))
    frames = []
    for replica in ends["last_replica"].unique().to_list():
        frames.append(ends.filter(pl.col("last_replica") == replica)
                      .join(paths[replica], left_on="last_file_id", right_on="file_id", how="left")
                      .select("dss_id", "end_ts", end_src=pl.concat_str(
                          [pl.lit(f"{replica}/"), pl.col("path"), pl.lit(":"),
                           pl.col("last_line").cast(pl.String)])))
    return pl.concat(frames) if frames else pl.DataFrame(
        schema={"dss_id": pl.Int64, "end_ts": pl.Datetime("us", "UTC"), "end_src": pl.String})


# -- clock skew ----------------------------------------------------------------------------------

OFFSET_SCHEMA = {"replica": pl.String, "switch": pl.String, "offset_us": pl.Int64,
                 "matches": pl.UInt32}
MIN_MATCHES = 20


def clock_offsets(skeletons: dict[str, pl.DataFrame], switches: pl.DataFrame) -> pl.DataFrame:
    """Each replica's clock offset per switch against the first replica (in name order), from
    the events both logged: same switch, sequence number and message. The median difference is
    robust to the few pairs a renumbering (restart, switchover) matches wrongly; with fewer than
    MIN_MATCHES pairs the offset is 0."""
    names = sorted(skeletons)
    if not names:
        return pl.DataFrame(schema=OFFSET_SCHEMA)

    def numbered(r: str) -> pl.DataFrame:
        return (switch_of(skeletons[r].filter(pl.col("seq").is_not_null()), switches)
                .select("switch", "seq", "message", "ts")
                .unique(["switch", "seq", "message"], keep="none"))

    ref = numbered(names[0]).rename({"ts": "_ref"})
    rows = [pl.DataFrame({"replica": [names[0]], "switch": [None], "offset_us": [0],
                          "matches": [0]}, schema=OFFSET_SCHEMA)]
    for r in names[1:]:
        pairs = numbered(r).join(ref, on=["switch", "seq", "message"], how="inner")
        rows.append(pairs.group_by("switch").agg(
            offset_us=(pl.col("ts") - pl.col("_ref")).dt.total_microseconds().median().cast(pl.Int64),
            matches=pl.len().cast(pl.UInt32))
            .with_columns(replica=pl.lit(r),
                          offset_us=pl.when(pl.col("matches") >= MIN_MATCHES)
                          .then(pl.col("offset_us")).otherwise(0))
            .select(list(OFFSET_SCHEMA)).sort("switch"))
    return pl.concat(rows, how="vertical_relaxed").cast(OFFSET_SCHEMA)


def align_sessions(dss: pl.DataFrame, offsets: pl.DataFrame) -> pl.DataFrame:
    """Sessions in the reference replica's clock (what coverage and matching compare)."""
    out = dss.join(offsets.select("replica", "switch", "offset_us"), on=["replica", "switch"],
                   how="left")
    shift = pl.duration(microseconds=pl.col("offset_us").fill_null(0))
    return out.with_columns(start_ts=pl.col("start_ts") - shift,
                            end_ts=pl.col("end_ts") - shift).drop("offset_us")


def align_events(events: pl.DataFrame, offsets: pl.DataFrame, replica: str,
                 switches: pl.DataFrame) -> pl.DataFrame:
    """Event times in the reference replica's clock."""
    mine = offsets.filter((pl.col("replica") == replica) & (pl.col("offset_us") != 0))
    if mine.height == 0:
        return events
    keyed = switch_of(events, switches).join(mine.select("switch", "offset_us"), on="switch",
                                              how="left")
    return keyed.with_columns(ts=pl.col("ts") - pl.duration(
        microseconds=pl.col("offset_us").fill_null(0))).drop("switch", "switch_id", "offset_us")


RECONCILED = "reconciled"


def union_sessions(aligned: pl.DataFrame) -> pl.DataFrame:
    """The data source sessions of the reconciled stream: per switch, the stretches that at least
    one replica covers (`aligned`: every replica's sessions in the reference clock). A break here
    is a window no replica has; the session after it starts with the connection type of the
    replica session that resumes the data."""
    if aligned.height == 0:
        return aligned.clear()
    s = aligned.sort("switch", "start_ts", "end_ts")
    reach = pl.col("end_ts").cum_max().shift(1).over("switch")
    s = s.with_columns(_g=(reach.is_null() | (pl.col("start_ts") > reach)).cast(pl.Int32)
                       .cum_sum().over("switch"))
    last = pl.col("end_ts").arg_max()
    per = s.group_by("switch", "_g", maintain_order=True).agg(
        switch_id=pl.col("switch_id").first(), start_ts=pl.col("start_ts").first(),
        end_ts=pl.col("end_ts").max(), open=pl.col("open").gather(last),
        conn_type=pl.col("conn_type").first(), end_reason=pl.col("end_reason").gather(last),
        app=pl.col("app").first(), first_seq=pl.col("first_seq").first(),
        last_seq=pl.col("last_seq").gather(last), first_file_id=pl.col("first_file_id").first(),
        first_line=pl.col("first_line").first(), last_file_id=pl.col("last_file_id").gather(last),
        last_line=pl.col("last_line").gather(last), first_replica=pl.col("replica").first(),
        last_replica=pl.col("replica").gather(last)).explode(
        "open", "end_reason", "last_seq", "last_file_id", "last_line", "last_replica")
    ids = [dss_id(RECONCILED, sw, ts) for sw, ts in per.select("switch", "start_ts").iter_rows()]
    return per.with_columns(replica=pl.lit(RECONCILED), dss_id=pl.Series(ids, dtype=pl.Int64)) \
        .select(*SESSION_SCHEMA, "first_replica", "last_replica")


@dataclass(frozen=True)
class ReplicaClock:
    """What the role transforms need from the HA analysis: each replica's data source sessions
    (its own clock), the clock offsets, and the switch of each T-Server application."""

    sessions: pl.DataFrame
    offsets: pl.DataFrame
    switches: pl.DataFrame

    def aligned(self) -> pl.DataFrame:
        return align_sessions(self.sessions, self.offsets)

    def reconciled(self) -> pl.DataFrame:
        """The reconciled stream's sessions (what GSYS_DOMAIN and login-session closure use)."""
        return union_sessions(self.aligned())

    def apply(self, events: pl.DataFrame, replica: str) -> pl.DataFrame:
        """Times in the reference clock, then `dss_id` of the reconciled stream's session."""
        events = align_events(events, self.offsets, replica, self.switches)
        merged = self.reconciled()
        return assign(events, merged, self.switches) if merged.height else events


# -- coverage ------------------------------------------------------------------------------------

COVERAGE_SCHEMA = {"HOUR": pl.String, "REPLICA": pl.String, "SWITCH": pl.String,
                   "STATUS": pl.String, "COVERED_SECONDS": pl.Int64, "EXPECTED_SECONDS": pl.Int64,
                   "MISSING": pl.String, "DSS_IDS": pl.String}


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime


def covered(dss: pl.DataFrame) -> dict[tuple[str, str], list[Interval]]:
    """(replica, switch) -> the replica's sessions of that switch as closed intervals."""
    out: dict[tuple[str, str], list[Interval]] = {}
    for r, sw, s, e in dss.sort("start_ts").select("replica", "switch", "start_ts", "end_ts").iter_rows():
        out.setdefault((r, sw), []).append(Interval(s, e))
    return out


def missing(span: Interval, have: list[Interval]) -> list[Interval]:
    """The parts of `span` that `have` does not cover."""
    gaps, at = [], span.start
    for iv in have:
        if iv.end < at:
            continue
        if iv.start > span.end:
            break
        if iv.start > at:
            gaps.append(Interval(at, min(iv.start, span.end)))
        at = max(at, iv.end)
        if at >= span.end:
            break
    if at < span.end:
        gaps.append(Interval(at, span.end))
    return gaps


def coverage(dss: pl.DataFrame, hour: datetime, replicas: list[str]) -> pl.DataFrame:
    """The coverage ledger of one hour: per replica and switch, complete / partial (with the
    missing intervals) / missing. A switch is expected from the first to the last event any
    replica has of it; a replica's sessions cover it."""
    start, end = hour.replace(tzinfo=timezone.utc), hour.replace(tzinfo=timezone.utc) + timedelta(hours=1)
    spans = dss.group_by("switch").agg(first=pl.col("start_ts").min(), last=pl.col("end_ts").max())
    have = covered(dss)
    rows = []
    for sw, first, last in spans.sort("switch").iter_rows():
        expect = Interval(max(start, first), min(end, last))
        if expect.end <= expect.start:
            continue
        for r in replicas:
            mine = have.get((r, sw), [])
            holes = missing(expect, mine)
            lost = sum((h.end - h.start).total_seconds() for h in holes)
            total = (expect.end - expect.start).total_seconds()
            status = "complete" if not holes else ("missing" if lost >= total else "partial")
            ids = [str(d) for d, s, e in dss.filter((pl.col("replica") == r) & (pl.col("switch") == sw))
                   .select("dss_id", "start_ts", "end_ts").iter_rows()
                   if s <= expect.end and e >= expect.start]
            rows.append((hour.strftime("%Y-%m-%d-%H:%M"), r, sw, status, round(total - lost),
                         round(total), ", ".join(f"{h.start:%H:%M:%S.%f}"[:-3] + "-"
                                                 + f"{h.end:%H:%M:%S.%f}"[:-3] for h in holes),
                         ", ".join(ids)))
    return pl.DataFrame(rows, schema=COVERAGE_SCHEMA, orient="row")
