"""flights_daily_pipeline executed with partition config, checked against the raw packaged data."""
import logging
from datetime import date

import pandas as pd
import pytest

from tests.helpers import assert_same_snapshot, read_table, run_daily, snapshot
from tests.raw_data import expected_daily_delays, flights_on, weather_on

DAYS = ["2013-01-01", "2013-01-15", "2013-02-28", "2013-03-10", "2013-07-04", "2013-11-03"]  # two DST days


@pytest.fixture
def loaded(resources_config, instance, warehouse_location):
    for day in DAYS:
        result = run_daily(day, resources_config, instance)
        assert result.success, day
    return warehouse_location


def test_flights_rows_match_the_raw_data(loaded):
    for day in DAYS:
        raw = flights_on(date.fromisoformat(day))
        got = read_table(
            loaded,
            "SELECT count(*) AS n, sum(dep_delay) AS dep, sum(arr_delay) AS arr, count(tailnum) AS tails, "
            "count(dep_time) AS departed, sum(distance) AS distance FROM flights WHERE partition_date = ?",
            [day],
        ).iloc[0]
        assert got.n == len(raw)
        assert got.dep == pytest.approx(raw.dep_delay.sum())
        assert got.arr == pytest.approx(raw.arr_delay.sum())
        assert got.tails == raw.tailnum.notna().sum()
        assert got.departed == raw.dep_time.notna().sum()
        assert got.distance == raw.distance.sum()


def test_weather_rows_match_the_raw_data(loaded):
    for day in DAYS:
        raw = weather_on(date.fromisoformat(day))
        got = read_table(
            loaded, "SELECT count(*) AS n, sum(precip) AS precip FROM weather WHERE partition_date = ?", [day]
        ).iloc[0]
        assert got.n == len(raw)
        assert got.precip == pytest.approx(raw.precip.sum())


def test_daily_delays_match_an_independent_sql_aggregate(loaded):
    for day in DAYS:
        expected = expected_daily_delays(date.fromisoformat(day))
        got = read_table(
            loaded,
            f"SELECT {', '.join(expected.columns)} FROM daily_delays WHERE partition_date = ? ORDER BY origin, carrier",
            [day],
        )
        pd.testing.assert_frame_equal(
            got[expected.columns].reset_index(drop=True),
            expected.reset_index(drop=True),
            check_dtype=False,
            rtol=1e-9,
        )


def test_rerunning_a_partition_leaves_identical_tables(loaded, resources_config, instance):
    before = snapshot(loaded)
    assert run_daily("2013-01-15", resources_config, instance).success
    assert_same_snapshot(before, snapshot(loaded))


def test_each_load_is_materialized_with_its_partition(resources_config, instance):
    result = run_daily("2013-01-02", resources_config, instance)
    materializations = [
        event.event_specific_data.materialization
        for event in result.event_list
        if event.event_type_value == "ASSET_MATERIALIZATION"
    ]
    by_table = {m.asset_key.path[-1]: m for m in materializations}
    assert set(by_table) == {"flights", "weather", "daily_delays"}
    assert all(m.partition == "2013-01-02" for m in materializations)
    rows = {entry.label: entry.entry_data.value for entry in by_table["flights"].metadata_entries}["rows"]
    assert rows == len(flights_on(date(2013, 1, 2)))


def test_a_day_without_weather_loads_its_flights_and_shows_the_gap(resources_config, instance, warehouse_location):
    result = run_daily("2013-12-31", resources_config, instance)
    assert result.success
    expectations = [
        event.event_specific_data.expectation_result
        for event in result.event_list
        if event.event_type_value == "STEP_EXPECTATION_RESULT"
    ]
    gap = [e for e in expectations if e.label == "weather_file_present"]
    assert len(gap) == 1 and gap[0].success is False
    warnings = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if record.level == logging.WARNING and "Weather gap" in record.user_message
    ]
    assert len(warnings) == 1 and "weather/2013-12-31.csv is missing" in warnings[0]
    raw = flights_on(date(2013, 12, 31))
    delays = read_table(warehouse_location, "SELECT * FROM daily_delays WHERE partition_date = '2013-12-31'")
    assert delays.flights.sum() == len(raw)
    assert delays.precip_total.isna().all() and delays.visib_min.isna().all()
    assert (delays.weather_hours == 0).all()


def test_an_empty_weather_file_is_a_gap_not_a_failure(resources_config, instance, landing_dir, warehouse_location):
    open(f"{landing_dir}/weather/2013-01-03.csv", "w").close()
    assert run_daily("2013-01-03", resources_config, instance).success
    assert read_table(warehouse_location, "SELECT count(*) AS n FROM weather").n[0] == 0
    assert read_table(warehouse_location, "SELECT count(*) AS n FROM flights").n[0] == len(flights_on(date(2013, 1, 3)))


@pytest.mark.duckdb_only
def test_completion_message_goes_through_the_notifier(resources_config, instance):
    result = run_daily("2013-01-04", resources_config, instance)
    messages = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if record.user_message.startswith("notification:")
    ]
    assert len(messages) == 1
    assert f"{len(flights_on(date(2013, 1, 4)))} flights loaded" in messages[0]
