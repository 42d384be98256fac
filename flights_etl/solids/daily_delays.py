"""Summarize the day's flights and weather into its ``daily_delays`` rows."""
from dagster import ExpectationResult, Output, OutputDefinition, solid

from flights_etl.solids.types import DataFrame


@solid(
    output_defs=[OutputDefinition(DataFrame)],
    description="Per origin and carrier: flights, cancellations, delay mean/p95, and the day's weather at the origin.",
)
def build_daily_delays(_context, flights: DataFrame, weather: DataFrame):
    from flights_etl.transforms.daily_delays import summarize_daily_delays  # pandas: when the step runs

    delays = summarize_daily_delays(flights, weather)
    summarized = int(delays["flights"].sum())
    yield ExpectationResult(
        success=summarized == len(flights),
        label="daily_delays_cover_all_flights",
        description="daily_delays counts every flight of the day exactly once",
        metadata={"flights_in_summary": summarized, "flights_in_file": len(flights)},
    )
    yield Output(delays, metadata={"rows": len(delays)})
