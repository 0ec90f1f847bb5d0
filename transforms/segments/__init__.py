"""One replica folder's segments: which folders are replicas (`replicas`), the segment
registry, the per-segment parse cache and hour slices (`store.SegmentStore`)."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "replicas": ["SINGLE_REPLICA", "parse_names", "replica_folders"],
    "store": ["SegmentStore"],
})
