"""A third daily-partitioned pipeline, added by its own definitions only (``third_pipeline.py``),
runs on every path: `flights-etl backfill` on local worker processes, `flights-etl status`, and the
failure alert (and the worker fleet: ``tests/fleet/test_third_pipeline_on_fleet.py``)."""
import json
import os
from datetime import date

from dagster import DagsterEventType, DagsterInstance, build_sensor_context

from flights_etl.dagster_private import RunsFilter
from flights_etl.sensors.failure_alerts import ALERT_PREFIX, flights_failure_alert_sensor
from tests.backfill.cli_helpers import PROJECT_ROOT, flights_etl, instance_env
from tests.extension.third_pipeline import OUT_DIR_ENV
from tests.raw_data import flights_on

SET = "carrier_counts_partition_set"
NOT_LANDED = "2013-03-01"  # the landed files end on 2013-02-28


def workspace_file(tmp_path) -> str:
    path = tmp_path / "workspace.yaml"
    path.write_text(
        "load_from:\n  - python_module:\n      module_name: tests.extension.third_pipeline\n"
        "      attribute: flights_etl_extended\n      location_name: extended\n"
        f"      working_directory: {PROJECT_ROOT}\n"
    )
    return str(path)


def counts_env(env, tmp_path):
    out = tmp_path / "counts"
    out.mkdir()
    # the test's own module must be importable by the command line and every process it starts
    return {**env, OUT_DIR_ENV: str(out), "PYTHONPATH": PROJECT_ROOT}


def assert_counts_right(env, days):
    for day in days:
        expected = flights_on(date.fromisoformat(day)).groupby("carrier").size()
        with open(os.path.join(env[OUT_DIR_ENV], f"{day}.json")) as handle:
            assert json.load(handle) == {str(carrier): int(count) for carrier, count in expected.items()}, day


def runs_of_set(instance):
    return instance.get_runs(RunsFilter(tags={"dagster/partition_set": SET}))


def _alerts(instance, run_id):
    return [record.message for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if record.message.startswith(ALERT_PREFIX)]


def _tick(instance, cursor):
    context = build_sensor_context(instance=instance, cursor=cursor, repository_name="flights_etl_extended")
    flights_failure_alert_sensor.evaluate_tick(context)
    return context.cursor


def test_a_third_pipeline_backfills_locally_shows_in_status_and_alerts_once(tmp_path, landing_dir, warehouse_path):
    env = counts_env(instance_env(tmp_path, landing_dir, warehouse_path), tmp_path)
    workspace = workspace_file(tmp_path)
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        cursor = _tick(instance, None)  # the first tick only places the cursor

    days = ["2013-02-25", "2013-02-26", "2013-02-27", "2013-02-28"]
    done = flights_etl(env, "backfill", "--workspace", workspace, "--partition-set", SET,
                       "--from", days[0], "--to", NOT_LANDED, "--max-concurrent", "2")
    assert done.returncode == 1, done.stdout + done.stderr  # one partition failed
    assert f"{SET} (mode local): 5 of 5 requested partitions selected" in done.stdout
    assert_counts_right(env, days)
    assert not os.path.exists(os.path.join(env[OUT_DIR_ENV], f"{NOT_LANDED}.json"))

    shown = flights_etl(env, "status", "--workspace", workspace, "--partition-set", SET, "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    by_day = {entry["partition"]: entry["status"] for entry in document["partitions"]}
    assert {day: by_day[day] for day in days + [NOT_LANDED]} == {**{day: "SUCCESS" for day in days}, NOT_LANDED: "FAILURE"}
    assert document["counts"]["SUCCESS"] == 4 and document["counts"]["FAILURE"] == 1

    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        cursor = _tick(instance, cursor)
        _tick(instance, cursor)  # a later tick: still one alert
        runs = {run.tags["dagster/partition"]: run for run in runs_of_set(instance)}
        assert sorted(runs) == days + [NOT_LANDED]
        failed = runs[NOT_LANDED]
        [alert] = _alerts(instance, failed.run_id)
        assert alert.startswith(f"{ALERT_PREFIX}carrier_counts_pipeline {NOT_LANDED} failed at step count_carriers: ")
        assert all(_alerts(instance, runs[day].run_id) == [] for day in days)
