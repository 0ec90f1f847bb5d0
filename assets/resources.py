"""Resources: where the logs and the data live, the IDB, and the ICON configuration
(configuration snapshot + options file)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from transforms.idb.store import IdbStore
from transforms.config.snapshot import ConfigSnapshot, load_snapshot
from transforms.roles.gcc.build import GccOptions
from transforms.config.adata_spec import AdataSpec, spec_from_options
from transforms.config.options import IconOptions, load_options
from transforms.parsing.parse import ParseOptions
from transforms.segments.replicas import parse_names, replica_folders
from transforms.segments.store import SegmentStore


class LogStorage(dg.ConfigurableResource):
    """The raw log root (one folder per HA replica, or the files directly) and the data folder
    that holds each replica's segment registry, parse cache, hourly parsed events and role
    outputs."""

    log_dir: str
    data_dir: str
    workers: int = 1
    replicas: str = ""      # comma-separated replica folder names (ICON_REPLICAS); "": detected

    @property
    def log_dir_path(self) -> Path:
        return Path(self.log_dir)

    def replica_folders(self) -> dict[str, Path]:
        """Replica name -> its log folder."""
        return replica_folders(Path(self.log_dir), parse_names(self.replicas))

    def replica_root(self, replica: str) -> Path:
        return self.replica_folders().get(replica, Path(self.log_dir) / replica)

    def replica_data(self, replica: str) -> Path:
        return Path(self.data_dir) / replica

    def segments(self, replica: str) -> SegmentStore:
        return SegmentStore(self.replica_root(replica), self.replica_data(replica))

    def parsed_dir(self, replica: str, partition_key: str) -> Path:
        return self.replica_data(replica) / "parsed" / _folder(partition_key)

    def reconciled_dir(self, role: str, partition_key: str) -> Path:
        """A role's tables of one hour, built from the reconciled events (and its carry)."""
        return Path(self.data_dir) / "reconciled" / role / _folder(partition_key)

    def parse_options(self, redact_keys: frozenset[str] = frozenset()) -> ParseOptions:
        return ParseOptions(redact_keys=redact_keys)


def _folder(partition_key: str) -> str:
    return partition_key.replace(":", "")


class IconConfig(dg.ConfigurableResource):
    """The configuration snapshot (DBIDs) and the ICON options file (docs/options.md)."""

    snapshot: str = ""
    options_file: str = ""

    def snapshot_data(self) -> ConfigSnapshot:
        return load_snapshot(self.snapshot or None)

    def options(self) -> IconOptions:
        return load_options(self.options_file or None)

    def adata_spec(self) -> AdataSpec:
        return spec_from_options(self.options())

    def masked_keys(self) -> frozenset[str]:
        """KV keys whose values are never printed: the spec's secure keys and `mask-keys`."""
        extra = {k.strip() for k in self.options().get("icon-etl", "mask-keys").split(",") if k.strip()}
        return self.adata_spec().secure_keys | frozenset(extra)

    def gcc_options(self) -> GccOptions:
        o = self.options()
        return GccOptions(delivered_flag=o.get("gts", "delivered-flag"),
                          lookup_queue_on_ringing=o.get("gts", "lookup-queue-on-ringing"),
                          ring_divert=o.get("gts", "ring-divert"),
                          sst_options=o.get("gts", "sst-options"),
                          max_call_idle=o.get("icon-etl", "max-call-idle"))


class Idb(dg.ConfigurableResource):
    """The Interaction Database (SQLAlchemy URL: SQLite file by default, PostgreSQL via
    `postgresql+psycopg://…`)."""

    url: str

    def store(self) -> IdbStore:
        store = IdbStore(self.url)
        store.create_schema()
        return store
