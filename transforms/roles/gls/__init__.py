"""The gls role: agent login sessions, agent states, reason codes and DND (docs/semantics.md §8)."""
