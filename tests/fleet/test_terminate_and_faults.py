"""Terminate from Dagit, a dead worker, a second delivery, another code version, a broker that is down."""
import os
import shutil
import signal
import subprocess
import time
from datetime import date

import psycopg2
import pytest
from dagster import DagsterEventType, PipelineRunStatus

from flights_etl.backfill.dagster_internals import RunsFilter
from flights_etl.fleet.broker import TASK_NAME, claim_key, make_app
from flights_etl.fleet.execution import WORKER_TAG
from flights_etl.fleet.version import code_version
from flights_etl.partitions import flights_daily_partition_set as daily_set
from flights_etl.warehouse.postgres_backend import _lock_class
from tests.backfill.cli_helpers import PROJECT_ROOT, flights_etl
from tests.backfill.test_concurrency import _assert_warehouse_exact, _days
from tests.fleet.conftest import instance_of
from tests.fleet.dagit_api import launch, terminate
from tests.helpers import read_table, wait_until
from tests.raw_data import flights_on
from tests.servers import DagitStack, free_port

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
DAY = "2013-01-12"


def _run(env, run_id):
    with instance_of(env) as instance:
        return instance.get_run_by_id(run_id)


def _wait(what, condition, timeout_s=90):
    return wait_until(what, condition, timeout_s, poll_s=0.2)


class _PartitionLock:
    """Hold the warehouse's lock on one day of table flights, as a long writer would: a run of that day
    then waits inside its transaction (STARTED, heartbeating) until the lock is released."""

    def __init__(self, warehouse_url: str, day: str):
        self.connection = psycopg2.connect(warehouse_url)
        self.connection.autocommit = True
        self.key = (_lock_class("flights"), date.fromisoformat(day).toordinal())

    def __enter__(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", self.key)
        return self

    def __exit__(self, *_exc):
        self.connection.close()  # releases the lock


def _waiting_in_load_partition(env, run_id):
    with instance_of(env) as instance:
        steps = [r.step_key for r in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)]
    return "load_partition" in steps


def _launch_day(url, day):
    partition = daily_set.get_partition(day)
    return launch(url, "flights_daily_pipeline", daily_set.run_config_for_partition(partition),
                  daily_set.tags_for_partition(partition))


def test_terminate_from_dagit_revokes_a_queued_run_and_interrupts_a_running_one(
        fleet_env, start_worker, tmp_path, landing_dir):
    env = fleet_env
    with DagitStack("workspace.yaml", port=free_port(), daemon=False, env=env, cwd=PROJECT_ROOT,
                    log_dir=str(tmp_path)) as dagit:
        # No worker yet: the run waits in the queue; terminated, it is revoked and never runs.
        queued = _launch_day(dagit.url, "2013-01-11")
        assert _run(env, queued).status == PipelineRunStatus.QUEUED  # waiting in Celery's queue
        assert terminate(dagit.url, queued)["__typename"] == "TerminateRunSuccess"
        assert _run(env, queued).status == PipelineRunStatus.CANCELED

        worker = start_worker(env, "worker1@host1")
        # The day is loaded; its file is then re-dropped with a row fewer. Its new run waits on the
        # partition lock inside its transaction, and is terminated there.
        first = flights_etl(env, "backfill", *SET, "--partitions", DAY)
        assert first.returncode == 0, first.stdout + first.stderr
        path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
        with open(path) as handle:
            lines = handle.readlines()
        with open(path, "w") as handle:
            handle.writelines(lines[:-1])
        with _PartitionLock(env["FLIGHTS_WAREHOUSE"], DAY):
            running = _launch_day(dagit.url, DAY)
            _wait("the run waiting on the lock", lambda: _waiting_in_load_partition(env, running))
            assert _run(env, running).status == PipelineRunStatus.STARTED
            started = time.monotonic()
            assert terminate(dagit.url, running)["__typename"] == "TerminateRunSuccess"
            ended = _wait("the terminated run's end", lambda: _run(env, running).is_finished and _run(env, running))
            assert time.monotonic() - started < 15
        assert ended.status == PipelineRunStatus.CANCELED
        time.sleep(3)  # the revoked task of the queued run has had every chance to run
        assert worker.poll() is None
    counts = read_table(env["FLIGHTS_WAREHOUSE"], "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n "
                        "FROM flights GROUP BY 1 ORDER BY 1")
    assert counts.day.tolist() == [DAY]  # 2013-01-11 never ran
    assert counts.n.tolist() == [len(flights_on(date.fromisoformat(DAY)))]  # the old rows: rolled back
    with instance_of(env) as instance:
        assert instance.all_logs(queued, of_type=DagsterEventType.PIPELINE_START) == []


@pytest.mark.parametrize("victim", ["process", "whole worker"])
def test_a_killed_worker_fails_its_run_which_is_retried_once(fleet_env, start_worker, tmp_path, victim):
    """kill -9 of the process executing a run (or of the whole worker): the daemon's run monitoring
    marks the run FAILED within a bounded time and the run retries re-run the partition once; the
    day is loaded exactly once."""
    env = fleet_env
    workers = [start_worker(env, "worker1@host1"), start_worker(env, "worker2@host2")]
    with DagitStack("workspace.yaml", port=free_port(), daemon=True, env=env, cwd=PROJECT_ROOT,
                    log_dir=str(tmp_path)) as dagit:
        with _PartitionLock(env["FLIGHTS_WAREHOUSE"], DAY):
            doomed = _launch_day(dagit.url, DAY)
            _wait("the run waiting on the lock", lambda: _waiting_in_load_partition(env, doomed))
            import redis

            holder = redis.Redis.from_url(env["FLIGHTS_BROKER_URL"]).get(claim_key(doomed)).decode()  # "<host> pid N"
            pid = int(holder.rsplit(" ", 1)[1])
            killed_host = _run(env, doomed).tags[WORKER_TAG]
            worker = next(w for w in workers if str(w.args[-1]) == killed_host)
            killed_at = time.monotonic()
            if victim == "process":
                os.kill(pid, signal.SIGKILL)
            else:
                os.killpg(worker.pid, signal.SIGKILL)
        failed = _wait("the dead worker's run marked failed", lambda: (
            _run(env, doomed).status == PipelineRunStatus.FAILURE and _run(env, doomed)), timeout_s=90)
        detected_after = time.monotonic() - killed_at
        assert detected_after < 60, detected_after
        with instance_of(env) as instance:
            messages = [r.message for r in instance.all_logs(doomed, of_type=DagsterEventType.PIPELINE_FAILURE)]
        assert any("the worker process is gone" in message for message in messages), messages

        def retry():
            with instance_of(env) as instance:
                children = [run for run in instance.get_runs(RunsFilter(tags={"dagster/partition": DAY}))
                            if run.parent_run_id == doomed]
            return children if children and children[0].is_finished else None
        [retried] = _wait("the automatic retry", retry, timeout_s=120)
    assert failed.tags.get("dagster/max_retries") == "1"
    assert retried.status == PipelineRunStatus.SUCCESS
    if victim == "whole worker":  # (a killed process is replaced by its worker, which may take the retry)
        assert retried.tags[WORKER_TAG] != killed_host
    assert retried.tags.get("dagster/retry_strategy") == "ALL_STEPS"
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days(DAY, DAY))


def test_a_second_delivery_of_a_run_stands_down(fleet_env, start_worker):
    env = fleet_env
    start_worker(env, "worker1@host1", concurrency=2)
    done = flights_etl(env, "backfill", *SET, "--partitions", DAY)
    assert done.returncode == 0, done.stdout + done.stderr
    with instance_of(env) as instance:
        [run] = instance.get_runs()
    app = make_app(env["FLIGHTS_BROKER_URL"])
    for _ in range(2):  # as Celery might redeliver it after a worker loss
        app.send_task(TASK_NAME, args=[run.run_id, code_version()], queue="flights")

    def stood_down():
        with instance_of(env) as instance:
            return [r.message for r in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
                    if "not executing it twice" in r.message]
    assert len(_wait("both deliveries standing down", lambda: len(stood_down()) == 2 and stood_down())) == 2
    with instance_of(env) as instance:
        assert len(instance.all_logs(run.run_id, of_type=DagsterEventType.PIPELINE_START)) == 1
        assert instance.get_run_by_id(run.run_id).status == PipelineRunStatus.SUCCESS
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days(DAY, DAY))


def test_a_worker_with_other_code_fails_the_run_clearly(fleet_env, start_worker, tmp_path):
    """A worker started from a modified copy of the package (another deploy) refuses the run."""
    import flights_etl as package

    other = tmp_path / "other_code"
    shutil.copytree(os.path.dirname(package.__file__), other / "flights_etl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "flights_etl" / "dates.py", "a") as handle:
        handle.write("\n# a change deployed to this machine only\n")
    env = fleet_env
    start_worker(env, "stale@host9", extra_env={"PYTHONPATH": str(other)})
    result = flights_etl(env, "backfill", *SET, "--partitions", DAY)
    assert result.returncode == 1
    assert "worker stale@host9 runs flights-etl" in result.stdout and "deploy the same code on every machine" in result.stdout
    assert code_version() in result.stdout
    assert read_table(env["FLIGHTS_WAREHOUSE"], "SELECT count(*) AS n FROM information_schema.tables "
                      "WHERE table_name = 'flights'").n[0] == 0  # nothing written


def test_a_broker_that_is_down_fails_the_launch_naming_it(fleet_env, redis_server):
    env = {**fleet_env, "FLIGHTS_BROKER_URL": f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"}
    result = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-03")
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "could not send run" in output and "to the Celery broker redis://127.0.0.1:" in output
    assert "hunter2-secret" not in output and "Traceback" not in output
    with instance_of(env) as instance:
        [run] = instance.get_runs()
        assert run.status == PipelineRunStatus.FAILURE  # failed at launch, not left queued
        events = " ".join(repr(r) for r in instance.all_logs(run.run_id))
    assert "hunter2-secret" not in events
    unused = subprocess.run(["redis-cli", "-p", str(redis_server.port), "-a", redis_server.password, "--no-auth-warning",
                             "LLEN", "flights"], capture_output=True, text=True)
    assert unused.stdout.strip() == "0"
