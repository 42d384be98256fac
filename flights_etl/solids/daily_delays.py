"""Build the day's ``daily_delays`` rows from the loaded flights and weather."""
from dagster import ExpectationResult, Output, solid

from flights_etl.solids.load_partition import LoadedDay
from flights_etl.solids.partition_config import DATE_CONFIG, partition_date
from flights_etl.solids.reporting import partition_materialization
from flights_etl.transforms.daily_delays import summarize_daily_delays
from flights_etl.warehouse import replace_partitions


@solid(
    config_schema=DATE_CONFIG,
    required_resource_keys={"warehouse"},
    description="Per origin and carrier: flights, cancellations, delay mean/p95, and the day's weather at the origin.",
)
def build_daily_delays(context, loaded: LoadedDay) -> str:
    day = partition_date(context)
    flights, weather = loaded.flights, loaded.weather
    loaded_flights = len(flights)
    delays = summarize_daily_delays(flights, weather)
    with context.resources.warehouse.connect() as connection:
        replace_partitions(connection, day, {"daily_delays": delays})
    yield ExpectationResult(
        success=int(delays["flights"].sum()) == loaded_flights,
        label="daily_delays_cover_all_flights",
        description="daily_delays counts every loaded flight exactly once",
        metadata={"flights_in_summary": int(delays["flights"].sum()), "flights_loaded": loaded_flights},
    )
    yield partition_materialization("daily_delays", day.isoformat(), delays, weather_gap=weather.empty)
    worst = delays.sort_values("dep_delay_mean", ascending=False).iloc[0]
    yield Output(
        f"{day}: {loaded_flights} flights loaded; worst mean departure delay "
        f"{worst['carrier']} at {worst['origin']} ({worst['dep_delay_mean']:.1f} min)"
        + ("; no weather for this day" if weather.empty else "")
    )
