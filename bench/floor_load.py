"""The floor for the backfill benchmark: the same days validated and loaded into DuckDB by a
plain loop, with no orchestration (the same pure functions the solids call)."""
import sys
from datetime import date

from flights_etl.landing import days_between
from flights_etl.landing_paths import landing_file
from flights_etl.schema import FLIGHTS_COLUMNS, WEATHER_COLUMNS
from flights_etl.transforms.daily_delays import summarize_daily_delays
from flights_etl.validation import read_landing_file, read_optional_landing_file
from flights_etl.warehouse import connect, replace_partitions


def load_days(landing_dir: str, warehouse: str, start: date, end: date) -> None:
    for day in days_between(start, end):
        flights = read_landing_file(landing_file(landing_dir, "flights", day), FLIGHTS_COLUMNS, day)
        weather, _gap = read_optional_landing_file(landing_file(landing_dir, "weather", day), WEATHER_COLUMNS, day)
        delays = summarize_daily_delays(flights, weather)
        with connect(warehouse) as connection:  # one transaction per day, as load_partition does
            replace_partitions(connection, day, {"flights": flights, "weather": weather, "daily_delays": delays})


if __name__ == "__main__":
    landing_dir, warehouse, first, last = sys.argv[1:5]
    load_days(landing_dir, warehouse, date.fromisoformat(first), date.fromisoformat(last))
