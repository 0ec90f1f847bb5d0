"""A configuration history: a folder of dated configuration snapshots (docs/config-snapshot.md,
"A folder of snapshots: configuration history").

`load_history(folder)` reads every `*.json` of the folder, each a snapshot validated as a single
file is and each with its `exported_at`, into a `ConfigHistory` ordered by that time. The history
answers the questions a single snapshot answers, so that every caller works with either:

* `at(moment)`: the snapshot valid at `moment` (the newest exported at or before it; a moment
  before the first snapshot gets the first). The roles resolve each hour with the snapshot valid
  at the hour's start (`transforms/roles/jobs.py`), and `split_hours` cuts a run of hours where
  that snapshot changes.
* `switches`, `endpoints`, `logins`, `places`, `ocs_ids`, `list_fields`: every object of every
  snapshot, the newest version of each (a T-Server application that one snapshot names is
  recognized in the logs of any hour); `secure_fields`: every field any snapshot stores as
  secure (it stays masked).
* `gc_tables`: the GC_* / GCX_* tables as the slowly changing dimension the snapshots make
  (`gc_history`).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from transforms.config.snapshot import ConfigError, ConfigSnapshot, load_snapshot, record_free
from transforms.hours import as_utc, hour_start
from transforms.idb import table, time_triple_values
from transforms.idb.dictionary import RecordStatus


@dataclass(frozen=True)
class ConfigHistory:
    path: Path                              # the folder
    snapshots: tuple[ConfigSnapshot, ...]   # oldest first, each with its exported_at

    # -- the snapshot of a moment ---------------------------------------------------------------
    @property
    def latest(self) -> ConfigSnapshot:
        return self.snapshots[-1]

    @property
    def doc(self) -> dict:
        """The newest snapshot's document."""
        return self.latest.doc

    @property
    def exported_at(self) -> datetime | None:
        """When the newest snapshot was exported."""
        return self.latest.exported_at

    def at(self, moment: datetime | None = None) -> ConfigSnapshot:
        """The snapshot valid at `moment`: the newest whose `exported_at` is at or before it; a
        moment before the first snapshot gets the first (None: the newest)."""
        if moment is None:
            return self.latest
        times = [as_utc(s.exported_at) for s in self.snapshots]
        return self.snapshots[max(bisect.bisect_right(times, as_utc(moment)) - 1, 0)]

    def split_hours(self, keys: Sequence[str]) -> list[list[str]]:
        """Consecutive hours (keys) cut where the snapshot valid at their start changes: the
        hours of one part are resolved with one snapshot."""
        parts: list[list[str]] = []
        previous = None
        for key in keys:
            snapshot = self.at(hour_start(key))
            if parts and snapshot is previous:
                parts[-1].append(key)
            else:
                parts.append([key])
            previous = snapshot
        return parts

    # -- every snapshot's objects, the newest version of each -----------------------------------
    def _newest(self, frames: list[pl.DataFrame], key: list[str]) -> pl.DataFrame:
        return pl.concat(frames[::-1]).unique(subset=key, keep="first", maintain_order=True)

    def switches(self) -> pl.DataFrame:
        return self._newest([s.switches() for s in self.snapshots], ["app"])

    def endpoints(self) -> pl.DataFrame:
        return self._newest([s.endpoints() for s in self.snapshots], ["switch_id", "dn"])

    def logins(self) -> pl.DataFrame:
        return self._newest([s.logins() for s in self.snapshots], ["switch_id", "login_code"])

    def places(self) -> pl.DataFrame:
        return self._newest([s.places() for s in self.snapshots], ["endpoint_id"])

    def list_fields(self) -> pl.DataFrame:
        return self._newest([s.list_fields() for s in self.snapshots], ["list_id", "field"])

    def ocs_ids(self) -> dict[str, int]:
        return {name: dbid for s in self.snapshots for name, dbid in s.ocs_ids().items()}

    def secure_fields(self) -> frozenset[str]:
        return frozenset().union(*(s.secure_fields() for s in self.snapshots))

    # -- GC_* tables ----------------------------------------------------------------------------
    def gc_tables(self) -> dict[str, pl.DataFrame]:
        return gc_history(self.snapshots)


def load_history(folder: Path) -> ConfigHistory:
    """Every `*.json` of `folder`, each a snapshot with its `exported_at`, oldest first."""
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    if not files:
        raise ConfigError(f"{folder}: a folder of configuration snapshots holds no *.json file")
    snapshots = []
    for path in files:
        snapshot = load_snapshot(path)
        if snapshot.exported_at is None:
            raise ConfigError(f"{path}: 'exported_at' is missing: each snapshot of the folder "
                              f"{folder} needs the time it was exported (ISO 8601)")
        snapshots.append(snapshot)
    snapshots.sort(key=lambda s: as_utc(s.exported_at))
    for before, after in zip(snapshots, snapshots[1:]):
        if as_utc(before.exported_at) == as_utc(after.exported_at):
            raise ConfigError(f"{after.path}: 'exported_at' {after.doc['exported_at']} is the "
                              f"time of {before.path.name} too: two snapshots of one moment")
    return ConfigHistory(folder, tuple(snapshots))


# ---- the GC_* tables of a history ---------------------------------------------------------------

def gc_history(snapshots: Sequence[ConfigSnapshot]) -> dict[str, pl.DataFrame]:
    """The GC_* and GCX_* tables of `snapshots` (oldest first) as a slowly changing dimension
    (docs/config-snapshot.md). GC_*: one row per DBID, CREATED when it first appears; its
    attributes from the last snapshot that has it; LASTCHANGE when it last appeared, changed or
    went; gone from the newest snapshot: STATUS 2 and DELETED when it went (back: STATUS 1,
    DELETED null again). GCX_*: one row per period in which a DBID pair is in consecutive
    snapshots (a pair that comes back gets a new row), numbered by (pair, CREATED)."""
    objects = [s.gc_objects() for s in snapshots]
    steps = pl.DataFrame({"_n": range(len(snapshots))}, schema={"_n": pl.Int32})
    stamps = {name: pl.DataFrame(
        [{"_n": n, **time_triple_values(name, s.exported_at)} for n, s in enumerate(snapshots)],
        schema={"_n": pl.Int32, name: pl.Datetime("ms"), f"{name}_TS": pl.Int64,
                f"{name}_TCODE": pl.Int32}) for name in ("CREATED", "DELETED", "LASTCHANGE")}
    out = {}
    for name in objects[0]:
        stacked = pl.concat([o[name].with_columns(_n=pl.lit(n, pl.Int32))
                             for n, o in enumerate(objects)])
        periods = (_links if name.startswith("GCX_") else _objects)(name, stacked, steps)
        last = len(snapshots) - 1
        periods = periods.with_columns(
            STATUS=pl.when(pl.col("_last") == last).then(pl.lit(int(RecordStatus.ACTIVE)))
            .otherwise(pl.lit(int(RecordStatus.INACTIVE))),
            _deleted=pl.when(pl.col("_last") < last).then(pl.col("_last") + 1))
        for column, stamp in stamps.items():
            index = f"_{column.lower()}"
            if index in periods.columns:
                periods = periods.join(stamp.rename({"_n": index}), on=index, how="left")
        out[name] = table(name).conform(periods)
    return out


def _presence(stacked: pl.DataFrame, key: list[str], steps: pl.DataFrame) -> pl.DataFrame:
    """Every (key, snapshot) with `_present` and the snapshot's attributes (null when absent),
    in key then snapshot order."""
    keys = stacked.select(key).unique()
    return (keys.join(steps, how="cross")
            .join(stacked.unique(subset=[*key, "_n"], keep="first")
                  .with_columns(_present=pl.lit(True)), on=[*key, "_n"], how="left")
            .with_columns(pl.col("_present").fill_null(False))
            .sort([*key, "_n"]))


def _objects(name: str, stacked: pl.DataFrame, steps: pl.DataFrame) -> pl.DataFrame:
    """GC_*: per DBID the attributes of the last snapshot that has it, `_created` (its first
    snapshot), `_last` (its last) and `_lastchange` (the last snapshot where it appeared, changed
    or was gone)."""
    attributes = [c for c in record_free(name) if c != "ID"]

    def before(column: str) -> pl.Expr:
        return pl.col(column).shift(1).over("ID")

    grid = _presence(stacked, ["ID"], steps).with_columns(_changed=(
        (pl.col("_present") != before("_present").fill_null(False))
        | (pl.col("_present") & pl.any_horizontal(
            [pl.col(c).ne_missing(before(c)) for c in attributes]))))
    present = pl.col("_n").filter(pl.col("_present"))
    spans = grid.group_by("ID").agg(_created=present.min(), _last=present.max(),
                                    _lastchange=pl.col("_n").filter(pl.col("_changed")).max())
    latest = stacked.sort("_n").unique(subset=["ID"], keep="last").drop("_n")
    return latest.join(spans, on="ID").sort("ID")


def _links(name: str, stacked: pl.DataFrame, steps: pl.DataFrame) -> pl.DataFrame:
    """GCX_*: per period of a DBID pair in consecutive snapshots, `_created` (its first
    snapshot), `_last` (its last) and ID (1, 2, … in pair then `_created` order)."""
    pair = record_free(name)
    grid = _presence(stacked, pair, steps).with_columns(
        _period=(pl.col("_present") & ~pl.col("_present").shift(1).over(pair).fill_null(False))
        .cum_sum().over(pair))
    present = grid.filter(pl.col("_present"))
    return (present.group_by([*pair, "_period"])
            .agg(_created=pl.col("_n").min(), _last=pl.col("_n").max())
            .sort([*pair, "_created"])
            .with_columns(ID=pl.int_range(1, pl.len() + 1, dtype=pl.Int32)))
