"""Every way a run starts goes through the Celery run launcher when the instance is configured so.

Two workers, each a "host" with its own DAGSTER_HOME on the shared PostgreSQL instance, Dagit and
a real dagster-daemon: flights-etl backfill, the stock `dagster pipeline backfill`, a Dagit
backfill through the daemon, the Launchpad, re-execution from failure landing on the other
worker, and the monthly-report sensor. Every run must have been executed by a fleet worker.
"""
import os
import shutil
import signal
from datetime import date

import pandas as pd
import pytest
from dagster import DagsterEventType, PipelineRunStatus

from flights_etl.backfill.dagster_internals import RunsFilter
from flights_etl.fleet.execution import WORKER_TAG
from flights_etl.partitions import flights_daily_partition_set as daily_set
from tests.backfill.cli_helpers import PROJECT_ROOT, flights_etl, stock_backfill
from tests.backfill.test_concurrency import _assert_warehouse_exact, _days
from tests.fleet.conftest import instance_of, make_home
from tests.fleet.dagit_api import launch, launch_partition_backfill, reexecute_from_failure
from tests.helpers import read_table, wait_until
from tests.raw_data import expected_monthly_report
from tests.servers import DagitStack, free_port
from tests.ui.bad_files import break_flights_file

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
BROKEN = "2013-01-24"


def _runs(env, pipeline="flights_daily_pipeline"):
    with instance_of(env) as instance:
        return instance.get_runs(filters=RunsFilter(pipeline_name=pipeline))


def _wait(what, condition, timeout_s=150):
    return wait_until(what, condition, timeout_s, poll_s=0.5)


def _run(env, run_id):
    with instance_of(env) as instance:
        return instance.get_run_by_id(run_id)


def _ended(env, run_id):
    run = _run(env, run_id)
    return run if run.is_finished else None


def test_every_launch_path_runs_on_the_fleet(fleet_env, start_worker, tmp_path, landing_dir, landed_master):
    env = fleet_env
    workers = {
        name: start_worker({**env, "DAGSTER_HOME": make_home(tmp_path / name, env)}, name)
        for name in ("worker1@host1", "worker2@host2")
    }
    with DagitStack("workspace.yaml", port=free_port(), daemon=True, env=env, cwd=PROJECT_ROOT,
                    log_dir=str(tmp_path)) as dagit:
        ours = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-08")
        assert ours.returncode == 0, ours.stdout + ours.stderr
        assert "on the worker fleet (queue flights)" in ours.stdout

        stock = stock_backfill(env, "2013-01-09", "2013-01-14")
        assert stock.returncode == 0, stock.stderr[-2000:]

        backfill_id = launch_partition_backfill(dagit.url, "flights_daily_partition_set", _names("2013-01-15", "2013-01-22"))
        _wait("the Dagit backfill's runs", lambda: len([r for r in _runs(env) if r.tags.get("dagster/backfill") == backfill_id
                                                       and r.status == PipelineRunStatus.SUCCESS]) == 8)

        partition = daily_set.get_partition("2013-01-23")
        launched = launch(dagit.url, "flights_daily_pipeline", daily_set.run_config_for_partition(partition),
                          daily_set.tags_for_partition(partition))
        assert _wait("the Launchpad's run", lambda: _ended(env, launched)).status == PipelineRunStatus.SUCCESS

        # A bad file fails on one worker; fixed, it is re-executed from failure on the other.
        break_flights_file(landing_dir, date.fromisoformat(BROKEN))
        partition = daily_set.get_partition(BROKEN)
        failed_id = launch(dagit.url, "flights_daily_pipeline", daily_set.run_config_for_partition(partition),
                           daily_set.tags_for_partition(partition))
        failed = _wait("the broken day's run", lambda: _ended(env, failed_id))
        assert failed.status == PipelineRunStatus.FAILURE
        first_host = failed.tags[WORKER_TAG]
        os.killpg(workers[first_host].pid, signal.SIGKILL)  # that machine is gone
        shutil.copy(os.path.join(landed_master, "flights", f"{BROKEN}.csv"), os.path.join(landing_dir, "flights", f"{BROKEN}.csv"))
        retried_id = reexecute_from_failure(dagit.url, failed_id)
        retried = _wait("the re-execution", lambda: _ended(env, retried_id))
        assert retried.status == PipelineRunStatus.SUCCESS
        assert retried.tags[WORKER_TAG] != first_host and retried.parent_run_id == failed_id
        with instance_of(env) as instance:
            steps = [record.step_key for record in instance.all_logs(retried_id, of_type=DagsterEventType.STEP_START)]
        assert "read_weather" not in steps and steps[0] == "read_flights"  # its output came from shared storage

        rest = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-31", "--only", "missing")
        assert rest.returncode == 0, rest.stdout + rest.stderr
        report = _wait("the monthly report from the sensor", lambda: [
            run for run in _runs(env, "flights_monthly_pipeline") if run.status == PipelineRunStatus.SUCCESS])
        assert report[0].tags["flights/requested_by"] == "sensor"

    runs = _runs(env) + _runs(env, "flights_monthly_pipeline")
    assert all(WORKER_TAG in run.tags for run in runs), [(r.status, r.tags) for r in runs if WORKER_TAG not in r.tags]
    assert {run.tags[WORKER_TAG] for run in runs} == set(workers)  # both machines worked
    assert [run.run_id for run in runs if run.status != PipelineRunStatus.SUCCESS] == [failed_id]
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days("2013-01-01", "2013-01-31"))
    expected = expected_monthly_report(2013, 1)
    got = read_table(env["FLIGHTS_WAREHOUSE"],
                     f"SELECT {', '.join(expected.columns)} FROM monthly_report ORDER BY carrier")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12)


def _names(first, last):
    return [day.isoformat() for day in _days(first, last)]
