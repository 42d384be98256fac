"""Small helpers that turn a loaded frame into Dagster metadata and the warehouse tables into assets.

A legacy pipeline gets lineage in Dagit 0.15's Assets pages only from asset keys on solid inputs
and outputs: an output with an asset key is an asset, depending on the asset keys of all its
solid's inputs. Dagster itself then records one ``AssetMaterialization`` per output, with the
output's partition and the ``Output``'s metadata, so the solids yield no materializations of their own.
"""
import warnings
from typing import TYPE_CHECKING, Callable

from dagster import AssetKey, ExperimentalWarning, InputDefinition, MetadataValue, OutputDefinition

from flights_etl.solids.types import RowCount

if TYPE_CHECKING:
    import pandas as pd

PREVIEW_ROWS = 5
WAREHOUSE_TABLES_IO_MANAGER = "warehouse_tables"  # see resources/warehouse_tables.py


def markdown_preview(frame: "pd.DataFrame", rows: int = PREVIEW_ROWS) -> MetadataValue:
    """The first ``rows`` rows as a Markdown table (Dagit renders it; pandas' to_markdown, through
    tabulate, costs ~3 ms a frame, more than reading the day's weather file)."""
    if frame.empty:
        return MetadataValue.md("_no rows_")
    head = frame.head(rows)
    lines = [_markdown_row(head.columns), "|" + "|".join("---" for _ in head.columns) + "|"]
    lines += [_markdown_row(row) for row in head.itertuples(index=False, name=None)]
    return MetadataValue.md("\n".join(lines))


def _markdown_row(values) -> str:
    return "| " + " | ".join(_markdown_cell(value) for value in values) + " |"


def _markdown_cell(value) -> str:
    import pandas as pd  # loaded already: the frame is pandas'

    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table_metadata(frame: "pd.DataFrame", **extra) -> dict:
    """The metadata of one partition of a warehouse table's materialization: its rows and a preview."""
    return {"rows": len(frame), "preview": markdown_preview(frame), **extra}


def table_output(table: str, partition: Callable[[object], str]) -> OutputDefinition:
    """Output ``<table>_table``: asset ``warehouse/<table>``, partition ``partition(resources)`` of the run.

    Its value (the rows written) is not stored: the solid already wrote the table."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # asset keys on outputs: experimental in 0.15
        return OutputDefinition(
            RowCount, name=f"{table}_table", io_manager_key=WAREHOUSE_TABLES_IO_MANAGER,
            description=f"Rows of table {table} written for the run's partition (asset warehouse/{table}).",
            asset_key=AssetKey(["warehouse", table]),
            # The partition resource is the solid's, not the io manager's: reach it through the step.
            asset_partitions=lambda context: {partition(context.step_context.resources)},
        )


def with_asset_keys(decorator: Callable) -> Callable:
    """``decorator`` (a ``solid(...)`` with asset keys on its inputs) applied without 0.15's experimental warnings."""
    def apply(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return decorator(fn)
    return apply


def asset_input(name: str, asset_key: list, dagster_type=None) -> InputDefinition:
    """An input that reads asset ``asset_key``: Dagit draws it upstream of the solid's outputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        if dagster_type is None:  # the type comes from the solid's annotation
            return InputDefinition(name, asset_key=AssetKey(asset_key))
        return InputDefinition(name, dagster_type, asset_key=AssetKey(asset_key))

