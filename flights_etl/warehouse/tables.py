"""Table definitions of the warehouse, and the DDL that creates them when missing."""
from typing import Dict, Tuple

import duckdb

from flights_etl.schema import FLIGHTS_COLUMNS, PARTITION_COLUMN, WEATHER_COLUMNS, Column


def _source_table(columns: Tuple[Column, ...]) -> Tuple[Tuple[str, str], ...]:
    return tuple((column.name, column.sql_type) for column in columns) + ((PARTITION_COLUMN, "DATE"),)


# table name -> ((column, SQL type), ...); each table is partitioned by its first key column below.
TABLES: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "flights": _source_table(FLIGHTS_COLUMNS),
    "weather": _source_table(WEATHER_COLUMNS),
    "daily_delays": (
        (PARTITION_COLUMN, "DATE"),
        ("origin", "VARCHAR"),
        ("carrier", "VARCHAR"),
        ("flights", "BIGINT"),
        ("cancelled", "BIGINT"),
        ("dep_delay_mean", "DOUBLE"),
        ("dep_delay_p95", "DOUBLE"),
        ("arr_delay_mean", "DOUBLE"),
        ("arr_delay_p95", "DOUBLE"),
        ("weather_hours", "BIGINT"),
        ("precip_total", "DOUBLE"),
        ("visib_min", "DOUBLE"),
        ("wind_gust_max", "DOUBLE"),
    ),
    "monthly_report": (
        ("month_start", "DATE"),
        ("carrier", "VARCHAR"),
        ("flights", "BIGINT"),
        ("cancelled", "BIGINT"),
        ("arrived", "BIGINT"),
        ("on_time", "BIGINT"),
        ("on_time_share", "DOUBLE"),
        ("dep_delay_mean", "DOUBLE"),
        ("arr_delay_mean", "DOUBLE"),
    ),
}

# The column whose value names a table's partition.
PARTITION_KEYS: Dict[str, str] = {
    "flights": PARTITION_COLUMN,
    "weather": PARTITION_COLUMN,
    "daily_delays": PARTITION_COLUMN,
    "monthly_report": "month_start",
}


def column_names(table: str) -> Tuple[str, ...]:
    return tuple(name for name, _ in TABLES[table])


def ensure_tables(connection: duckdb.DuckDBPyConnection) -> None:
    for table, columns in TABLES.items():
        body = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
