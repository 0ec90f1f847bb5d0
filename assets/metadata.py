"""Asset metadata shown in the Dagster UI."""

from __future__ import annotations

import polars as pl


def preview(frame: pl.DataFrame, rows: int = 10) -> str:
    """The first rows of a frame as a Markdown table."""
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True,
                   tbl_hide_dataframe_shape=True, tbl_rows=rows, tbl_cols=12,
                   fmt_str_lengths=40):
        return str(frame.head(rows))
