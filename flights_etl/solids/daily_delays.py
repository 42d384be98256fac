"""Summarize the day's flights and weather into ``daily_delays`` rows, ready to load with them."""
from typing import NamedTuple

import pandas as pd
from dagster import ExpectationResult, Output, solid

from flights_etl.transforms.daily_delays import summarize_daily_delays


class DayTables(NamedTuple):
    """One day's rows for each warehouse table, loaded together in one transaction."""

    flights: pd.DataFrame
    weather: pd.DataFrame
    daily_delays: pd.DataFrame


@solid(description="Per origin and carrier: flights, cancellations, delay mean/p95, and the day's weather at the origin.")
def build_daily_delays(context, flights: pd.DataFrame, weather: pd.DataFrame) -> DayTables:
    delays = summarize_daily_delays(flights, weather)
    summarized = int(delays["flights"].sum())
    yield ExpectationResult(
        success=summarized == len(flights),
        label="daily_delays_cover_all_flights",
        description="daily_delays counts every flight of the day exactly once",
        metadata={"flights_in_summary": summarized, "flights_in_file": len(flights)},
    )
    yield Output(DayTables(flights, weather, delays), metadata={"daily_delays_rows": len(delays)})
