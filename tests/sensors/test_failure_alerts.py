"""The failure-alert sensor, evaluated by Dagster's own run-failure machinery on a real temp instance.

A launch that fails (the daemon could not reach the code server) is recorded by Dagster as an
ERROR engine event with the cause, then two run failures (``launch_run`` and ``submit_run`` each
report one), neither with an error. One alert, carrying the cause; the same lines on every logger setup.
"""
import os
import subprocess
import sys

from dagster import DagsterEventType, DagsterInstance, build_sensor_context

from flights_etl import dagster_private as private
from flights_etl import workspace
from flights_etl.runs import creation
from flights_etl.sensors.failure_alerts import ALERT_PREFIX, flights_failure_alert_sensor
from tests.backfill.cli_helpers import PROJECT_ROOT, instance_env

WORKSPACE = os.path.join(PROJECT_ROOT, "workspace.yaml")
CAUSE = "RuntimeError: Could not reach user code server"


def _run(instance, partition="2013-02-01"):
    repository = workspace.repository_from_workspace(WORKSPACE)
    [partition_set] = [s for s in repository.partition_set_defs if s.name == "flights_daily_partition_set"]
    origin = workspace.pipeline_origin(workspace.repository_origin(WORKSPACE, repository.name), partition_set.pipeline_name)
    return creation.create_run_for_pipeline(
        instance, pipeline_def=repository.get_pipeline(partition_set.pipeline_name),
        run_config=partition_set.run_config_for_partition(partition_set.get_partition(partition)),
        mode=partition_set.mode, tags={"dagster/partition": partition, "dagster/partition_set": partition_set.name},
        external_pipeline_origin=origin,
    )


def _alerts(instance, run_id):
    return [record.message for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if record.message.startswith(ALERT_PREFIX)]


def _tick(instance, cursor):
    context = build_sensor_context(instance=instance, cursor=cursor, repository_name="flights_etl")
    flights_failure_alert_sensor.evaluate_tick(context)
    return context.cursor


def test_a_failed_launch_gets_one_alert_with_its_cause(tmp_path, landing_dir, warehouse_path):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        cursor = _tick(instance, None)  # the first tick only places the cursor
        run = _run(instance)
        # What DagsterInstance.launch_run, then submit_run, record when the launch raises:
        try:
            raise RuntimeError("Could not reach user code server")
        except RuntimeError:
            error = private.serializable_error_info_from_exc_info(sys.exc_info())
        for _ in ("launch_run", "submit_run"):
            instance.report_engine_event(error.message, run, private.EngineEventData.engine_error(error))
            instance.report_run_failed(run)

        cursor = _tick(instance, cursor)
        _tick(instance, cursor)  # a later tick: still one
        assert _alerts(instance, run.run_id) == [
            f"{ALERT_PREFIX}flights_daily_pipeline 2013-02-01 failed before any step: {CAUSE} "
            f"(run {run.run_id}, mode local)"
        ]


def test_a_failure_without_any_error_event_keeps_the_failure_message(tmp_path, landing_dir, warehouse_path):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        cursor = _tick(instance, None)
        run = _run(instance)
        instance.report_run_failed(run, message="flights fleet: worker w1 has no pipeline x")
        _tick(instance, cursor)
        assert _alerts(instance, run.run_id) == [
            f"{ALERT_PREFIX}flights_daily_pipeline 2013-02-01 failed before any step: flights fleet: worker w1 has "
            f"no pipeline x (run {run.run_id}, mode local)"
        ]


SEND = """
import logging, sys
from flights_etl.sensors.failure_alerts import alert_logger
if sys.argv[1] == "configured":
    logging.basicConfig()  # what some library or host process may have done
alert_logger().warning("flights alert: x")
"""


def test_alert_lines_have_one_format_whatever_logging_the_host_set_up():
    lines = []
    for setup in ("configured", "bare"):
        done = subprocess.run([sys.executable, "-c", SEND, setup], capture_output=True, text=True, cwd=PROJECT_ROOT)
        assert done.returncode == 0, done.stderr
        [line] = done.stderr.splitlines()
        lines.append(line.split(" - ", 1)[1])  # after the time stamp
    assert lines == ["flights_etl.alerts - WARNING - flights alert: x"] * 2
