"""The IDB rows of each ICON role from a window of reconciled events: `gcc` (calls, parties,
interactions), `gls` (login sessions, agent states), `gud` (attached data). Every role's build
returns a `RoleResult`; `hour` runs one hour of a role (the window, what it carries to the next
hour, its output in the data folder); `carry` is the window and what an hour hands on."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "carry": ["Window", "carry_out", "dss_id", "with_sources"],
    "gcc.build": ["build_gcc"],
    "gls.build": ["PARTY_LOOKUP", "build_gls", "gls_kvpairs"],
    "gls.custom": ["CUSTOM_TABLES"],
    "gls.parties": ["parties_to_carry", "party_lookup"],
    "gud.build": ["build_gud"],
    "hour": ["PartitionOrderError", "RoleHour", "first_data", "monitored_switches", "run_hour",
             "same_hour"],
    "result": ["RoleResult"],
    "tables": ["GCC_TABLES", "GLS_TABLES", "GUD_TABLES", "ROLE_TABLES"],
})
