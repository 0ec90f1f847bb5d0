"""Data source sessions read a reduced skeleton of each segment (a few lines per segment, not
every event), so that years of logs fit in memory: the sessions and clock offsets it gives must
be those of every line."""

from __future__ import annotations

import polars as pl
import pytest

from simulator import simulate
from transforms.config import load_snapshot
from transforms.datafolder import DataFolder, entry_skeleton
from transforms.ha import dss
from transforms.segments import SegmentStore

# every fault kind that breaks a session, on both replicas, plus a skew to estimate
FAULTS = ("gap:a:north@40m+10m; link_down:b:north@1h10m+3m; skew:b:south=+2s; "
          "restart:a:north@1h40m+30s; switchover:b:north@2h+5s; gap:b:south@2h20m+15m")


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    root = tmp_path_factory.mktemp("dss")
    simulate(root / "sim", profile="small", start="2026-03-09T22:00:00Z", hours=3, seed=5,
             replicas=2, faults=FAULTS)
    stores = {r: SegmentStore(root / "sim" / "logs" / r, DataFolder(root / "data").replica(r))
              for r in "ab"}
    for store in stores.values():
        store.refresh()
    return stores, load_snapshot(root / "sim" / "config.json").switches()


def test_reduced_skeleton_gives_the_sessions_of_every_line(replicas):
    stores, switches = replicas
    full = {r: s.skeleton(reduced=False) for r, s in stores.items()}
    reduced = {r: s.skeleton() for r, s in stores.items()}
    reasons = set()
    for r in stores:
        assert reduced[r].height <= full[r].height
        expected = dss.sessions(full[r], switches, r)
        assert dss.sessions(reduced[r], switches, r).equals(expected)
        reasons |= set(expected["end_reason"].drop_nulls())
    # the faults above break sessions for every reason but a skipped segment ordinal
    # (the 15-minute gap in b's south logs shows as a sequence gap: check points go on)
    assert reasons == {"sequence_gap", "link_disconnected", "restart", "switchover"}
    assert dss.clock_offsets(reduced, switches).equals(dss.clock_offsets(full, switches))


def test_sampled_numbered_events_still_find_the_clock_skew(replicas):
    """Segments with many numbered events keep a sample of them for clock matching (forced
    here on every segment, with a denser sample than the default since these segments are
    small): the sessions do not change and the 2 s skew is still found."""
    stores, switches = replicas
    full = {r: s.skeleton(reduced=False) for r, s in stores.items()}
    sampled = {}
    for r, lines in full.items():
        part = dss.reduce_skeleton(lines.select("file_id", "line", "ts", "seq", "message"),
                                   keep_all_numbered=0, sample_every=8)
        segment = lines.select("file_id", "app", "proc_start", "ordinal").unique("file_id")
        sampled[r] = part.join(segment, on="file_id", how="left")
        # the T-Server segments shrink (an OCS log has no numbered events: all of them are kept)
        tserver = pl.col("app").str.starts_with("TS_")
        assert sampled[r].filter(tserver).height * 3 < lines.filter(tserver).height
        assert dss.sessions(sampled[r], switches, r).equals(dss.sessions(lines, switches, r))
    offsets = dss.clock_offsets(sampled, switches).filter(pl.col("replica") == "b")
    skew = dict(offsets.select("switch", "offset_us").iter_rows())
    assert abs(skew["SW_SOUTH"] - 2_000_000) < 1_000
    assert abs(skew["SW_NORTH"]) < 1_000


def test_entries_of_an_older_release_get_their_skeleton_on_first_read(replicas):
    stores, switches = replicas
    store = stores["a"]
    before = store.skeleton()
    key = store.registry()["parse_key"].drop_nulls()[0]
    entry_skeleton(store.entry(key)).unlink()
    assert store.skeleton().equals(before)
    assert entry_skeleton(store.entry(key)).exists()
