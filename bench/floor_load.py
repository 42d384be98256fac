"""The floor for the backfill benchmark: the same days validated and loaded by a plain loop,
with no orchestration (the same pure functions and warehouse interface the solids use)."""
import sys

from flights_etl.contract.paths import landing_file
from flights_etl.contract.schema import FLIGHTS, WEATHER
from flights_etl.contract.validation import read_landing_file, read_optional_landing_file
from flights_etl.dates import days_between, parse_day
from flights_etl.transforms.daily_delays import summarize_daily_delays
from flights_etl.warehouse import open_warehouse


def load_days(landing_dir: str, location: str, start, end) -> None:
    warehouse = open_warehouse(location)
    for day in days_between(start, end):
        flights = read_landing_file(landing_file(landing_dir, "flights", day), FLIGHTS, day, landing_dir=landing_dir)
        weather, _gap = read_optional_landing_file(landing_file(landing_dir, "weather", day), WEATHER, day, landing_dir)
        delays = summarize_daily_delays(flights, weather)
        warehouse.replace_partition(day, {"flights": flights, "weather": weather, "daily_delays": delays})


if __name__ == "__main__":
    landing_dir, location, first, last = sys.argv[1:5]
    load_days(landing_dir, location, parse_day(first), parse_day(last))
