"""The ``warehouse`` resource: the warehouse interface, opened at the location the deployment gives.

The location (and the password in a PostgreSQL URL) comes from ``$FLIGHTS_WAREHOUSE``, read when
the resource starts, never from run config: Dagit has no login, and whoever reaches the
Launchpad writes the run config (including ``{env: ANY_VARIABLE}``).
"""

from dagster import Field, resource

from flights_etl import settings
from flights_etl.warehouse import DEFAULT_LOCK_TIMEOUT_S, WAREHOUSE_ENV, Warehouse, default_location, open_warehouse

# No location field: Dagster's config check refuses resources.warehouse.config.location.
_CONFIG = {
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


@resource(
    config_schema=_CONFIG,
    description=f"The warehouse at ${WAREHOUSE_ENV} (DuckDB file or PostgreSQL URL), else data/warehouse.duckdb.",
)
def warehouse_resource(init_context) -> Warehouse:
    warehouse = open_warehouse(default_location(), lock_timeout_s=init_context.resource_config["lock_timeout_s"])
    return _fenced_by_the_run(init_context, warehouse)


@resource(
    config_schema=_CONFIG,
    description=f"The warehouse for tests: ${WAREHOUSE_ENV} must be set, so a test never writes to the "
    "project's data/ folder.",
)
def explicit_warehouse_resource(init_context) -> Warehouse:
    location = settings.read(WAREHOUSE_ENV)
    if not location:
        raise ValueError(f"The test mode needs a warehouse: set ${WAREHOUSE_ENV} in the environment of the run")
    return _fenced_by_the_run(init_context, open_warehouse(location, lock_timeout_s=init_context.resource_config["lock_timeout_s"]))
