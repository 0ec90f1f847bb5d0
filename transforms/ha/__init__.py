"""High availability: data source sessions, skeletons, clock offsets and coverage (`dss`), and
the event-level reconciliation of replicas (`reconcile.merge_hour`)."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "dss": ["dss", "OFFSET_SCHEMA", "SKELETON_SCHEMA", "ReplicaClock", "reduce_skeleton",
            "session_ends", "sessions"],
    "reconcile": ["merge_hour", "renumber"],
})
