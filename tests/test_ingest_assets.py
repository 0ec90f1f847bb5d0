"""The ingest assets materialized in-process against a real Dagster instance."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from assets.ingest import build_ingest_assets, parsed_key, segments_key
from assets.resources import IconConfig, LogStorage
from tests.graph import HOURLY
from tests.logtext import call_event, header

SYNTHETIC = "synthetic/TS_EXAMPLE.20260310_070000_000.log"   # under the shared samples


def storage(tmp_path: Path) -> LogStorage:
    return LogStorage(log_dir=str(tmp_path / "logs"), data_dir=str(tmp_path / "data"), workers=1)


def materialize(tmp_path: Path, instance, partition_key: str | None = None, **kw):
    assets = build_ingest_assets("a", HOURLY)
    selection = [parsed_key("a")] if partition_key else [segments_key("a")]
    return dg.materialize(assets, selection=selection, partition_key=partition_key,
                          resources={"logs": storage(tmp_path), "icon": IconConfig()},
                          instance=instance, **kw)


def test_segments_register_then_hours_slice_events(tmp_path, samples):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(samples / SYNTHETIC, logs)
    with dg.instance_for_test() as instance:
        first = materialize(tmp_path, instance)
        assert first.success
        meta = first.asset_materializations_for_node("replica_a__log_segments")[0].metadata
        assert meta["segments"].value == 1 and meta["new"].value == 1
        assert meta["events"].value == 10 and meta["quarantined_lines"].value == 0

        # 07:00-08:10 local at UTC+1 -> events in the 06:00 and 07:00 UTC hours
        six = materialize(tmp_path, instance, "2026-03-10-06:00")
        seven = materialize(tmp_path, instance, "2026-03-10-07:00")
        assert six.success and seven.success
        data = storage(tmp_path).data()
        part = data.parsed_hour("a", "2026-03-10-06:00")
        events = part["events"]
        assert events.height == 9 and set(events["app"]) == {"TS_EXAMPLE"}
        later = data.parsed_hour("a", "2026-03-10-07:00")["events"]
        assert later["message"].to_list() == ["EventAgentLogout"]
        assert set(part["kvpairs"]["key"]) == {"Topic", "Priority", "ReleasingParty"}

        # re-materializing is idempotent: same rows, no duplicates
        again = materialize(tmp_path, instance, "2026-03-10-06:00")
        assert again.success
        assert data.parsed_hour("a", "2026-03-10-06:00")["events"].equals(events)


def test_new_changed_and_duplicate_segments_are_noticed(tmp_path, samples):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(samples / SYNTHETIC, logs)
    with dg.instance_for_test() as instance:
        materialize(tmp_path, instance)
        shutil.copy(samples / SYNTHETIC, logs / "copy-of-segment.log")
        extra = header(app="TS_OTHER", local="2026-03-10T07:30:00.000") + \
            call_event("07:31:00.0000", "EventRinging", 1, "7100")
        (logs / "TS_OTHER.20260310_073000_000.log").write_text(extra)
        res = materialize(tmp_path, instance)
        meta = res.asset_materializations_for_node("replica_a__log_segments")[0].metadata
        assert (meta["new"].value, meta["unchanged"].value, meta["duplicates"].value) == (1, 1, 1)
        assert meta["parsed_now"].value == 1  # the duplicate is not parsed again

        changed = extra + call_event("07:32:00.0000", "EventEstablished", 2, "7100")
        (logs / "TS_OTHER.20260310_073000_000.log").write_text(changed)
        res = materialize(tmp_path, instance)
        meta = res.asset_materializations_for_node("replica_a__log_segments")[0].metadata
        assert meta["changed"].value == 1 and meta["events"].value == 12


def test_missing_log_folder_fails_with_a_clear_message(tmp_path):
    with dg.instance_for_test() as instance:
        res = materialize(tmp_path, instance, raise_on_error=False)
        assert not res.success
        failure = [e for e in res.all_events if e.event_type_value == "STEP_FAILURE"][0]
        assert "log folder" in failure.event_specific_data.error.to_string()
