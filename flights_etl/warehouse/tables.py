"""The warehouse's four tables: columns, logical types and partition keys, for every backend."""
from typing import Dict, Tuple

from flights_etl.contract.schema import FLIGHTS_COLUMNS, WEATHER_COLUMNS, Column

PARTITION_COLUMN = "partition_date"  # the day a row of flights, weather or daily_delays was loaded for


def _source_table(columns: Tuple[Column, ...]) -> Tuple[Tuple[str, str], ...]:
    return tuple((column.name, column.kind) for column in columns) + ((PARTITION_COLUMN, "date"),)


# table name -> ((column, logical type), ...); logical types: int, float, str, timestamp, date.
TABLES: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "flights": _source_table(FLIGHTS_COLUMNS),
    "weather": _source_table(WEATHER_COLUMNS),
    "daily_delays": (
        (PARTITION_COLUMN, "date"),
        ("origin", "str"),
        ("carrier", "str"),
        ("flights", "int"),
        ("cancelled", "int"),
        ("dep_delay_mean", "float"),
        ("dep_delay_p95", "float"),
        ("arr_delay_mean", "float"),
        ("arr_delay_p95", "float"),
        ("weather_hours", "int"),
        ("precip_total", "float"),
        ("visib_min", "float"),
        ("wind_gust_max", "float"),
    ),
    "monthly_report": (
        ("month_start", "date"),
        ("carrier", "str"),
        ("flights", "int"),
        ("cancelled", "int"),
        ("arrived", "int"),
        ("on_time", "int"),
        ("on_time_share", "float"),
        ("dep_delay_mean", "float"),
        ("arr_delay_mean", "float"),
    ),
}

# The column whose value names a table's partition.
PARTITION_KEYS: Dict[str, str] = {
    "flights": PARTITION_COLUMN,
    "weather": PARTITION_COLUMN,
    "daily_delays": PARTITION_COLUMN,
    "monthly_report": "month_start",
}

DAILY_TABLES = ("flights", "weather", "daily_delays")

# One row per loaded partition (scope "daily": a day; "monthly": a month's first day): the run that
# committed it, that run's fencing token and what it was built from, written in the same transaction
# as the data (base.py).
LOADS_TABLE = "partition_loads"
LOADS_COLUMNS: Tuple[Tuple[str, str], ...] = (
    ("scope", "str"),
    ("partition_key", "date"),
    ("run_id", "str"),
    ("fence_token", "int"),
    ("fence_scope", "str"),  # which instance's tokens these are (tokens of two instances do not compare)
    ("source", "str"),  # digest of the landing files' SHA-256s the partition was built from
    ("loaded_at", "timestamp"),
)

# Provenance: one row per source file of a loaded day (dataset flights or weather: its path, size and
# SHA-256; a missing weather file as a row with ``gap`` set and no hash), replaced with the day's
# partition_loads row in the same transaction.
FILES_TABLE = "partition_files"
FILES_COLUMNS: Tuple[Tuple[str, str], ...] = (
    ("partition_key", "date"),
    ("dataset", "str"),
    ("path", "str"),
    ("size", "int"),
    ("sha256", "str"),
    ("gap", "str"),
)


def column_names(table: str) -> Tuple[str, ...]:
    return tuple(name for name, _ in TABLES[table])


def create_statements(sql_types: Dict[str, str]) -> Tuple[str, ...]:
    """``CREATE TABLE IF NOT EXISTS`` for every table (the loads and files tables too), with a backend's names for the logical types."""
    return tuple(
        f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{name} {sql_types[kind]}' for name, kind in columns)})"
        for table, columns in (*TABLES.items(), (LOADS_TABLE, LOADS_COLUMNS), (FILES_TABLE, FILES_COLUMNS))
    )
