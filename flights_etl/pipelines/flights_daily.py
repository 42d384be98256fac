"""``flights_daily_pipeline``: one day's landing files to the warehouse and its daily summary."""
from dagster import pipeline

from flights_etl.modes import MODES
from flights_etl.solids.daily_delays import build_daily_delays
from flights_etl.solids.load_partition import load_partition
from flights_etl.solids.notify import notify_complete
from flights_etl.solids.read_landing import read_flights, read_weather


@pipeline(
    mode_defs=MODES,
    description="Validate and load one day's flights and weather into DuckDB, then build daily_delays.",
    tags={"pipeline_family": "flights"},
)
def flights_daily_pipeline():
    flights, weather = read_flights(), read_weather()
    notify_complete(build_daily_delays(load_partition(flights, weather)))
