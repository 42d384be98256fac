"""The warehouse: one interface (``Warehouse``), a DuckDB file by default or PostgreSQL for shared deployments."""
import os
import re

from flights_etl import settings
from flights_etl.urls import url_scheme
from flights_etl.warehouse.base import Fenced, PartitionOwner, RowsOfAnotherDay, Warehouse, WarehouseError
from flights_etl.warehouse.duckdb_backend import DEFAULT_LOCK_TIMEOUT_S, DuckDBWarehouse, WarehouseLockTimeout

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
_LIBPQ_KEYWORD = re.compile(r"(^|\s)(host|hostaddr|port|user|password|passfile|dbname|service|sslmode)\s*=", re.I)
WAREHOUSE_ENV = settings.WAREHOUSE


def default_location() -> str:
    """``$FLIGHTS_WAREHOUSE``, else ``data/warehouse.duckdb`` (read at call time)."""
    return settings.read(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE


def open_warehouse(location: str, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Warehouse:
    """The warehouse at ``location``: a PostgreSQL URL (``postgresql://``, ``postgres://``,
    ``postgresql+psycopg2://``), else a DuckDB file path (``~`` expanded). Any other ``scheme://``
    is refused, never taken for a file path (its password would become directory names)."""
    from flights_etl.warehouse.postgres_backend import PostgresWarehouse, is_postgres_url
    from flights_etl.warehouse.writer import registered_writer

    if is_postgres_url(location):
        return PostgresWarehouse(location)
    path = duckdb_path(location)
    # In a backfill's worker, the backfill's writer process holds the file (warehouse/writer.py).
    return registered_writer(path) or DuckDBWarehouse(path, lock_timeout_s=lock_timeout_s)


def duckdb_path(location: str) -> str:
    """``location`` as a DuckDB file path, or a one-line ``WarehouseError`` that shows no password."""
    scheme = url_scheme(location)
    expected = "expected a DuckDB file path or postgresql://user[:password]@host[:port]/database"
    if scheme is not None:
        what = f"the scheme {scheme}://" if scheme else "a '://'"
        if scheme.startswith(("postgresql+", "postgres+")):
            what += " (this project connects with psycopg2: postgresql:// or postgresql+psycopg2://)"
        raise WarehouseError(f"the warehouse location has {what}: {expected}")  # not echoed: may hold a password
    if not location.strip():
        raise WarehouseError(f"the warehouse location is empty: {expected}")
    # A libpq connection string (host=... password=...) or a URL without its scheme (//user:pw@host/db)
    # would become a DuckDB file named after the password. Not echoed.
    if _LIBPQ_KEYWORD.search(location) or location.startswith("//"):
        raise WarehouseError(
            "the warehouse location looks like a PostgreSQL connection string (key=value words, or //host), "
            f"not a file: {expected}"
        )
    # DuckDB reads ':memory:' and 'md:...' (MotherDuck) as no file at all, so runs would load nowhere;
    # 'user:password@host/db' is a URL without its scheme. Not echoed: it may hold a password.
    if ":" in location.split("/", 1)[0]:
        raise WarehouseError(
            "the warehouse location has a ':' before its first '/' (':memory:', 'md:', a URL without its "
            f"scheme?), which DuckDB does not open as a file: {expected} (write ./ before a file name with a ':')"
        )
    path = os.path.expanduser(location)
    if path.startswith("~"):
        raise WarehouseError(f"the warehouse location: cannot expand {path.split('/', 1)[0]}: no such user")
    return path


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
