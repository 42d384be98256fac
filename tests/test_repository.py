"""The repository pairs each pipeline with exactly one partition set, and the schedules use those sets.

Dagit 0.15 shows one partition set per pipeline on its Partitions tab (the alphabetically first),
so a second set for a pipeline would hide one of them.
"""
from collections import Counter

import pytest

from flights_etl.repository import flights_etl, flights_etl_prod

REPOSITORIES = pytest.mark.parametrize("repository", [flights_etl, flights_etl_prod], ids=lambda r: r.name)


@REPOSITORIES
def test_exactly_one_partition_set_per_pipeline(repository):
    flights_etl = repository
    sets_per_pipeline = Counter(partition_set.pipeline_name for partition_set in flights_etl.partition_set_defs)
    assert sets_per_pipeline == {"flights_daily_pipeline": 1, "flights_monthly_pipeline": 1}
    assert {p.name: p.pipeline_name for p in flights_etl.partition_set_defs} == {
        "flights_daily_partition_set": "flights_daily_pipeline",
        "flights_monthly_partition_set": "flights_monthly_pipeline",
    }


@REPOSITORIES
def test_schedules_reference_the_partition_sets(repository):
    flights_etl = repository
    schedules = {schedule.name: schedule for schedule in flights_etl.schedule_defs}
    expected = {
        "flights_daily_schedule": ("flights_daily_partition_set", "flights_daily_pipeline"),
        "flights_monthly_schedule": ("flights_monthly_partition_set", "flights_monthly_pipeline"),
    }
    assert schedules.keys() == expected.keys()
    for name, (set_name, pipeline) in expected.items():
        partition_set = schedules[name].get_partition_set()
        assert partition_set is flights_etl.get_partition_set_def(set_name)
        assert schedules[name].pipeline_name == pipeline == partition_set.pipeline_name


@pytest.mark.parametrize("repository, mode", [(flights_etl, "local"), (flights_etl_prod, "prod")], ids=["local", "prod"])
def test_the_repository_sets_the_mode_of_everything_it_launches(repository, mode):
    assert {partition_set.mode for partition_set in repository.partition_set_defs} == {mode}
    assert {schedule.mode for schedule in repository.schedule_defs} == {mode}
    sensor = repository.get_sensor_def("flights_monthly_report_sensor")
    assert [target.mode for target in sensor.targets] == [mode]
    assert {s.name for s in repository.sensor_defs} == {"flights_monthly_report_sensor", "flights_failure_alert_sensor",
                                                        "flights_landing_sensor", "flights_run_watchdog_sensor"}
    assert [target.mode for target in repository.get_sensor_def("flights_landing_sensor").targets] == [mode]
