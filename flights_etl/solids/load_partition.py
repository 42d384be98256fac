"""Load the day's flights, weather and daily_delays into the warehouse in one transaction."""
import hashlib
import json
from typing import Optional

import pandas as pd
from dagster import Output, OutputDefinition, solid

from flights_etl.resources.step_outputs import SOURCE_ATTR
from flights_etl.solids.reporting import partition_materialization
from flights_etl.solids.types import Summary


def source_digest(flights: pd.DataFrame, weather: pd.DataFrame) -> Optional[str]:
    """One digest of the landing files' SHA-256s (a weather gap as such) the frames were read from;
    None when a frame does not carry its source."""
    sources = [frame.attrs.get(SOURCE_ATTR) for frame in (flights, weather)]
    if any(source is None for source in sources):
        return None
    facts = [[source.get("sha256"), source.get("gap")] for source in sources]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


@solid(
    required_resource_keys={"warehouse", "daily_partition"},
    output_defs=[OutputDefinition(Summary)],
    description="Replace the day's rows of tables flights, weather and daily_delays in one transaction (idempotent).",
)
def load_partition(context, flights: pd.DataFrame, weather: pd.DataFrame, daily_delays: pd.DataFrame) -> str:
    day = context.resources.daily_partition.day
    inserted = context.resources.warehouse.replace_partition(
        day, {"flights": flights, "weather": weather, "daily_delays": daily_delays},
        source=source_digest(flights, weather),
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
