"""Schedule ticks evaluated at given times run the newest complete partition."""
from datetime import datetime

import pendulum
from dagster import build_schedule_context

from flights_etl.repository import flights_etl
from flights_etl.schedules import TIMEZONE, previous_day, previous_month

flights_daily_schedule = flights_etl.get_schedule_def("flights_daily_schedule")
flights_monthly_schedule = flights_etl.get_schedule_def("flights_monthly_schedule")


def _tick(schedule, *when):
    context = build_schedule_context(scheduled_execution_time=pendulum.datetime(*when, tz=TIMEZONE))
    return schedule.evaluate_tick(context)


def test_daily_tick_runs_the_day_before():
    result = _tick(flights_daily_schedule, 2013, 3, 2, 6)
    (request,) = result.run_requests
    assert request.run_config["resources"]["daily_partition"]["config"]["date"] == "2013-03-01"
    assert request.tags["dagster/partition"] == "2013-03-01"
    assert request.tags["dagster/partition_set"] == "flights_daily_partition_set"
    assert request.run_key == "2013-03-01"


def test_daily_tick_on_new_year_runs_the_last_day_of_the_year():
    (request,) = _tick(flights_daily_schedule, 2014, 1, 1, 6).run_requests
    assert request.run_config["resources"]["daily_partition"]["config"]["date"] == "2013-12-31"


def test_daily_tick_outside_the_data_is_skipped_with_a_reason():
    result = _tick(flights_daily_schedule, 2013, 1, 1, 6)
    assert not result.run_requests
    assert "2012-12-31" in result.skip_message


def test_monthly_tick_runs_the_month_before():
    (request,) = _tick(flights_monthly_schedule, 2013, 4, 1, 7).run_requests
    assert request.run_config["resources"]["monthly_partition"]["config"]["month"] == "2013-03"
    assert request.tags["dagster/partition_set"] == "flights_monthly_partition_set"


def test_monthly_tick_in_january_runs_last_december():
    (request,) = _tick(flights_monthly_schedule, 2014, 1, 1, 7).run_requests
    assert request.run_config["resources"]["monthly_partition"]["config"]["month"] == "2013-12"


def test_selectors_are_plain_functions():
    assert previous_day(datetime(2013, 3, 1)) == "2013-02-28"
    assert previous_month(datetime(2013, 1, 15)) == "2012-12"
