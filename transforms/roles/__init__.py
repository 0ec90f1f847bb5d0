"""The IDB rows of each ICON role from a window of reconciled events: `gcc` (calls, parties,
interactions), `gls` (login sessions, agent states), `gud` (attached data), `gos` (outbound
campaigns, from OCS logs). Every role's build
returns a `RoleResult`; `chunk` builds consecutive hours at once, with the earlier events of what
is still open when they start (`lookback`, from each reconciled hour's index), and keeps each
entity in its hour; `jobs` runs chunks in worker processes; `carry` is the window."""

from transforms.exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    "carry": ["Window", "carry_out", "dss_id", "with_sources"],
    "gcc.build": ["build_gcc"],
    "gls.build": ["PARTY_LOOKUP", "build_gls", "gls_kvpairs"],
    "gls.custom": ["CUSTOM_TABLES"],
    "gud.build": ["build_gud"],
    "gos.campaigns": ["CAMPAIGN_TABLES", "build_campaigns"],
    "gos.build": ["build_gos"],
    "filters": ["DataFilters"],
    "chunk": ["PartitionOrderError", "first_data", "monitored_switches", "plan_chunks",
              "run_chunk"],
    "jobs": ["JobSummary", "RoleJob", "run_jobs"],
    "lookback": ["LookbackError", "gcc_index", "gls_index", "hour_index"],
    "result": ["RoleResult"],
    "tables": ["GCC_TABLES", "GLS_TABLES", "GOS_TABLES", "GUD_TABLES", "ROLE_TABLES",
               "STUCK_CLOSURES"],
})
