"""The DuckDB warehouse: connections that wait on the file lock, table definitions, partition writes."""
from flights_etl.warehouse.connection import WarehouseLockTimeout, connect
from flights_etl.warehouse.partitions import replace_partitions, transaction
from flights_etl.warehouse.tables import TABLES, ensure_tables

__all__ = ["connect", "WarehouseLockTimeout", "replace_partitions", "transaction", "TABLES", "ensure_tables"]
