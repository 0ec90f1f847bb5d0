"""One replica folder's segments: the registry, the per-segment parse cache and hour slices
(`store.SegmentStore`)."""
