"""Load the day's flights and weather into the warehouse in one transaction."""
from typing import NamedTuple

import pandas as pd
from dagster import Output, solid

from flights_etl.solids.partition_config import DATE_CONFIG, partition_date
from flights_etl.solids.reporting import partition_materialization
from flights_etl.warehouse import replace_partitions


class LoadedDay(NamedTuple):
    """What a day's load put in the warehouse; the daily summary is built from exactly this."""

    flights: pd.DataFrame
    weather: pd.DataFrame


@solid(
    config_schema=DATE_CONFIG,
    required_resource_keys={"warehouse"},
    description="Replace the day's rows of tables flights and weather in one transaction (idempotent).",
)
def load_partition(context, flights: pd.DataFrame, weather: pd.DataFrame) -> LoadedDay:
    day = partition_date(context)
    with context.resources.warehouse.connect() as connection:
        inserted = replace_partitions(connection, day, {"flights": flights, "weather": weather})
    name = day.isoformat()
    yield partition_materialization("flights", name, flights)
    yield partition_materialization("weather", name, weather, weather_gap=weather.empty)
    yield Output(
        LoadedDay(flights, weather),
        metadata={"flights_rows": inserted["flights"], "weather_rows": inserted["weather"]},
    )
