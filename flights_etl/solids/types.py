"""Dagster types of the solids' outputs that Dagster's built-in types would open to run config.

Dagster's ``str`` and ``Any`` come with a loader and a materializer: run config could then write
an output to any path (``solids.load_partition.outputs: [{result: {json: {path: ...}}}]``) or,
in a solid selection, read an input from any file (``solids.notify_complete.inputs.summary:
{json: {path: ...}}``), and then notify its content. Where runs read and write is the
deployment's (docs/security.md), so the summaries are of a type with neither.

Frames are of our ``DataFrame`` rather than of the type Dagster infers from pandas' class, so that
loading the repository (``status``, Dagit, the daemon, a sensor tick) does not import pandas.
"""
from dagster import DagsterType, TypeCheck

Summary = DagsterType(
    name="Summary",
    type_check_fn=lambda _context, value: isinstance(value, str),
    description="A run's one-line summary (text). Neither loaded from nor written to a path by run config.",
)

RowCount = DagsterType(
    name="RowCount",
    type_check_fn=lambda _context, value: isinstance(value, int) and not isinstance(value, bool),
    description="Rows written to a warehouse table for the run's partition. Neither loaded from nor written to a "
    "path by run config.",
)


def _is_frame(_context, value) -> TypeCheck:
    import pandas as pd  # a step's check, not the repository's import: loading definitions needs no pandas

    if isinstance(value, pd.DataFrame):
        return TypeCheck(success=True)
    kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
    return TypeCheck(success=False, description=f"Value of type {kind} is not a pandas DataFrame.")


DataFrame = DagsterType(
    name="DataFrame",
    type_check_fn=_is_frame,
    description="A pandas DataFrame: the day's rows of a landing file or of a summary. Neither loaded from nor "
    "written to a path by run config.",
)
