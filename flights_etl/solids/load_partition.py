"""Load the day's flights, weather and daily_delays into the warehouse in one transaction."""
from dagster import Output, solid

from flights_etl.solids.daily_delays import DayTables
from flights_etl.solids.partition_config import DATE_CONFIG, partition_date
from flights_etl.solids.reporting import partition_materialization
from flights_etl.warehouse import replace_partitions


@solid(
    config_schema=DATE_CONFIG,
    required_resource_keys={"warehouse"},
    description="Replace the day's rows of tables flights, weather and daily_delays in one transaction (idempotent).",
)
def load_partition(context, tables: DayTables) -> str:
    day = partition_date(context)
    with context.resources.warehouse.connect() as connection:
        inserted = replace_partitions(connection, day, tables._asdict())
    name = day.isoformat()
    gap = tables.weather.empty
    yield partition_materialization("flights", name, tables.flights)
    yield partition_materialization("weather", name, tables.weather, weather_gap=gap)
    yield partition_materialization("daily_delays", name, tables.daily_delays, weather_gap=gap)
    worst = tables.daily_delays.sort_values("dep_delay_mean", ascending=False).iloc[0]
    yield Output(
        f"{name}: {inserted['flights']} flights loaded; worst mean departure delay "
        f"{worst['carrier']} at {worst['origin']} ({worst['dep_delay_mean']:.1f} min)"
        + ("; no weather for this day" if gap else ""),
        metadata={table: rows for table, rows in inserted.items()},
    )
