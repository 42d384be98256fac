"""The ``warehouse`` resource: the warehouse interface, opened at the location the run is given."""
from dagster import Field, StringSource, resource

from flights_etl.warehouse import DEFAULT_LOCK_TIMEOUT_S, WAREHOUSE_ENV, Warehouse, default_location, open_warehouse

_CONFIG = {
    "location": Field(
        StringSource,
        is_required=False,
        description=f"The warehouse: a DuckDB file path, or a postgresql:// URL. Default: ${WAREHOUSE_ENV}, else "
        "data/warehouse.duckdb. Give a URL with a password as {env: VARIABLE}, never inline.",
    ),
    "lock_timeout_s": Field(
        float,
        default_value=DEFAULT_LOCK_TIMEOUT_S,
        description="DuckDB: how long to wait for another process to release the file lock before failing.",
    ),
}


def _fenced_by_the_run(init_context, warehouse: Warehouse) -> Warehouse:
    """The warehouse whose partition writes commit only while this run owns its partition (runs/fence.py)."""
    from flights_etl.runs.fence import RunOwner

    run = init_context.dagster_run
    if init_context.instance is None or run is None:  # built outside a run (build_resources)
        return warehouse
    return warehouse.owned_by(RunOwner(init_context.instance, run))


@resource(config_schema=_CONFIG, description="The warehouse (default: DuckDB file data/warehouse.duckdb).")
def warehouse_resource(init_context) -> Warehouse:
    config = init_context.resource_config
    warehouse = open_warehouse(config.get("location") or default_location(), lock_timeout_s=config["lock_timeout_s"])
    return _fenced_by_the_run(init_context, warehouse)


@resource(
    config_schema=_CONFIG,
    description=f"The warehouse for tests: its location must be given (config or ${WAREHOUSE_ENV}), "
    "so a test never writes to the project's data/ folder.",
)
def explicit_warehouse_resource(init_context) -> Warehouse:
    import os

    config = init_context.resource_config
    location = config.get("location") or os.environ.get(WAREHOUSE_ENV)
    if not location:
        raise ValueError(
            f"The test mode needs a warehouse: set ${WAREHOUSE_ENV} or resources.warehouse.config.location"
        )
    return _fenced_by_the_run(init_context, open_warehouse(location, lock_timeout_s=config["lock_timeout_s"]))
