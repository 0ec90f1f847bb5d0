"""High availability: data source sessions, skeletons, clock offsets and coverage (`dss`), and
the event-level reconciliation of replicas (`reconcile.merge_hour`)."""
