"""The warehouse interface: partition writes in one transaction, readers that never create anything."""
import os
from collections import Counter
from datetime import date, datetime

import pandas as pd
import pytest

from flights_etl.contract.schema import FLIGHTS, WEATHER
from flights_etl.contract.validation import read_landing_file, read_optional_landing_file
from flights_etl.transforms.daily_delays import summarize_daily_delays
from flights_etl.warehouse import RowsOfAnotherDay, WarehouseError, open_warehouse
from flights_etl.warehouse.summary import range_summary
from tests.conftest import BACKENDS, new_postgres_database
from tests.helpers import assert_same_snapshot, read_table, snapshot
from tests.raw_data import flights_on, raw_flights

JANUARY = [date(2013, 1, day) for day in range(1, 32)]


def day_tables(landing_dir: str, day: date) -> dict:
    flights = read_landing_file(os.path.join(landing_dir, "flights", f"{day}.csv"), FLIGHTS, day)
    weather, _gap = read_optional_landing_file(os.path.join(landing_dir, "weather", f"{day}.csv"), WEATHER, day)
    return {"flights": flights, "weather": weather, "daily_delays": summarize_daily_delays(flights, weather)}


@pytest.fixture(scope="module", params=BACKENDS)
def january(request, landed_master, tmp_path_factory):
    """A warehouse holding January, loaded through the interface, on each backend."""
    if request.param == "duckdb":
        location = str(tmp_path_factory.mktemp("january") / "warehouse.duckdb")
    else:
        location = new_postgres_database(request.getfixturevalue("postgres_server"))
    warehouse = open_warehouse(location)
    for day in JANUARY:
        warehouse.replace_partition(day, day_tables(landed_master, day))
    return warehouse


def test_readers_on_a_warehouse_nobody_wrote_create_nothing(warehouse_location):
    warehouse = open_warehouse(warehouse_location)
    assert warehouse.loaded_days(date(2013, 1, 1), date(2013, 1, 31)) == []
    assert warehouse.rows_per_day(date(2013, 1, 1), date(2013, 1, 31)).empty
    assert warehouse.monthly_report(date(2013, 1, 1)).empty
    assert "no flights loaded" in range_summary(warehouse)
    assert snapshot(warehouse_location) == {}  # no file, no table


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
    location = january.path if hasattr(january, "path") else january._url
    before = snapshot(location)
    with pytest.raises(RowsOfAnotherDay, match="refusing to load 943 rows dated 2013-01-02 into partition 2013-01-03"):
        january.replace_partition(date(2013, 1, 3), day_tables(landed_master, date(2013, 1, 2)))
    assert_same_snapshot(before, snapshot(location))


def test_a_file_that_is_not_a_warehouse_is_a_clear_error(tmp_path):
    location = tmp_path / "corrupt.duckdb"
    location.write_bytes(b"this is not a database" * 1000)
    warehouse = open_warehouse(str(location))
    with pytest.raises(WarehouseError, match=f"cannot open the DuckDB warehouse {location}"):
        warehouse.loaded_days(date(2013, 1, 1), date(2013, 1, 2))


def test_both_backends_store_the_same_values_to_the_last_digit(landed_master, tmp_path, postgres_server):
    """The same days written to DuckDB and to PostgreSQL read back identical, value for value."""
    from flights_etl.transforms.monthly_report import REPORT_INPUT_COLUMNS, summarize_month

    locations = [str(tmp_path / "w.duckdb"), new_postgres_database(postgres_server)]
    days = [date(2013, 1, 1), date(2013, 3, 10), date(2013, 11, 3), date(2013, 12, 31)]  # DST days, the weatherless day
    for location in locations:
        warehouse = open_warehouse(location)
        for day in days:
            warehouse.replace_partition(day, day_tables(landed_master, day))
        month = date(2013, 3, 1)
        warehouse.replace_month(month, summarize_month(warehouse.month_flights(month, REPORT_INPUT_COLUMNS)))
    for table in ("flights", "weather", "daily_delays", "monthly_report"):
        duck, pg = (read_table(location, f"SELECT * FROM {table}") for location in locations)
        assert list(duck.columns) == list(pg.columns), table
        assert len(duck) == len(pg) > 0, table
        rows = [Counter(tuple(_plain(value) for value in row) for row in frame.itertuples(index=False)) for frame in (duck, pg)]
        assert rows[0] == rows[1], table


def _plain(value):
    """A stored value as plain Python (NULL as None, a DATE as midnight), so two drivers' results compare exactly."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if type(value) is date:
        return datetime.combine(value, datetime.min.time())
    if hasattr(value, "item"):
        return value.item()
    return value


def test_bad_postgres_urls_and_servers_are_clear_errors_without_the_password(postgres_server):
    secret = postgres_server.password
    cases = {
        "postgresql://flights:pw@127.0.0.1:notaport/db": "is malformed",
        "postgresql://flights:pw@127.0.0.1:5432": "is malformed: expected postgresql://user[:password]@host[:port]/database",
        postgresql_url(postgres_server, database="no_such_database"): 'database "no_such_database" does not exist',
        postgresql_url(postgres_server, password="wrong-" + secret): "password authentication failed",
        postgresql_url(postgres_server, port=_closed_port()): "Connection refused",
    }
    for url, phrase in cases.items():
        with pytest.raises(WarehouseError) as raised:
            open_warehouse(url).loaded_days(date(2013, 1, 1), date(2013, 1, 2))
        message = str(raised.value)
        assert phrase in message, message
        assert secret not in message and "pw@" not in message
        assert "\n" not in message.strip()


def postgresql_url(server, database="postgres", password=None, port=None):
    return f"postgresql://{server.user}:{password or server.password}@127.0.0.1:{port or server.port}/{database}"


def _closed_port():
    from tests.servers import free_port

    return free_port()


def _replace_at_once(location, landing_dir, day, barrier):
    tables = day_tables(landing_dir, day)
    warehouse = open_warehouse(location)
    barrier.wait()
    warehouse.replace_partition(day, tables)
    return "ok"


@pytest.mark.slow
def test_simultaneous_writers_of_one_day_never_duplicate_it(warehouse_location, landed_master):
    """Six processes replace the same day at the same instant: the day ends up loaded exactly once
    (DuckDB: they take turns on the file lock; PostgreSQL: the partition's advisory lock)."""
    import multiprocessing

    day = date(2013, 1, 9)
    open_warehouse(warehouse_location).replace_partition(day, day_tables(landed_master, day))  # tables and rows exist
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(6)
        pool = context.Pool(6)
        try:
            results = pool.starmap(_replace_at_once, [(warehouse_location, landed_master, day, barrier)] * 6)
        finally:
            pool.close()  # workers leave on their own once the work is done
            pool.join()
    assert results == ["ok"] * 6
    counts = read_table(warehouse_location, "SELECT count(*) AS n FROM flights WHERE partition_date = ?", [day.isoformat()])
    assert counts.n[0] == len(flights_on(day))
    delays = read_table(warehouse_location, "SELECT sum(flights) AS n FROM daily_delays WHERE partition_date = ?", [day.isoformat()])
    assert delays.n[0] == len(flights_on(day))
