"""The IDB itself: per hour, the reconciled entities replace their rows in the SQL tables
(docs/architecture.md, "Writing the IDB"); reference, data-source-session and ledger tables
beside them."""


import dagster as dg
import polars as pl
import sqlalchemy as sa

from assets.failures import each_hour, failure_metadata, record_failure
from assets.ha import COVERAGE_KEY, DSS_KEY, RECONCILED_KEY, load_clock, read_ledgers
from assets.ingest import segments_key
from assets.metadata import preview, table_metadata
from assets.progress import report
from assets.resources import IconConfig, Idb, LogStorage
from assets.roles import read_role_frames, role_key
from transforms.config import RuleVersions
from transforms.datafolder import LEDGERS
from transforms.ha import dss
from transforms.idb import (
    DSS_TABLES,
    IdbError,
    WriteReport,
    dictionary,
    closure_messages,
    latest_versions,
    message_frames,
    redact_url,
    table,
    timecode_frame,
)
from transforms.roles import ROLE_TABLES, STUCK_CLOSURES
from transforms.roles import DataFilters

IDB_GROUP = "idb"


class EntitiesRefused(RuntimeError):
    """The IDB refused the rows of some entities of an hour (the others were written)."""

ROLES = list(ROLE_TABLES)
# the most hours of a role written in one transaction (what bounds the writer's memory)
WRITE_HOURS = 24
LEDGER_TABLES = tuple(LEDGERS)


def idb_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["idb", name])


def build_idb_assets(replicas: list[str], hourly: dg.PartitionsDefinition,
                     versions: RuleVersions) -> list:
    @dg.asset(
        key=idb_key("reference"),
        deps=[segments_key(r) for r in replicas],
        group_name=IDB_GROUP,
        kinds={"sqlite", "postgres"},
        code_version=versions.reference,
        description="Reference tables: G_DICT_TYPE / G_DICTIONARY (every enumeration), the GC_* "
                    "configuration tables from the configuration snapshot, and G_TIMECODE over "
                    "the span of the logs.",
    )
    def reference(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig, idb: Idb):
        store = idb.store_for(logs)
        config = icon.snapshot_data()
        frames = {"G_DICT_TYPE": dictionary.dict_type_frame(),
                  "G_DICTIONARY": dictionary.dictionary_frame(), **config.gc_tables()}
        store.replace_all({n: table(n).conform(f) for n, f in frames.items()})
        span = logs.span(replicas)
        if span:
            store.upsert("G_TIMECODE", timecode_frame(*span))
        return dg.MaterializeResult(metadata={
            "dictionary_values": frames["G_DICTIONARY"].height,
            "endpoints": frames["GC_ENDPOINT"].height, "agents": frames["GC_AGENT"].height,
            "timecodes": store.count("G_TIMECODE"),
            "dictionary": dg.MetadataValue.md(preview(frames["G_DICT_TYPE"], 40))})

    @dg.multi_asset(
        specs=[dg.AssetSpec(idb_key(name), deps=[DSS_KEY], group_name=IDB_GROUP,
                            kinds={"sqlite", "postgres"}, description=table(name).description,
                            metadata=table_metadata(name), code_version=versions.dss)
               for name in DSS_TABLES],
        can_subset=False,
        name="idb_dss",
    )
    def dss_tables(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig, idb: Idb):
        """G_DSS_GCC/GLS/GUD_PROVIDER (T-Servers) and G_DSS_GOS_PROVIDER (Outbound Contact
        Servers): every replica's data source sessions (replaced whole)."""
        clock = load_clock(logs, icon.snapshot_data().switches())
        paths = {r: logs.segments(r).paths() for r in replicas}
        ocs = set().union(*(logs.segments(r).ocs_apps() for r in replicas))
        frames: dict[str, list[pl.DataFrame]] = {}
        # ICON_DBID 1, 2, …: each replica's own sessions; 0: the reconciled stream the IDB is
        # written from (what GSYS_DOMAIN points at)
        for n, replica in enumerate(replicas, start=1):
            mine = clock.sessions.filter(pl.col("replica") == replica)
            for name, frame in dss.provider_tables(mine, n, f"{replica}/", paths[replica],
                                                   ocs).items():
                frames.setdefault(name, []).append(frame)
        union = clock.reconciled()
        for first in union["first_replica"].unique().to_list():
            part = union.filter(pl.col("first_replica") == first).drop("first_replica",
                                                                        "last_replica")
            for name, frame in dss.provider_tables(part, 0, f"{first}/", paths[first],
                                                   ocs).items():
                frames.setdefault(name, []).append(frame)
        merged = {name: pl.concat(parts) for name, parts in frames.items()}
        if icon.options().get("callconcentrator", "use-dss-monitor") == 0:
            merged = {name: frame.clear() for name, frame in merged.items()}
        store = idb.store_for(logs)
        store.replace_all(merged)
        counts = row_counts(store, merged)
        for name, frame in merged.items():
            yield dg.MaterializeResult(asset_key=idb_key(name), metadata={
                "rows": frame.height, **counts.get(name, {})})

    @dg.multi_asset(
        specs=[dg.AssetSpec(idb_key(name), deps=[RECONCILED_KEY, COVERAGE_KEY],
                            group_name=IDB_GROUP, kinds={"sqlite", "postgres"},
                            description=table(name).description, metadata=table_metadata(name))
               for name in LEDGER_TABLES],
        partitions_def=hourly,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=False,
        name="idb_ledgers",
    )
    def ledgers(context: dg.AssetExecutionContext, logs: LogStorage, idb: Idb):
        """ETL_COVERAGE and ETL_RECONCILE: the hour's rows replace what the hour wrote before."""
        store = idb.store_for(logs)
        rows = {name: 0 for name in LEDGER_TABLES}

        def one_hour(part: str) -> None:
            found = read_ledgers(logs, part)
            missing = [name for name in LEDGER_TABLES if name not in found]
            if missing:
                raise FileNotFoundError(f"{', '.join(missing)} of {part} not in the data folder")
            frames = {name: table(name).conform(found[name]) for name in LEDGER_TABLES}
            store.replace_where(frames, "HOUR", part)
            for name, frame in frames.items():
                rows[name] += frame.height

        _, failed = each_hour(
            context, logs.data(), "idb_ledgers", context.partition_keys, one_hour,
            inputs=lambda part: [(RECONCILED_KEY.to_user_string(), part),
                                 (COVERAGE_KEY.to_user_string(), part)])
        counts = row_counts(store, LEDGER_TABLES)
        for name in LEDGER_TABLES:
            yield dg.MaterializeResult(asset_key=idb_key(name), metadata={
                "rows_written": rows[name], "partitions": len(context.partition_keys),
                **counts.get(name, {}), **failure_metadata(failed)})

    return [*[idb_writer(role, hourly, versions.writer(role)) for role in ROLES], reference,
            dss_tables, ledgers]


def idb_writer(role: str, hourly: dg.PartitionsDefinition, version: str) -> dg.AssetsDefinition:
    """One IDB asset per table of a role, written together: the run's hours go in batches of
    up to WRITE_HOURS, each one transaction in which every entity is replaced by the latest
    hour that has it (docs/architecture.md); the few tables without entities are upserted."""
    names = ROLE_TABLES[role]

    @dg.multi_asset(
        specs=[dg.AssetSpec(idb_key(name), deps=[role_key(role)], group_name=IDB_GROUP,
                            kinds={"sqlite", "postgres"}, description=table(name).description,
                            metadata=table_metadata(name), code_version=version)
               for name in names],
        partitions_def=hourly,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=False,
        name=f"idb_{role}",
    )
    def write(context: dg.AssetExecutionContext, logs: LogStorage, icon: IconConfig, idb: Idb):
        store = idb.store_for(logs)
        data = logs.data()
        stage = f"idb_{role}"
        monitored = sorted(load_clock(logs, icon.snapshot_data().switches()).sessions["switch"]
                           .unique().to_list())
        total = WriteReport()
        failed: dict[str, str] = {}
        filters = DataFilters.from_options(icon.options())
        for warning in filters.warnings() if role == "gcc" else []:
            context.log.warning(warning)

        def inputs(part: str) -> list[tuple[str, str]]:
            return [(role_key(role).to_user_string(), part)]

        staged_hours = [k for k in context.partition_keys if data.role_status(role, k) is not None]
        for part in sorted(set(context.partition_keys) - set(staged_hours)):
            failed.update(record_failure(context, data, stage, [part], FileNotFoundError(
                f"no {role} output for {part}: materialize {role_key(role).to_user_string()} "
                f"first"), inputs))
        for batch in write_batches(staged_hours):
            try:
                written, owners = write_hours(store, role, names, logs, batch, monitored, filters)
            except Exception as exc:  # noqa: BLE001  (recorded; the next batch goes on)
                failed.update(record_failure(context, data, stage, batch, exc, inputs))
                continue
            total.add(written)
            refused = refused_hours(written.refused, owners, redact_url(idb.url))
            for part in batch:
                if part in refused:
                    # the batch's other entities are written; these wait for the next run
                    failed.update(record_failure(context, data, stage, [part], refused[part]))
                else:
                    data.clear_failure(stage, part)
            report(context, f"IDB {role} {batch[0]} .. {batch[-1]}: "
                            f"{sum(written.rows.values()):,} rows in {written.seconds:.1f} s, "
                            f"{written.skipped_entities} entities left to later hours")
        rows, replaced, over = total.rows, total.deleted, total.over_length
        counts = row_counts(store, names)
        for name in names:
            meta = {"rows_written": rows.get(name, 0), "rows_removed": replaced.get(name, 0),
                    **counts.get(name, {}),
                    "partitions": len(context.partition_keys), **failure_metadata(failed)}
            flagged = {k: v for k, v in over.items() if k.startswith(name + ".")}
            if flagged:
                meta["values_longer_than_idb_column"] = dg.MetadataValue.json(flagged)
            yield dg.MaterializeResult(asset_key=idb_key(name), metadata=meta)

    return write


def row_counts(store, names) -> dict[str, dict[str, int]]:
    """name -> {"dagster/row_count": rows in the IDB} for the catalog; nothing when the IDB
    cannot say (its failure is the writes' to report, not this metadata's)."""
    try:
        return {name: {"dagster/row_count": n} for name, n in store.row_counts(names).items()}
    except (IdbError, sa.exc.SQLAlchemyError):
        return {}


def write_batches(hours: list[str]) -> list[list[str]]:
    """The run's hours in time order, WRITE_HOURS at a time."""
    ordered = sorted(hours)
    return [ordered[i:i + WRITE_HOURS] for i in range(0, len(ordered), WRITE_HOURS)]


def write_hours(store, role: str, names: list[str], logs: LogStorage, batch: list[str],
                monitored: list[str], filters: DataFilters) -> tuple[WriteReport, pl.DataFrame]:
    """Write the staged hours `batch` of `role` (one transaction for the entity tables), less
    what `filters` leave out; returns what was written and which hour each entity was written
    for."""
    staged = {part: read_role_frames(logs, role, part, filters) for part in batch}
    frames, owners = latest_versions(staged, names)
    by_entity = {n: f for n, f in frames.items() if table(n).has_etl_columns}
    written = store.write_entities(by_entity, owners, batch)
    for n, f in frames.items():
        if n not in by_entity:
            store.upsert(n, f)
    if "GSYS_DNPREMOTELOCATION" in frames:
        # a switch whose logs arrived since is no longer a remote location
        store.delete_in("GSYS_DNPREMOTELOCATION", "REMOTELOCATION", monitored)
    if any(n in STUCK_CLOSURES for n in names):
        # the batch's hours' messages about stuck calls and sessions replace those written before
        app = f"icon-etl idb_{role}"
        store.replace_messages(*message_frames(closure_messages(frames, app, STUCK_CLOSURES)),
                               app, batch)
    return written, owners


def refused_hours(refused: dict[str, str], owners: pl.DataFrame,
                  idb: str) -> dict[str, EntitiesRefused]:
    """The hours whose entities the IDB refused, each with what it said (the first five)."""
    owner = dict(owners.filter(pl.col("ETL_ENTITY").is_in(list(refused))).iter_rows())
    by_hour: dict[str, list[tuple[str, str]]] = {}
    for entity, why in sorted(refused.items()):
        by_hour.setdefault(owner[entity], []).append((entity, why))
    return {part: EntitiesRefused(
                f"{len(mine)} entities refused by the IDB {idb}: "
                + "; ".join(f"{entity}: {why}" for entity, why in mine[:5]))
            for part, mine in by_hour.items()}
