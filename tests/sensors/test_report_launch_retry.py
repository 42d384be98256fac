"""The report sensor requests a month's report again when its launch failed, and only then.

A real instance whose run launcher is the fleet's, pointed at a broker that is down: the report
runs the sensor requests are created and launched as the daemon does (``instance.launch_run``),
so a failed launch is Dagster's own (run FAILURE, no step started). A real failure is a real
execution of the monthly pipeline that fails at its first step. The month's days are recorded as
loaded runs (their data is not what the sensor reads).
"""
import json
import os

import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, PipelineRunStatus, build_sensor_context, reconstructable

from flights_etl import dagster_private as private
from flights_etl import workspace
from flights_etl.dagster_private import RUN_KEY_TAG
from flights_etl.dates import month_days, parse_month
from flights_etl.partitions import flights_monthly_partition_set as monthly_set
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline
from flights_etl.repository import flights_etl as repository
from flights_etl.sensors import monthly_report
from flights_etl.sensors.monthly_report import LAUNCH_ATTEMPTS, RETRY_AFTER_S, report_run_key
from tests.backfill.cli_helpers import PROJECT_ROOT
from tests.helpers import daily_run_args
from tests.servers import free_port

MONTH = "2013-02"
SENSOR = "flights_monthly_report_sensor"


# --- the decision alone ---------------------------------------------------------------------

def test_a_month_without_failed_launches_keeps_its_change_key():
    assert report_run_key("2013-02:abc", [], now=1000.0) == ("2013-02:abc", None)


def test_failed_launches_are_retried_under_new_keys_with_a_doubling_wait_then_given_up():
    failed_at = 1000.0
    key, why = report_run_key("2013-02:abc", [failed_at], now=failed_at + RETRY_AFTER_S - 1)
    assert key is None and why == f"report launch failed (1 of {LAUNCH_ATTEMPTS} attempts): next attempt in 1 s"
    assert report_run_key("2013-02:abc", [failed_at], now=failed_at + RETRY_AFTER_S) == ("2013-02:abc:attempt2", None)
    two = [failed_at - 500, failed_at]
    assert report_run_key("2013-02:abc", two, now=failed_at + RETRY_AFTER_S)[0] is None  # now 2 x 60 s
    assert report_run_key("2013-02:abc", two, now=failed_at + 2 * RETRY_AFTER_S) == ("2013-02:abc:attempt3", None)
    three = [failed_at - 900, failed_at - 500, failed_at]
    assert report_run_key("2013-02:abc", three, now=failed_at + 4 * RETRY_AFTER_S)[0] == "2013-02:abc:attempt4"
    key, why = report_run_key("2013-02:abc", three + [failed_at + 300], now=failed_at + 10_000)
    assert key is None and why.startswith(f"report launch failed {LAUNCH_ATTEMPTS} times: not retrying")


# --- the sensor on a real instance ----------------------------------------------------------

@pytest.fixture
def fleet_instance(tmp_path, monkeypatch):
    """An instance that sends runs to a Redis nobody listens on; the monthly pipeline's resources
    point at an empty warehouse (a report run that executes fails at its first step)."""
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", str(tmp_path / "empty.duckdb"))
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("FLIGHTS_BROKER_URL", f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_launcher:\n  module: flights_etl.fleet.launcher\n  class: CeleryRunLauncher\n"
        "  config:\n    broker:\n      env: FLIGHTS_BROKER_URL\n"
    )
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance


def _report(instance, run, event_types):
    for event_type in event_types:
        instance.report_dagster_event(
            DagsterEvent(event_type_value=event_type.value, pipeline_name=run.pipeline_name), run_id=run.run_id)


def _load_days(instance, days):
    for day in days:  # recorded as succeeded (the sensor reads run records, not their events)
        instance.create_run_for_pipeline(**daily_run_args(day), status=PipelineRunStatus.SUCCESS)


def _evaluate(instance):
    sensor = repository.get_sensor_def(SENSOR)
    return sensor.evaluate_tick(build_sensor_context(instance=instance, repository_name="flights_etl"))


def _create_as_the_daemon_does(instance, request):
    recon = reconstructable(flights_monthly_pipeline)
    origin = workspace.repository_origin(os.path.join(PROJECT_ROOT, "workspace.yaml"), "flights_etl")
    return instance.create_run_for_pipeline(
        pipeline_def=flights_monthly_pipeline, run_config=request.run_config, mode=monthly_set.mode,
        tags={**request.tags, RUN_KEY_TAG: request.run_key, "dagster/sensor_name": SENSOR},
        pipeline_code_origin=recon.get_python_origin(),
        external_pipeline_origin=workspace.pipeline_origin(origin, flights_monthly_pipeline.name),
    )


def _launch_fails(instance, request):
    run = _create_as_the_daemon_does(instance, request)
    with pytest.raises(RuntimeError, match="could not send run .* to the Celery broker"):
        instance.launch_run(run.run_id, workspace=None)
    run = instance.get_run_by_id(run.run_id)
    assert run.status == PipelineRunStatus.FAILURE
    assert instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START) == []
    return run


def _only_request(instance):
    result = _evaluate(instance)
    assert len(result.run_requests) == 1, result.skip_message
    [request] = result.run_requests
    assert request.tags["dagster/partition"] == MONTH
    return request


def _days():
    return [day.isoformat() for day in month_days(parse_month(MONTH))]


def test_a_failed_launch_is_requested_again_under_a_new_key_until_the_attempts_run_out(fleet_instance, monkeypatch):
    instance = fleet_instance
    _load_days(instance, _days())
    first = _only_request(instance)
    change_key = first.run_key
    assert change_key.startswith(f"{MONTH}:") and ":attempt" not in change_key
    assert _only_request(instance).run_key == change_key  # same state, same key: one run

    _launch_fails(instance, first)
    waiting = _evaluate(instance)
    assert waiting.run_requests == []  # not at once: the broker is probably still down
    assert f"{MONTH}: report launch failed (1 of {LAUNCH_ATTEMPTS} attempts): next attempt in" in waiting.skip_message

    monkeypatch.setattr(monthly_report, "RETRY_AFTER_S", 0.0)
    keys = [change_key]
    for attempt in range(2, LAUNCH_ATTEMPTS + 1):
        again = _only_request(instance)
        assert again.run_key == f"{change_key}:attempt{attempt}"
        assert _only_request(instance).run_key == again.run_key  # asked again: the same key
        keys.append(again.run_key)
        _launch_fails(instance, again)
    given_up = _evaluate(instance)
    assert given_up.run_requests == []
    assert f"{MONTH}: report launch failed {LAUNCH_ATTEMPTS} times: not retrying" in given_up.skip_message
    assert len(set(keys)) == LAUNCH_ATTEMPTS

    # A day loaded again: a new change, with launch attempts of its own.
    _load_days(instance, [f"{MONTH}-10"])
    fresh = _only_request(instance)
    assert fresh.run_key not in keys and ":attempt" not in fresh.run_key


def test_a_report_that_failed_at_a_step_is_not_requested_again_and_a_built_one_ends_the_retries(
        fleet_instance, monkeypatch):
    instance = fleet_instance
    monkeypatch.setattr(monthly_report, "RETRY_AFTER_S", 0.0)
    _load_days(instance, _days())
    first = _only_request(instance)
    failed = _create_as_the_daemon_does(instance, first)
    result = private.execute_run(reconstructable(flights_monthly_pipeline), failed, instance)
    assert not result.success
    assert instance.all_logs(failed.run_id, of_type=DagsterEventType.STEP_START)  # it failed at a step
    assert instance.get_run_by_id(failed.run_id).status == PipelineRunStatus.FAILURE
    # The only key still requested is the one already spent by the failed run: the daemon launches
    # nothing (an alert, not a retry).
    assert [request.run_key for request in _evaluate(instance).run_requests] == [first.run_key]

    # Another month's report: its launch fails once, the retry builds it; then nothing more.
    other_days = [day.isoformat() for day in month_days(parse_month("2013-03"))]
    _load_days(instance, other_days)
    [march] = [r for r in _evaluate(instance).run_requests if r.tags["dagster/partition"] == "2013-03"]
    failed_launch = _create_as_the_daemon_does(instance, march)
    with pytest.raises(RuntimeError):
        instance.launch_run(failed_launch.run_id, workspace=None)
    [retry] = [r for r in _evaluate(instance).run_requests if r.tags["dagster/partition"] == "2013-03"]
    assert retry.run_key == f"{march.run_key}:attempt2"
    built = _create_as_the_daemon_does(instance, retry)
    _report(instance, built, (DagsterEventType.PIPELINE_START, DagsterEventType.PIPELINE_SUCCESS))
    after = _evaluate(instance)
    assert [r for r in after.run_requests if r.tags["dagster/partition"] == "2013-03"] == []
    assert json.loads(after.cursor)["2013-03"].startswith("report up to date (built")
