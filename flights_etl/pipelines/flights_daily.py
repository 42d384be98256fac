"""``flights_daily_pipeline``: one day's landing files to the warehouse and its daily summary."""
from dagster import pipeline

from flights_etl.modes import MODES
from flights_etl.solids.daily_delays import build_daily_delays
from flights_etl.solids.load_partition import load_partition
from flights_etl.solids.notify import notify_complete
from flights_etl.solids.read_landing import read_flights, read_weather


@pipeline(
    mode_defs=MODES,
    description="Validate one day's flights and weather, summarize them into daily_delays, "
    "and load all three tables into the warehouse in one transaction.",
    tags={"pipeline_family": "flights"},
)
def flights_daily_pipeline():
    flights = read_flights()
    weather = read_weather()
    notify_complete(load_partition(flights, weather, build_daily_delays(flights, weather)).result)
