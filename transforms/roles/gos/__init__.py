"""The gos role: outbound campaigns from OCS reporting events (docs/semantics.md §14)."""
