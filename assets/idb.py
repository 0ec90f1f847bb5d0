"""HA reconciliation and the IDB itself: per hour, pick each entity from one replica, then
replace those entities in the SQL tables (docs/architecture.md, "Writing a partition")."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.ingest import _preview, segments_key
from assets.roles import read_staged, role_key, write_staged
from dagster_project.partitions import HOURLY
from dagster_project.resources import IconConfig, Idb, LogStorage
from transforms import dictionary
from transforms.gcc.build import GCC_TABLES
from transforms.gls.build import GLS_TABLES
from transforms.gud.build import GUD_TABLES
from transforms.idb_schema import table
from transforms.timecodes import timecode_frame

RECONCILE_GROUP = "ha_reconciliation"
IDB_GROUP = "idb"
RECONCILED_KEY = dg.AssetKey(["ha", "reconciled"])
ROLE_TABLES = {"gcc": GCC_TABLES, "gls": GLS_TABLES, "gud": GUD_TABLES}
ROLES = list(ROLE_TABLES)


def idb_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["idb", name])


def reconcile(staged: dict[str, tuple[dict[str, pl.DataFrame], pl.DataFrame]]
              ) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, dict[str, int]]:
    """Each entity from exactly one replica (the first, in replica order, that has it): never
    doubled. `staged`: replica -> (tables, status)."""
    chosen: list[pl.DataFrame] = []
    taken = pl.DataFrame(schema={"entity": pl.String})
    per_replica: dict[str, int] = {}
    for replica in sorted(staged):
        _, status = staged[replica]
        mine = status.join(taken, on="entity", how="anti").with_columns(replica=pl.lit(replica))
        per_replica[replica] = mine.height
        chosen.append(mine)
        taken = pl.concat([taken, mine.select("entity")])
    status = pl.concat(chosen, how="vertical_relaxed") if chosen else pl.DataFrame(
        schema={"entity": pl.String, "group": pl.String, "open": pl.Boolean, "replica": pl.String})
    tables: dict[str, pl.DataFrame] = {}
    for replica in sorted(staged):
        frames, _ = staged[replica]
        mine = status.filter(pl.col("replica") == replica).select(pl.col("entity").alias("ETL_ENTITY"))
        for name, frame in frames.items():
            part = frame.join(mine, on="ETL_ENTITY", how="semi") if "ETL_ENTITY" in frame.columns \
                else frame
            tables[name] = pl.concat([tables[name], part], how="vertical_relaxed") \
                if name in tables else part
    for name, frame in tables.items():
        if not table(name).has_etl_columns:
            tables[name] = frame.unique(list(table(name).key), maintain_order=True)
    return tables, status, per_replica


def build_idb_assets(replicas: list[str]) -> list:
    @dg.asset(
        key=RECONCILED_KEY,
        deps=[role_key(r, role) for r in replicas for role in ROLES],
        partitions_def=HOURLY,
        group_name=RECONCILE_GROUP,
        kinds={"polars", "parquet"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        description="HA reconciliation: for every hour and every entity (call, login session…), "
                    "the rows of exactly one replica; never one entity twice.",
    )
    def reconciled(context: dg.AssetExecutionContext, logs: LogStorage) -> dg.MaterializeResult:
        counts: dict[str, int] = {}
        for part in context.partition_keys:
            for role in ROLES:
                staged = {r: s for r in replicas
                          if (s := read_staged(logs.role_dir(r, role, part))) is not None}
                if not staged:
                    raise FileNotFoundError(f"no replica has {role} output for {part}: materialize "
                                            f"{', '.join(role_key(r, role).to_user_string() for r in replicas)} first")
                tables, status, per_replica = reconcile(staged)
                write_staged(logs.reconciled_dir(role, part),
                             {**{f"tables/{n}": f for n, f in tables.items()}, "status": status})
                for r, n in per_replica.items():
                    counts[f"entities_from_{r}"] = counts.get(f"entities_from_{r}", 0) + n
        return dg.MaterializeResult(metadata={**counts, "partitions": len(context.partition_keys)})

    @dg.asset(
        key=idb_key("reference"),
        deps=[segments_key(r) for r in replicas],
        group_name=IDB_GROUP,
        kinds={"sqlite", "postgres"},
        description="Reference tables: G_DICT_TYPE / G_DICTIONARY (every enumeration), the GC_* "
                    "configuration tables from the configuration snapshot, and G_TIMECODE over "
                    "the span of the logs.",
    )
    def reference(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig, idb: Idb):
        store = idb.store()
        config = icon.snapshot_data()
        frames = {"G_DICT_TYPE": dictionary.dict_type_frame(),
                  "G_DICTIONARY": dictionary.dictionary_frame(), **config.gc_tables()}
        store.replace_all({n: table(n).conform(f) for n, f in frames.items()})
        spans = [logs.segments(r).registry().filter(pl.col("duplicate_of").is_null())
                 .select("first_ts", "last_ts") for r in replicas]
        span = pl.concat(spans).drop_nulls() if spans else pl.DataFrame()
        if span.height:
            store.upsert("G_TIMECODE", timecode_frame(span["first_ts"].min(), span["last_ts"].max()))
        return dg.MaterializeResult(metadata={
            "dictionary_values": frames["G_DICTIONARY"].height,
            "endpoints": frames["GC_ENDPOINT"].height, "agents": frames["GC_AGENT"].height,
            "timecodes": store.count("G_TIMECODE"),
            "dictionary": dg.MetadataValue.md(_preview(frames["G_DICT_TYPE"], 40))})

    return [reconciled, *[idb_writer(role) for role in ROLES], reference]


def idb_writer(role: str) -> dg.AssetsDefinition:
    """One IDB asset per table of a role, written together per hour: entity tables replace the
    hour's entities (docs/architecture.md), the few tables without entities are upserted."""
    names = ROLE_TABLES[role]

    @dg.multi_asset(
        specs=[dg.AssetSpec(idb_key(name), deps=[RECONCILED_KEY], group_name=IDB_GROUP,
                            kinds={"sqlite", "postgres"}, description=table(name).description)
               for name in names],
        partitions_def=HOURLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=False,
        name=f"idb_{role}",
    )
    def write(context: dg.AssetExecutionContext, logs: LogStorage, idb: Idb):
        store = idb.store()
        rows: dict[str, int] = {}
        over: dict[str, int] = {}
        for part in context.partition_keys:
            staged = read_staged(logs.reconciled_dir(role, part))
            if staged is None:
                raise FileNotFoundError(f"no reconciled {role} output for {part}: materialize "
                                        f"{RECONCILED_KEY.to_user_string()} first")
            tables, status = staged
            frames = {n: tables.get(n, table(n).empty()) for n in names}
            by_entity = {n: f for n, f in frames.items() if table(n).has_etl_columns}
            report = store.write_entities(by_entity, status["entity"].to_list(), part)
            for n, f in frames.items():
                if n not in by_entity:
                    store.upsert(n, f)
            for n, k in report.rows.items():
                rows[n] = rows.get(n, 0) + k
            for n, k in report.over_length.items():
                over[n] = over.get(n, 0) + k
            context.log.info(f"IDB {role} {part}: {sum(report.rows.values()):,} rows, "
                             f"{report.skipped_entities} entities left to later hours")
        for name in names:
            meta = {"rows_written": rows.get(name, 0), "rows_in_table": store.count(name),
                    "partitions": len(context.partition_keys)}
            flagged = {k: v for k, v in over.items() if k.startswith(name + ".")}
            if flagged:
                meta["values_longer_than_idb_column"] = dg.MetadataValue.json(flagged)
            yield dg.MaterializeResult(asset_key=idb_key(name), metadata=meta)

    return write
