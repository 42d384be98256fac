"""The partition sets: names, run config that validates against the pipelines, tags."""
from datetime import date, datetime

import pytest
from dagster import validate_run_config

from flights_etl import partitions
from flights_etl.partitions import flights_daily_partition_set, flights_monthly_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline


def test_daily_partitions_are_every_day_of_2013():
    names = flights_daily_partition_set.get_partition_names()
    assert len(names) == 365
    assert names[0] == "2013-01-01" and names[-1] == "2013-12-31"
    assert "2013-02-29" not in names


def test_monthly_partitions_are_the_months_of_2013():
    assert flights_monthly_partition_set.get_partition_names() == [f"2013-{m:02d}" for m in range(1, 13)]


@pytest.mark.parametrize("mode", ["local", "test", "prod"])
def test_every_daily_partition_config_validates(mode, monkeypatch):
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", "/tmp/unused.duckdb")
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-not-used")
    for partition in flights_daily_partition_set.get_partitions():
        run_config = flights_daily_partition_set.run_config_for_partition(partition)
        validated = validate_run_config(flights_daily_pipeline, run_config, mode=mode)
        assert validated["resources"]["daily_partition"]["config"]["date"] == partition.name


@pytest.mark.parametrize("mode", ["local", "test", "prod"])
def test_every_monthly_partition_config_validates(mode, monkeypatch):
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-not-used")
    for partition in flights_monthly_partition_set.get_partitions():
        run_config = flights_monthly_partition_set.run_config_for_partition(partition)
        validated = validate_run_config(flights_monthly_pipeline, run_config, mode=mode)
        assert validated["resources"]["monthly_partition"]["config"]["month"] == partition.name


def test_partition_tags_name_the_set_and_the_partition():
    partition = flights_daily_partition_set.get_partition("2013-03-05")
    tags = flights_daily_partition_set.tags_for_partition(partition)
    assert tags["dagster/partition"] == "2013-03-05"
    assert tags["dagster/partition_set"] == "flights_daily_partition_set"
    assert tags["flights/month"] == "2013-03"


def test_live_data_reaches_yesterday_at_evaluation_time(monkeypatch):
    monkeypatch.setenv("FLIGHTS_LAST_DAY", "yesterday")
    names = flights_daily_partition_set.get_partition_names(datetime(2014, 2, 3, 12))
    assert names[-1] == "2014-02-02"
    months = flights_monthly_partition_set.get_partition_names(datetime(2014, 2, 3, 12))
    assert months[-1] == "2014-01"
    assert partitions.last_complete_day(datetime(2014, 2, 3)) == date(2014, 2, 2)


def test_a_fixed_last_day_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLIGHTS_LAST_DAY", "2013-06-15")
    assert flights_daily_partition_set.get_partition_names()[-1] == "2013-06-15"
    assert flights_monthly_partition_set.get_partition_names()[-1] == "2013-05"  # June is not whole yet
    monkeypatch.setenv("FLIGHTS_LAST_DAY", "June")
    with pytest.raises(partitions.InvalidLastDay, match="FLIGHTS_LAST_DAY='June': expected a day as YYYY-MM-DD, or 'yesterday'"):
        flights_daily_partition_set.get_partition_names()


def test_the_default_is_the_packaged_year(monkeypatch):
    monkeypatch.delenv("FLIGHTS_LAST_DAY", raising=False)
    assert flights_daily_partition_set.get_partition_names()[-1] == "2013-12-31"


@pytest.mark.parametrize("setting", ["2012-12-31", "1999-01-01"])
def test_a_last_day_before_the_data_is_an_error_not_an_empty_set(setting, monkeypatch):
    monkeypatch.setenv("FLIGHTS_LAST_DAY", setting)
    message = f"$FLIGHTS_LAST_DAY='{setting}' is before the data's first day 2013-01-01: no partition to run"
    for partition_set in (flights_daily_partition_set, flights_monthly_partition_set):
        with pytest.raises(partitions.InvalidLastDay) as raised:
            partition_set.get_partition_names()
        assert str(raised.value) == message


def test_live_data_on_the_first_day_has_one_partition_and_before_it_none_is_an_error(monkeypatch):
    monkeypatch.setenv("FLIGHTS_LAST_DAY", "yesterday")
    assert flights_daily_partition_set.get_partition_names(datetime(2013, 1, 2, 5)) == ["2013-01-01"]
    with pytest.raises(partitions.InvalidLastDay, match=r"^\$FLIGHTS_LAST_DAY='yesterday' is 2012-12-31, before "
                                                         r"the data's first day 2013-01-01: no partition to run$"):
        flights_daily_partition_set.get_partition_names(datetime(2013, 1, 1, 5))
