"""What run config (the Launchpad's, anyone's) cannot do: choose where runs read and write, read the
deployment's secret environment variables, or load one partition while tagged as another."""
import json
import secrets
from datetime import date

import pytest
from dagster import DagsterInvalidConfigError, DagsterInvalidSubsetError, execute_pipeline, validate_run_config

from flights_etl.partitions import flights_daily_partition_set, flights_monthly_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline
from tests.helpers import assert_same_snapshot, failure_message, read_table, run_daily, snapshot
from tests.raw_data import flights_on

SECRET_ENV = "FLIGHTS_TEST_SECRET_URL"

# resource -> config that would pick a place to read or write, or read a secret variable
ATTACKS = {
    "warehouse": {"location": {"env": SECRET_ENV}},
    "landing": {"dir": {"env": SECRET_ENV}},
    "io_manager": {"base_dir": {"env": SECRET_ENV}},
    "notifier": {"channel": {"env": SECRET_ENV}},
    "slack": {"token": {"env": SECRET_ENV}},
}
# Only prod has a configurable notifier (Slack); the test mode keeps outputs in memory (mem_io_manager).
REFUSED = [
    ("local", "warehouse"), ("local", "landing"), ("local", "io_manager"),
    ("test", "warehouse"), ("test", "landing"),
    ("prod", "warehouse"), ("prod", "landing"), ("prod", "io_manager"), ("prod", "notifier"), ("prod", "slack"),
]


def _daily_config(day: str) -> dict:
    return flights_daily_partition_set.run_config_for_partition(flights_daily_partition_set.get_partition(day))


@pytest.mark.parametrize("mode,resource", REFUSED)
def test_run_config_cannot_set_locations_or_read_secrets(mode, resource, monkeypatch):
    password = secrets.token_hex(12)
    monkeypatch.setenv(SECRET_ENV, f"redis://:{password}@127.0.0.1:6379/0")
    run_config = _daily_config("2013-01-15")
    run_config["resources"][resource] = {"config": ATTACKS[resource]}
    with pytest.raises(DagsterInvalidConfigError) as refused:
        validate_run_config(flights_daily_pipeline, run_config, mode=mode)
    message = str(refused.value)
    field = next(iter(ATTACKS[resource]))
    expected = "Invalid scalar" if field == "channel" else f'unexpected config entry "{field}"'
    assert expected in message and f"root:resources:{resource}:config" in message, message
    assert password not in message


def test_a_literal_warehouse_location_is_refused_too(resources_config, instance, warehouse_location, tmp_path):
    run_config = _daily_config("2013-01-15")
    run_config["resources"]["warehouse"] = {"config": {"location": str(tmp_path / "elsewhere.duckdb")}}
    with pytest.raises(DagsterInvalidConfigError, match='unexpected config entry "location"'):
        execute_pipeline(flights_daily_pipeline, run_config=run_config, mode="test", instance=instance)
    assert snapshot(warehouse_location) == {}
    assert not (tmp_path / "elsewhere.duckdb").exists()


@pytest.mark.duckdb_only
def test_a_run_tagged_as_another_day_is_refused_before_anything_loads(resources_config, instance, warehouse_location):
    assert run_daily("2013-01-21", resources_config, instance).success
    before = snapshot(warehouse_location)
    run_config = _daily_config("2013-01-20")
    run_config["resources"].update(resources_config)
    tags = flights_daily_partition_set.tags_for_partition(flights_daily_partition_set.get_partition("2013-01-21"))
    result = execute_pipeline(flights_daily_pipeline, run_config=run_config, mode="test", instance=instance,
                              tags=tags, raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert ("resources.daily_partition.config.date is 2013-01-20 but the run's dagster/partition tag is 2013-01-21"
            in message), message
    assert not [event for event in result.event_list if event.is_step_event]  # refused before any step started
    assert_same_snapshot(before, snapshot(warehouse_location))
    days = read_table(warehouse_location, "SELECT DISTINCT CAST(partition_date AS VARCHAR) AS d FROM flights")
    assert days.d.tolist() == ["2013-01-21"]
    loaded = read_table(warehouse_location, "SELECT count(*) AS n FROM flights")
    assert loaded.n[0] == len(flights_on(date(2013, 1, 21)))


@pytest.mark.duckdb_only
def test_a_month_tagged_as_another_month_is_refused(resources_config, instance, warehouse_location):
    run_config = flights_monthly_partition_set.run_config_for_partition(flights_monthly_partition_set.get_partition("2013-01"))
    run_config["resources"].update(resources_config)
    result = execute_pipeline(flights_monthly_pipeline, run_config=run_config, mode="test", instance=instance,
                              tags={"dagster/partition": "2013-02"}, raise_on_error=False)
    assert not result.success
    assert ("resources.monthly_partition.config.month is 2013-01 but the run's dagster/partition tag is 2013-02"
            in failure_message(result))
    assert snapshot(warehouse_location) == {}


def test_run_config_cannot_write_an_output_to_a_path_nor_read_an_input_from_one(instance, tmp_path, monkeypatch):
    # Dagster's str and Any types would take {json: {path}} / {pickle: {path}} for outputs and unconnected inputs.
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    target = tmp_path / "anywhere.json"
    monthly = flights_monthly_partition_set.run_config_for_partition(flights_monthly_partition_set.get_partition("2013-01"))
    for pipeline, solid, config in ((flights_daily_pipeline, "load_partition", _daily_config("2013-01-15")),
                                    (flights_daily_pipeline, "notify_complete", _daily_config("2013-01-15")),
                                    (flights_monthly_pipeline, "build_monthly_report", monthly)):
        run_config = {**config, "solids": {solid: {"outputs": [{"result": {"json": {"path": str(target)}}}]}}}
        with pytest.raises(DagsterInvalidConfigError, match=f'unexpected config entry "outputs" at path root:solids:{solid}'):
            validate_run_config(pipeline, run_config, mode="local")
    assert not target.exists()
    target.write_text(json.dumps("a credentials file the run can read"))
    with pytest.raises(DagsterInvalidSubsetError):  # notify_complete alone: its input would be read from config
        execute_pipeline(flights_daily_pipeline, run_config={"solids": {"notify_complete": {"inputs": {
            "summary": {"json": {"path": str(target)}}}}}}, mode="test", instance=instance, solid_selection=["notify_complete"])
    assert instance.get_runs() == []
