"""Load the day's flights, weather and daily_delays into the warehouse in one transaction."""
import pandas as pd
from dagster import Output, OutputDefinition, solid

from flights_etl.solids.reporting import partition_materialization
from flights_etl.solids.types import Summary


@solid(
    required_resource_keys={"warehouse", "daily_partition"},
    output_defs=[OutputDefinition(Summary)],
    description="Replace the day's rows of tables flights, weather and daily_delays in one transaction (idempotent).",
)
def load_partition(context, flights: pd.DataFrame, weather: pd.DataFrame, daily_delays: pd.DataFrame) -> str:
    day = context.resources.daily_partition.day
    inserted = context.resources.warehouse.replace_partition(
        day, {"flights": flights, "weather": weather, "daily_delays": daily_delays}
    )
    name = day.isoformat()
    gap = weather.empty
    yield partition_materialization("flights", name, flights)
    yield partition_materialization("weather", name, weather, weather_gap=gap)
    yield partition_materialization("daily_delays", name, daily_delays, weather_gap=gap)
    worst = daily_delays.sort_values("dep_delay_mean", ascending=False).iloc[0]
    yield Output(
        f"{name}: {inserted['flights']} flights loaded; worst mean departure delay "
        f"{worst['carrier']} at {worst['origin']} ({worst['dep_delay_mean']:.1f} min)"
        + ("; no weather for this day" if gap else ""),
        metadata={table: rows for table, rows in inserted.items()},
    )
