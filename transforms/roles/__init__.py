"""The IDB rows of each ICON role from a window of reconciled events: `gcc` (calls, parties,
interactions), `gls` (login sessions, agent states), `gud` (attached data); `carry` is what an
hour hands to the next (the open entities' events)."""
