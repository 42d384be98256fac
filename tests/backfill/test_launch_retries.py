"""The one backfill driver on the run-launcher executor when launches fail: a transient failure (the
broker unreachable) after a launch succeeded gives the partition a new run after a pause and the
backfill goes on; a failure that is not transient, one that lasts, or one at the very first launch
(a wrong broker URL) stops it. A real temp instance whose run launcher is
tests/backfill/flaky_launcher.py."""
import os

import pytest
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.backfill import driver
from flights_etl.backfill.executors import executor_for
from flights_etl.backfill.executors import run_launcher as executor_module
from flights_etl.partitions import flights_daily_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from tests.backfill.cli_helpers import PROJECT_ROOT

DAYS = ["2013-01-01", "2013-01-02", "2013-01-03"]


def _instance(tmp_path, failures, transient=True, succeed_first=1):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_launcher:\n  module: tests.backfill.flaky_launcher\n  class: FlakyLauncher\n"
        f"  config:\n    failures: {failures}\n    transient: {str(transient).lower()}\n"
        f"    succeed_first: {succeed_first}\n"
    )
    return DagsterInstance.from_config(str(home))


def _backfill(instance, monkeypatch):
    monkeypatch.setattr(executor_module, "LAUNCH_PAUSE_MAX_S", 0.2)
    job = driver.Backfill(flights_daily_partition_set, flights_daily_pipeline, DAYS, "testbf",
                          os.path.join(PROJECT_ROOT, "workspace.yaml"), "flights_etl")
    executor = executor_for(instance, flights_daily_pipeline, len(DAYS))
    assert isinstance(executor, executor_module.RunLauncherExecutor)
    outcomes = []
    try:
        driver.run_backfill(job, executor, outcomes.append, instance)
    except driver.BackfillStopped as stopped:
        return outcomes, stopped
    return outcomes, None


def _runs_by_day(instance):
    by_day = {}
    for run in reversed(instance.get_runs()):
        by_day.setdefault(run.tags["dagster/partition"], []).append(run.status)
    return by_day


def test_a_transient_launch_failure_gives_the_partition_a_new_run_and_the_backfill_goes_on(tmp_path, monkeypatch,
                                                                                            capsys):
    with _instance(tmp_path, failures=2) as instance:
        outcomes, stopped = _backfill(instance, monkeypatch)
        assert stopped is None
        assert sorted((o.partition, o.status) for o in outcomes) == [(day, "SUCCESS") for day in DAYS]
        by_day = _runs_by_day(instance)
    # The second day's two failed launches stay as they were (failed, with the reason); its third run loaded.
    assert by_day[DAYS[1]] == [PipelineRunStatus.FAILURE, PipelineRunStatus.FAILURE, PipelineRunStatus.SUCCESS]
    assert by_day[DAYS[0]] == by_day[DAYS[2]] == [PipelineRunStatus.SUCCESS]
    err = capsys.readouterr().err
    assert err.count("could not be launched") == 2 and "gets a new run in" in err, err


def test_a_launch_failure_that_is_not_transient_stops_the_backfill(tmp_path, monkeypatch):
    with _instance(tmp_path, failures=1, transient=False) as instance:
        outcomes, stopped = _backfill(instance, monkeypatch)
    assert stopped is not None and "cannot reach the queue" in stopped.reason
    assert sorted((o.partition, o.status) for o in outcomes) == [(DAYS[0], "SUCCESS"), (DAYS[1], "FAILURE")]


def test_a_first_launch_that_fails_stops_the_backfill_at_once(tmp_path, monkeypatch):
    with _instance(tmp_path, failures=1, succeed_first=0) as instance:
        outcomes, stopped = _backfill(instance, monkeypatch)
    assert stopped is not None and "cannot reach the queue" in stopped.reason
    assert [(o.partition, o.status) for o in outcomes] == [(DAYS[0], "FAILURE")]


def test_a_transient_failure_that_lasts_stops_the_backfill(tmp_path, monkeypatch):
    monkeypatch.setattr(executor_module, "LAUNCH_RETRY_FOR_S", 0.5)
    with _instance(tmp_path, failures=1000) as instance:
        outcomes, stopped = _backfill(instance, monkeypatch)
    assert stopped is not None and stopped.exit_code == 1
    assert sorted((o.partition, o.status) for o in outcomes) == [(DAYS[0], "SUCCESS"), (DAYS[1], "FAILURE")]


@pytest.fixture(autouse=True)
def _in_project_root(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)


class _TerminateFailsAtFirst:
    """A launcher whose terminate raises (the instance restarting) ``failures`` times, then cancels
    the run, as the fleet's does for a run still waiting in its queue."""

    def __init__(self, instance, failures):
        self.instance, self.failures, self.asked = instance, failures, 0

    def terminate(self, run_id):
        self.asked += 1
        if self.asked <= self.failures:
            raise ConnectionError("server closed the connection unexpectedly")
        self.instance.report_run_canceled(self.instance.get_run_by_id(run_id), message="task revoked")
        return True


def test_a_stop_asks_again_to_terminate_a_run_the_first_request_could_not_reach(tmp_path, monkeypatch):
    """A backfill that stops because its instance went away (the request to terminate its queued run
    fails) asks again while it waits: the run is canceled, not left queued until the wait runs out."""
    monkeypatch.setattr(executor_module, "FINISH_IN_FLIGHT_S", 10.0)
    with _instance(tmp_path, failures=0) as instance:
        config = flights_daily_partition_set.run_config_for_partition(
            next(p for p in flights_daily_partition_set.get_partitions() if p.name == DAYS[0]))
        run = instance.create_run_for_pipeline(flights_daily_pipeline, run_config=config)
        executor = executor_module.RunLauncherExecutor(instance, window=1)
        executor.launcher = _TerminateFailsAtFirst(instance, failures=2)
        executor.in_flight[run.run_id] = (DAYS[0], 0.0)
        outcomes = []
        executor.start(outcomes.append)
        executor.stop("stopped: the instance went away")
        assert executor.launcher.asked == 3
        assert [(o.partition, o.status) for o in outcomes] == [(DAYS[0], "CANCELED")]
        assert instance.get_run_by_id(run.run_id).status == PipelineRunStatus.CANCELED
