"""Small helpers that turn a loaded frame into Dagster metadata and materializations."""

import pandas as pd
from dagster import AssetMaterialization, MetadataValue

PREVIEW_ROWS = 5


def markdown_preview(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> MetadataValue:
    if frame.empty:
        return MetadataValue.md("_no rows_")
    return MetadataValue.md(frame.head(rows).to_markdown(index=False))


def partition_materialization(table: str, partition: str, frame: pd.DataFrame, **extra) -> AssetMaterialization:
    """An ``AssetMaterialization`` of ``warehouse/<table>`` for one partition, with its rows and a preview."""
    return AssetMaterialization(
        asset_key=["warehouse", table],
        partition=partition,
        description=f"{table} rows of partition {partition}",
        metadata={"rows": len(frame), "preview": markdown_preview(frame), **extra},
    )
