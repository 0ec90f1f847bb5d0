"""Several hours of a role written as one batch: each entity as the latest of those hours left
it (docs/architecture.md, "Writing the IDB"). Writing the hours one after the other would
end the same way, with each entity's rows written once instead of once per hour it was open."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from transforms.idb.schema import table


def latest_versions(staged: Mapping[str, tuple[Mapping[str, pl.DataFrame], pl.DataFrame]],
                    names: list[str]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """`staged`: hour -> (tables, status) as a role's hours keep them. Returns the rows of each
    entity from the latest hour that has it, and the owners (ETL_ENTITY, ETL_PARTITION: that
    hour) of every entity of the hours."""
    statuses = [status.select(pl.col("entity").alias("ETL_ENTITY"))
                .with_columns(ETL_PARTITION=pl.lit(hour)) for hour, (_, status) in staged.items()]
    owners = (pl.concat(statuses) if statuses
              else pl.DataFrame(schema={"ETL_ENTITY": pl.String, "ETL_PARTITION": pl.String}))
    owners = owners.group_by("ETL_ENTITY").agg(pl.col("ETL_PARTITION").max()).sort("ETL_ENTITY")
    frames: dict[str, pl.DataFrame] = {}
    for name in names:
        parts = [tables[name] for tables, _ in staged.values() if name in tables]
        frame = table(name).conform(pl.concat(parts, how="diagonal_relaxed")) if parts \
            else table(name).empty()
        if table(name).has_etl_columns and len(staged) > 1:
            frame = frame.join(owners, on=["ETL_ENTITY", "ETL_PARTITION"], how="semi")
        frames[name] = frame
    return frames, owners
