"""Resources: where the logs and the data live (the IDB resource joins in the table issues)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from dagster_project import settings
from transforms.parse import ParseOptions
from transforms.segments import SegmentStore


class LogStorage(dg.ConfigurableResource):
    """The raw log root (one folder per HA replica, or the files directly) and the data folder
    that holds each replica's segment registry, parse cache and hourly parsed events."""

    log_dir: str
    data_dir: str
    workers: int = 1

    def replica_root(self, replica: str) -> Path:
        return settings.replicas(Path(self.log_dir)).get(replica, Path(self.log_dir) / replica)

    def replica_data(self, replica: str) -> Path:
        return Path(self.data_dir) / replica

    def segments(self, replica: str) -> SegmentStore:
        return SegmentStore(self.replica_root(replica), self.replica_data(replica))

    def parsed_dir(self, replica: str, partition_key: str) -> Path:
        return self.replica_data(replica) / "parsed" / partition_key.replace(":", "")

    def parse_options(self) -> ParseOptions:
        return ParseOptions()


def default_resources() -> dict:
    return {"logs": LogStorage(log_dir=str(settings.log_dir()), data_dir=str(settings.data_dir()),
                               workers=settings.workers())}
