"""The warehouse interface: partition writes in one transaction, readers that never create anything."""
import os
from datetime import date

import pandas as pd
import pytest

from flights_etl.contract.schema import FLIGHTS, WEATHER
from flights_etl.contract.validation import read_landing_file, read_optional_landing_file
from flights_etl.transforms.daily_delays import summarize_daily_delays
from flights_etl.warehouse import RowsOfAnotherDay, WarehouseError, open_warehouse
from flights_etl.warehouse.summary import range_summary
from tests.helpers import assert_same_snapshot, snapshot
from tests.raw_data import flights_on, raw_flights

JANUARY = [date(2013, 1, day) for day in range(1, 32)]


def day_tables(landing_dir: str, day: date) -> dict:
    flights = read_landing_file(os.path.join(landing_dir, "flights", f"{day}.csv"), FLIGHTS, day)
    weather, _gap = read_optional_landing_file(os.path.join(landing_dir, "weather", f"{day}.csv"), WEATHER, day)
    return {"flights": flights, "weather": weather, "daily_delays": summarize_daily_delays(flights, weather)}


@pytest.fixture(scope="module")
def january(landed_master, tmp_path_factory):
    """A warehouse holding January, loaded through the interface."""
    location = str(tmp_path_factory.mktemp("january") / "warehouse.duckdb")
    warehouse = open_warehouse(location)
    for day in JANUARY:
        warehouse.replace_partition(day, day_tables(landed_master, day))
    return warehouse


def test_readers_on_a_warehouse_nobody_wrote_create_nothing(tmp_path):
    location = str(tmp_path / "never-written.duckdb")
    warehouse = open_warehouse(location)
    assert warehouse.loaded_days(date(2013, 1, 1), date(2013, 1, 31)) == []
    assert warehouse.rows_per_day(date(2013, 1, 1), date(2013, 1, 31)).empty
    assert warehouse.monthly_report(date(2013, 1, 1)).empty
    assert "no flights loaded" in range_summary(warehouse)
    assert not os.path.exists(location)


def test_loaded_days_and_rows_per_day(january):
    assert january.loaded_days(date(2013, 1, 5), date(2013, 1, 7)) == [date(2013, 1, 5), date(2013, 1, 6), date(2013, 1, 7)]
    per_day = january.rows_per_day(date(2013, 1, 1), date(2013, 1, 31))
    assert per_day["flights"].tolist() == [len(flights_on(day)) for day in JANUARY]


def test_most_delayed_carriers_come_from_the_flights_themselves(january):
    """Mean departure delay over the flights that departed, as from the raw CSV (cancelled ones excluded)."""
    raw = raw_flights()
    raw = raw[raw.month == 1]
    expected = raw.groupby("carrier")["dep_delay"].mean()
    got = january.carrier_departure_delays(date(2013, 1, 1), date(2013, 1, 31)).set_index("carrier")
    pd.testing.assert_series_equal(got["dep_delay_mean"], expected, check_names=False, rtol=1e-12)
    assert (got["flights"] == raw.groupby("carrier").size()).all()
    text = range_summary(january, date(2013, 1, 1), date(2013, 1, 31), top=2)
    assert f"flights 2013-01-01 .. 2013-01-31: {len(raw)} rows over 31 days" in text
    counts = raw.groupby("carrier").size()
    top = expected[counts >= 100].sort_values(ascending=False)  # the summary lists carriers with >= 100 flights
    assert f"  {top.index[0]}: {top.iloc[0]:6.1f} min" in text and f"  {top.index[1]}: {top.iloc[1]:6.1f} min" in text
    assert (top.index[0], round(top.iloc[0], 1), top.index[1], round(top.iloc[1], 1)) == ("EV", 24.2, "9E", 16.9)


def test_rows_of_another_day_are_refused_and_nothing_is_written(january, landed_master):
    before = snapshot(january.location)
    with pytest.raises(RowsOfAnotherDay, match="refusing to load 943 rows dated 2013-01-02 into partition 2013-01-03"):
        january.replace_partition(date(2013, 1, 3), day_tables(landed_master, date(2013, 1, 2)))
    assert_same_snapshot(before, snapshot(january.location))


def test_a_file_that_is_not_a_warehouse_is_a_clear_error(tmp_path):
    location = tmp_path / "corrupt.duckdb"
    location.write_bytes(b"this is not a database" * 1000)
    warehouse = open_warehouse(str(location))
    with pytest.raises(WarehouseError, match=f"cannot open the DuckDB warehouse {location}"):
        warehouse.loaded_days(date(2013, 1, 1), date(2013, 1, 2))
