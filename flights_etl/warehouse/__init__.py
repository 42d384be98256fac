"""The warehouse: one interface (``Warehouse``), a DuckDB file by default or PostgreSQL for shared deployments."""
import os

from flights_etl.warehouse.base import Fenced, PartitionOwner, RowsOfAnotherDay, Warehouse, WarehouseError
from flights_etl.warehouse.duckdb_backend import DEFAULT_LOCK_TIMEOUT_S, DuckDBWarehouse, WarehouseLockTimeout

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
WAREHOUSE_ENV = "FLIGHTS_WAREHOUSE"


def default_location() -> str:
    """``$FLIGHTS_WAREHOUSE``, else ``data/warehouse.duckdb`` (read at call time)."""
    return os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE


def open_warehouse(location: str, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Warehouse:
    """The warehouse at ``location``: a ``postgresql://`` URL, else a DuckDB file path."""
    from flights_etl.warehouse.postgres_backend import PostgresWarehouse, is_postgres_url

    if is_postgres_url(location):
        return PostgresWarehouse(location)
    return DuckDBWarehouse(location, lock_timeout_s=lock_timeout_s)


__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "Fenced",
    "PartitionOwner",
    "RowsOfAnotherDay",
    "Warehouse",
    "WarehouseError",
    "WarehouseLockTimeout",
    "WAREHOUSE_ENV",
    "default_location",
    "open_warehouse",
]
