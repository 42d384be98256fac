"""Load the day's flights and weather into the warehouse in one transaction."""
import pandas as pd
from dagster import Output, solid

from flights_etl.solids.partition_config import DATE_CONFIG, partition_date
from flights_etl.solids.reporting import partition_materialization
from flights_etl.warehouse import replace_partitions


@solid(
    config_schema=DATE_CONFIG,
    required_resource_keys={"warehouse"},
    description="Replace the day's rows of tables flights and weather in one transaction (idempotent).",
)
def load_partition(context, flights: pd.DataFrame, weather: pd.DataFrame) -> int:
    day = partition_date(context)
    with context.resources.warehouse.connect() as connection:
        inserted = replace_partitions(connection, day, {"flights": flights, "weather": weather})
    name = day.isoformat()
    yield partition_materialization("flights", name, flights)
    yield partition_materialization("weather", name, weather, weather_gap=weather.empty)
    context.log.info(f"Loaded {inserted['flights']} flights and {inserted['weather']} weather rows for {name}")
    yield Output(inserted["flights"], metadata={"flights_rows": inserted["flights"], "weather_rows": inserted["weather"]})
