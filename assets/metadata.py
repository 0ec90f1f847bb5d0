"""Asset metadata shown in the Dagster UI."""

from __future__ import annotations

import dagster as dg
import polars as pl

from transforms.idb import table

# the IDB's SQL type of each schema type (what the catalog shows as a column's type)
SQL_TYPE = {"int": "INTEGER", "smallint": "SMALLINT", "bigint": "BIGINT",
            "str50": "VARCHAR(50)", "str64": "VARCHAR(64)", "str128": "VARCHAR(128)",
            "str255": "VARCHAR(255)",
            "text": "TEXT", "datetime": "TIMESTAMP",
            "float": "DOUBLE PRECISION"}


def preview(frame: pl.DataFrame, rows: int = 10) -> str:
    """The first rows of a frame as a Markdown table."""
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_rows=rows, tbl_cols=12,
                   fmt_str_lengths=40):
        return str(frame.head(rows))


def table_metadata(name: str) -> dict:
    """An IDB table as Dagster's catalog describes tables: its name and its columns (SQL type,
    nullable, unique key), so the asset page lists them."""
    t = table(name)
    single = t.key[0] if len(t.key) == 1 else None
    columns = [dg.TableColumn(c.name, SQL_TYPE[c.type], constraints=dg.TableColumnConstraints(
        nullable=c.nullable, unique=c.name == single)) for c in t.columns]
    constraints = (dg.TableConstraints(other=[f"unique ({', '.join(t.key)})"])
                   if len(t.key) > 1 else None)
    return {"dagster/table_name": name,
            "dagster/column_schema": dg.TableSchema(columns=columns, constraints=constraints)}
