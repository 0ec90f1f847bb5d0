"""Build the gos-role IDB tables (Outbound Contact) from a window of reconciled events (pure
Polars): the campaign processing attempts (campaigns.py) and the chain processing attempts with
their records, fields and dialed calls (chains.py) of the OCS reporting events. Rules:
docs/semantics.md §14."""

from __future__ import annotations

import polars as pl

from transforms.config import ConfigSnapshot
from transforms.roles.gos.campaigns import CAMPAIGN_TABLES, build_campaigns, campaign_events
from transforms.roles.gos.chains import CHAIN_TABLES, build_chains
from transforms.roles.result import RoleResult

GOS_TABLES = [*CAMPAIGN_TABLES, *CHAIN_TABLES]

# the event columns the role reads: the OCS reporting attributes, where and when
EVENT_COLUMNS = ("file_id", "line", "ts", "message", "app", "src", "dss_id", "go_evt_code",
                 "go_group_dbid", "go_campaign_dbid", "go_list_dbid", "go_chain_id", "go_cause",
                 "go_session", "go_dial_mode", "go_optim_mode", "go_optim_value",
                 "go_chain_guid", "go_record_handle", "go_call_attempt", "go_call_guid",
                 "go_call_result")


def build_gos(events: pl.DataFrame, kvpairs: pl.DataFrame, config: ConfigSnapshot | None = None,
              partition: str = "", dss_ends: pl.DataFrame | None = None) -> RoleResult:
    """`events`: reconciled events with `app`, `src`, `dss_id` and the go_* columns; `kvpairs`:
    their KV members (the chains' field values); `config`: OCS DBIDs and the stored fields;
    `dss_ends`: dss_id, end_ts, end_src of the data source sessions known to have ended."""
    ocs_ids = config.ocs_ids() if config is not None else {}
    fields = config.list_fields() if config is not None else None
    campaigns = build_campaigns(events, partition, dss_ends, ocs_ids)
    return campaigns + build_chains(events, kvpairs, campaign_events(events), partition,
                                    dss_ends, fields)
