"""What `[filter-data]` (and `store-releasing-party`) leave out of the IDB (docs/semantics.md
§15): a stage after the model, never inside it. The roles still follow every party, so the
numbering they give (CSEQ, PSEQ) is the one ICON gives; the rows a filter drops are dropped from
what an hour writes, and the rows that stay keep their numbers.

Two moments:
* `before_staging` (observer-party): applied to gcc's hour before it is kept, so that no role
  reading gcc's parties (gud's attribution, gls's call records) names a party the IDB does not
  have;
* `before_writing` (the others): applied to a kept hour when it is written and when it is
  checked, so that gud still takes its CSEQ from the ACD parties' histories.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

from transforms.config import IconOptions
from transforms.idb.dictionary import ParentLinkType, PartyRole, PartyType
from transforms.roles.gcc.parties import QUEUE_TYPES

# what the who-released columns need (UG "Filtering IDB Data"): these at 0
RELEASE_PREREQUISITES = ("call-metrics", "acd-party-history", "acd-party-metrics",
                         "external-party", "observer-party")
QUEUE_COLUMNS = {"GX_SESSION_ENDPOINT": ("QUEUEID", "QUEUETYPE", "ETL_QUEUE"),
                 "G_AGENT_STATE_HISTORY": ("QUEUEID",)}
# reason codes say "no queue" with QueueID 0 [DOC]
NO_QUEUE_ZERO = ("G_AGENT_STATE_RC", "G_AGENT_STATE_RC_A")
RELEASE_COLUMNS = {"G_CALL_STAT": ("GSYS_EXT_VCH1", "GSYS_EXT_VCH2"),
                   "G_PARTY_STAT": ("GSYS_EXT_INT1",)}
PARTY_TABLES = ("G_PARTY", "G_PARTY_HISTORY", "G_PARTY_STAT")


@dataclass(frozen=True)
class DataFilters:
    call_metrics: bool = False
    acd_party_metrics: bool = False
    acd_party_history: bool = False
    external_party: bool = False
    observer_party: bool = False
    gls_queue: bool = False
    store_releasing_party: bool = True

    @staticmethod
    def from_options(options: IconOptions) -> "DataFilters":
        values = {f.name: options.get("filter-data", f.name.replace("_", "-")) == 1
                  for f in fields(DataFilters) if f.name != "store_releasing_party"}
        return DataFilters(**values, store_releasing_party=options.get(
            "callconcentrator", "store-releasing-party") == 1)

    def warnings(self) -> list[str]:
        """Who released a call needs the five filters at 0 (UG "Filtering IDB Data")."""
        on = [name for name in RELEASE_PREREQUISITES if getattr(self, name.replace("-", "_"))]
        if not (on and self.store_releasing_party):
            return []
        return [f"[filter-data] {', '.join(f'{n} = 1' for n in on)} with [callconcentrator] "
                f"store-releasing-party = 1: who released a call cannot be told for the parties "
                f"whose G_PARTY_STAT rows are not written (set them to 0 to keep it)"]

    # -- before staging ----------------------------------------------------------------------
    def before_staging(self, role: str, tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
        if role != "gcc" or not self.observer_party:
            return tables
        observers = tables["G_PARTY"].filter(pl.col("PROLE") == int(PartyRole.OBSERVER))["PARTYID"]
        if observers.is_empty():
            return tables
        out = {**tables, **{name: tables[name].filter(~pl.col("PARTYID").is_in(observers.implode()))
                            for name in PARTY_TABLES}}
        # a party distributed or moved by an observer keeps no parent the IDB lacks
        orphan = pl.col("PARENTPARTYID").is_in(observers.implode())
        out["G_PARTY"] = out["G_PARTY"].with_columns(
            PARENTLINKTYPE=pl.when(orphan).then(int(ParentLinkType.NONE))
            .otherwise(pl.col("PARENTLINKTYPE")),
            PARENTPARTYID=pl.when(orphan).then(None).otherwise(pl.col("PARENTPARTYID")))
        # nor a call released by one (who released names the party)
        released = pl.col("GSYS_EXT_VCH2").is_in(observers.implode())
        out["G_CALL_STAT"] = out["G_CALL_STAT"].with_columns(
            GSYS_EXT_VCH2=pl.when(released).then(None).otherwise(pl.col("GSYS_EXT_VCH2")))
        return out

    # -- before writing ----------------------------------------------------------------------
    def before_writing(self, role: str, tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
        if role == "gcc":
            return self._gcc(tables)
        if role == "gls" and self.gls_queue:
            return self._gls_queue(tables)
        return tables

    def _gcc(self, tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
        out = dict(tables)
        if self.call_metrics:
            out["G_CALL_STAT"] = tables["G_CALL_STAT"].clear()
        acd = pl.col("ENDPOINTTYPE").is_in(QUEUE_TYPES).fill_null(False)
        external = (pl.col("TYPE") == int(PartyType.EXTERNAL)).fill_null(False)
        no_stat = pl.lit(False)
        if self.acd_party_metrics:
            no_stat = no_stat | acd
        if self.external_party:
            no_stat = no_stat | external
        parties = tables["G_PARTY"]
        if self.acd_party_metrics or self.external_party:
            out["G_PARTY_STAT"] = _without(out["G_PARTY_STAT"], parties.filter(no_stat))
        if self.acd_party_history:
            out["G_PARTY_HISTORY"] = _without(out["G_PARTY_HISTORY"], parties.filter(acd))
        if not self.store_releasing_party:
            for name, columns in RELEASE_COLUMNS.items():
                out[name] = out[name].with_columns(
                    [pl.lit(None, dtype=out[name].schema[c]).alias(c) for c in columns])
        return out

    def _gls_queue(self, tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
        out = dict(tables)
        for name, columns in QUEUE_COLUMNS.items():
            frame = tables[name].with_columns(
                [pl.lit(None, dtype=tables[name].schema[c]).alias(c) for c in columns])
            out[name] = _one_per_dn(frame) if name == "GX_SESSION_ENDPOINT" else frame
        for name in NO_QUEUE_ZERO:
            out[name] = tables[name].with_columns(QUEUEID=pl.lit(0, dtype=tables[name]
                                                                 .schema["QUEUEID"]))
        return out


def _without(frame: pl.DataFrame, parties: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(~pl.col("PARTYID").is_in(parties["PARTYID"].implode()))


def _one_per_dn(endpoints: pl.DataFrame) -> pl.DataFrame:
    """GX_SESSION_ENDPOINT without queues: the associations of a session's DN that overlap in
    time (one per queue it logged in to) become one, from the first one's CREATED to the last
    one's TERMINATED (open if one is)."""
    ordered = endpoints.sort("LOGINSESSIONID", "ETL_DN", "CREATED_TS", "ID").with_columns(
        _end=pl.col("TERMINATED_TS").cast(pl.Int64).fill_null(2**62))     # open: no end
    per_dn = ["LOGINSESSIONID", "ETL_DN"]
    spans = ordered.with_columns(
        _span=(pl.col("CREATED_TS").cast(pl.Int64)
               > pl.col("_end").cum_max().shift(1).over(per_dn)).fill_null(True)
        .cum_sum().over(per_dn))
    last = (spans.sort("_end", "ID").group_by(*per_dn, "_span", maintain_order=True)
            .agg([pl.col(c).last() for c in _END_COLUMNS]))
    first = spans.unique([*per_dn, "_span"], keep="first", maintain_order=True)
    return (first.drop(_END_COLUMNS).join(last, on=[*per_dn, "_span"], how="left")
            .select(endpoints.columns))


# what the last association of a DN decides when its queues' associations become one
_END_COLUMNS = ["TERMINATED", "TERMINATED_TS", "TERMINATED_TCODE", "STATE", "ETL_CLOSED_BY",
                "ETL_SOURCE_LAST"]

