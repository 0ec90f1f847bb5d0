"""Resources: where the logs and the data live, the IDB, and the ICON configuration
(configuration snapshot + options file)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg

from transforms.config import (
    AdataSpec,
    ConfigHistory,
    ConfigSnapshot,
    IconOptions,
    load_options,
    load_snapshot,
    spec_from_options,
)
from transforms.datafolder import DataFolder
from transforms.idb import IdbStore, bind
from transforms.segments import SegmentStore, parse_names, replica_folders


class LogStorage(dg.ConfigurableResource):
    """The raw log root (one folder per HA replica, or the files directly) and the data folder
    (`transforms.datafolder`: each replica's segment registry and parse cache, the hours of
    every stage).

    Each step of a Dagster run holds the data folder shared while it runs (this resource is
    set up once per step process): steps of runs from the UI, the schedule and the sensor may
    run at once, and none runs while an `icon-etl` command holds it alone. `lock=False` is
    for a caller that holds it already (the CLI)."""

    log_dir: str
    data_dir: str
    workers: int = 1
    replicas: str = ""      # comma-separated replica folder names (ICON_REPLICAS); "": detected
    lock: bool = True

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["LogStorage"]:
        if not self.lock or context.run_id is None:     # a sensor reads, it holds nothing
            yield self
            return
        with self.data().lock(f"Dagster run {context.run_id}", on_wait=context.log.info,
                              shared=True):
            yield self

    def replica_folders(self) -> dict[str, Path]:
        """Replica name -> its log folder."""
        return replica_folders(Path(self.log_dir), parse_names(self.replicas))

    def replica_root(self, replica: str) -> Path:
        return self.replica_folders().get(replica, Path(self.log_dir) / replica)

    def data(self) -> DataFolder:
        return DataFolder(Path(self.data_dir))

    def segments(self, replica: str) -> SegmentStore:
        return SegmentStore(self.replica_root(replica), self.data().replica(replica))

    def span(self, replicas: Iterable[str] | None = None) -> tuple[datetime, datetime] | None:
        """First and last event time over the registries of `replicas` (default: every
        replica folder), or None before any event is registered."""
        spans = [self.segments(r).span() for r in (replicas or self.replica_folders())]
        spans = [s for s in spans if s[0] is not None]
        return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


class IconConfig(dg.ConfigurableResource):
    """The configuration snapshot (DBIDs) and the ICON options file (docs/options.md)."""

    snapshot: str = ""
    options_file: str = ""

    def snapshot_data(self) -> ConfigSnapshot | ConfigHistory:
        """The configuration snapshot, or the history of a folder of them."""
        return load_snapshot(self.snapshot or None)

    def options(self) -> IconOptions:
        return load_options(self.options_file or None)

    def adata_spec(self) -> AdataSpec:
        return spec_from_options(self.options())

    def masked_keys(self) -> frozenset[str]:
        """KV keys whose values are never printed: the spec's secure keys, `mask-keys`, and the
        calling-list fields stored as secure."""
        return (self.adata_spec().secure_keys | self.options().masked_keys()
                | self.snapshot_data().secure_fields())


class Idb(dg.ConfigurableResource):
    """The Interaction Database (SQLAlchemy URL: SQLite file by default, PostgreSQL via
    `postgresql+psycopg://…`)."""

    url: str

    def store(self) -> IdbStore:
        store = IdbStore(self.url)
        store.create_schema()
        return store

    def store_for(self, logs: LogStorage) -> IdbStore:
        """The store to write what `logs`' data folder holds: refused (BindingError) when the
        data folder belongs to another IDB or the IDB to another data folder."""
        store = self.store()
        bind(store, logs.data())
        return store
