"""The io manager of the solids' table outputs (assets ``warehouse/<table>``): it stores nothing.

A table output only tells Dagster which asset and partition the step wrote (the count of rows is
its value); the data is already in the warehouse, committed by the step itself. Nothing reads
these outputs within a run, and a re-execution from failure either runs the writing step again or
does not need its tables as inputs: downstream steps read the warehouse through its resource.
"""
from dagster import IOManager, io_manager


class WarehouseTables(IOManager):
    def handle_output(self, context, obj) -> None:
        pass  # the step wrote the table in its own warehouse transaction

    def load_input(self, context):
        upstream = context.upstream_output
        raise ValueError(
            f"Output {upstream.name!r} of step {upstream.step_key} is a warehouse table, not stored as a step "
            "output: read the table from the warehouse resource instead"
        )


@io_manager(description="Table outputs (assets warehouse/<table>): the step already wrote them; nothing is stored.")
def warehouse_tables_io_manager(_init_context) -> WarehouseTables:
    return WarehouseTables()
