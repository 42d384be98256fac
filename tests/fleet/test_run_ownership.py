"""Run ownership in the instance and the watchdog, against real servers and processes: Redis killed
(-9) or frozen or restarted, the instance's PostgreSQL stopped, the daemon killed mid Dagit
backfill. Each ends with every day loaded exactly once (raw data) and no run left unfinished."""
import os
import re
import signal
import subprocess
import time
from collections import Counter

import pytest
from dagster import DagsterEventType, DagsterInstance, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from flights_etl.runs.lease import lease_of
from flights_etl.runs.watchdog import RESENT_TAG
from tests.backfill.cli_helpers import BIN, PROJECT_ROOT, flights_etl, start_flights_etl
from tests.backfill.test_concurrency import _assert_warehouse_exact, _days
from tests.fleet.conftest import _environment, instance_of, make_home
from tests.fleet.dagit_api import launch_partition_backfill
from tests.fleet.test_terminate_and_faults import _PartitionLock, _waiting_in_load_partition
from tests.helpers import daily_run_args, wait_until
from tests.servers import DagitStack, PostgresServer, RedisServer, free_port

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
GRACE_S = 8  # $FLIGHTS_WATCHDOG_GRACE_S for these tests (60 s by default)
LEASE_TTL_S = 12  # $FLIGHTS_LEASE_TTL_S for these tests (30 s by default): above the blips they survive
UNFINISHED = {"NOT_STARTED", "QUEUED", "STARTING", "STARTED", "CANCELING"}


@pytest.fixture
def own_redis():
    """A Redis of the test's own (no persistence), which the test may kill and restart on the same port."""
    server = RedisServer().start()
    yield server
    server.stop()


def _kill_and_restart(server: RedisServer, down_s: float) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    time.sleep(down_s)
    server.process = None
    server.start()  # same port, password and (empty) data


def _env(fleet_env, redis_server, **extra):
    return {**fleet_env, "FLIGHTS_BROKER_URL": redis_server.url(), "FLIGHTS_WATCHDOG_GRACE_S": str(GRACE_S),
            "FLIGHTS_LEASE_TTL_S": str(LEASE_TTL_S), **extra}


def _statuses(env):
    with instance_of(env) as instance:
        return Counter(run.status.value for run in instance.get_runs())


def _successes(env):
    return _statuses(env).get("SUCCESS", 0)


def _load_starts_per_day(env):
    """How many times each day's load_partition step started, over every run of the day."""
    with instance_of(env) as instance:
        runs = instance.get_runs()
        return Counter(run.tags.get("dagster/partition") for run in runs
                       for record in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
                       if record.step_key == "load_partition")


def _recover_and_check(env, first, last):
    """The documented recovery: one sweep starts the grace period; after the bound (the grace period,
    and the lease's time to live for a run whose worker gave up on it), a backfill of what is
    missing or failed; then wait for everything: every day loaded exactly, no run unfinished."""
    flights_etl(env, "status", "--no-list")
    time.sleep(max(GRACE_S, LEASE_TTL_S) + 1)
    recovery = flights_etl(env, "backfill", *SET, "--from", first, "--to", last, "--only", "missing,failed")
    assert recovery.returncode == 0, recovery.stdout + recovery.stderr
    waited = flights_etl(env, "status", "--wait", "240", "--no-list")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert not UNFINISHED & set(_statuses(env)), _statuses(env)
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days(first, last))
    with instance_of(env) as instance:
        latest = {run.tags["dagster/partition"]: run for run in reversed(instance.get_runs())}
    assert {day.isoformat() for day in _days(first, last)} == set(latest)
    assert {run.status for run in latest.values()} == {PipelineRunStatus.SUCCESS}
    return recovery


def test_redis_killed_mid_fleet_backfill_loses_no_day(fleet_env, own_redis, start_worker):
    """kill -9 of Redis (no persistence: the queued tasks are gone) and a restart on the same port:
    the watchdog finds the queued runs whose task was lost and sends them again; nothing stays
    QUEUED, nothing is called CANCELED, every day is loaded once."""
    env = _env(fleet_env, own_redis)
    first, last = "2013-01-01", "2013-01-16"
    start_worker(env, "w1@h1", concurrency=2)
    # Both worker processes held inside load_partition of two days, so the later days' tasks
    # surely wait in Redis when it is killed (on a busy machine the worker could otherwise have
    # taken them all first).
    with _PartitionLock(env["FLIGHTS_WAREHOUSE"], "2013-01-04"), _PartitionLock(env["FLIGHTS_WAREHOUSE"], "2013-01-05"):
        backfill = start_flights_etl(env, "backfill", *SET, "--from", first, "--to", last)
        _wait_held_run(env, "2013-01-04")
        _wait_held_run(env, "2013-01-05")
        _kill_and_restart(own_redis, down_s=1.0)
    output, _ = backfill.communicate(timeout=300)
    assert backfill.returncode == 0, output  # the lost runs were sent again and succeeded
    assert "CANCELED" not in output, output
    with instance_of(env) as instance:
        resent = [run for run in instance.get_runs() if RESENT_TAG in run.tags]
    assert resent, "Redis lost no queued task: the test did not test anything"
    _recover_and_check(env, first, last)
    assert set(_load_starts_per_day(env).values()) == {1}  # no day executed twice


def test_instance_postgres_stopped_mid_fleet_backfill_loses_no_day(fleet_env, own_redis, start_worker, tmp_path,
                                                                    postgres_server):
    """The instance's PostgreSQL (a server of the test's own) stopped for 15 s mid fleet backfill:
    after the grace period and one `backfill --only missing,failed`, every day is loaded, no run unfinished."""
    instance_db = PostgresServer().start()
    try:
        env = _env(fleet_env, own_redis, DAGSTER_PG_URL=instance_db.create_database("dagster"))
        env["DAGSTER_HOME"] = make_home(tmp_path / "own_home", env)
        with _environment(env):
            DagsterInstance.from_config(env["DAGSTER_HOME"]).dispose()
        first, last = "2013-01-01", "2013-01-14"
        start_worker(env, "w1@h1", concurrency=2)
        backfill = start_flights_etl(env, "backfill", *SET, "--from", first, "--to", last, "--max-concurrent", "6")
        wait_until("3 days loaded", lambda: _successes(env) >= 3, 180, poll_s=0.2)
        instance_db.stop(remove=False)
        time.sleep(15)
        instance_db.start()
        backfill.communicate(timeout=300)
        recovery = _recover_and_check(env, first, last)
        assert "Traceback" not in recovery.stdout + recovery.stderr
    finally:
        instance_db.stop()


def test_a_broker_blip_neither_fails_nor_repeats_a_running_run(fleet_env, own_redis, start_worker, tmp_path):
    """Redis frozen (SIGSTOP) for 3 s, then killed and restarted within ~1 s, while runs execute and
    the daemon's run monitoring watches them: no run is marked FAILED, none executes twice."""
    env = _env(fleet_env, own_redis)
    first, last = "2013-01-01", "2013-01-08"
    held = "2013-01-02"
    start_worker(env, "w1@h1", concurrency=2)
    with DagitStack("workspace.yaml", port=free_port(), daemon=True, env=env, cwd=PROJECT_ROOT,
                    log_dir=str(tmp_path)):
        with _PartitionLock(env["FLIGHTS_WAREHOUSE"], held):  # keeps one run STARTED through the blips
            backfill = start_flights_etl(env, "backfill", *SET, "--from", first, "--to", last)

            run_id = _wait_held_run(env, held)
            os.killpg(own_redis.process.pid, signal.SIGSTOP)
            time.sleep(3)
            os.killpg(own_redis.process.pid, signal.SIGCONT)
            time.sleep(2)
            _kill_and_restart(own_redis, down_s=0.5)
            time.sleep(15)  # three of the daemon's health checks (every 5 s) with no claim left in Redis
            assert _run_status(env, run_id) == PipelineRunStatus.STARTED
            with instance_of(env) as instance:
                assert lease_of(instance, run_id).owner.startswith("w1@h1 pid ")
        output, _ = backfill.communicate(timeout=300)
        assert backfill.returncode == 0, output
    assert _statuses(env) == Counter({"SUCCESS": len(_days(first, last))})  # one run per day, none failed
    assert set(_load_starts_per_day(env).values()) == {1}
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days(first, last))


def _wait_held_run(env, day):
    """The id of ``day``'s run once it waits on the held partition lock inside load_partition."""
    def held_run():
        with instance_of(env) as instance:
            runs = instance.get_runs(RunsFilter(tags={"dagster/partition": day}))
        return runs and _waiting_in_load_partition(env, runs[0].run_id) and runs[0].run_id
    return wait_until(f"{day}'s run in load_partition", held_run, 180, poll_s=0.2)


def _run_status(env, run_id):
    with instance_of(env) as instance:
        return instance.get_run_by_id(run_id).status


def test_a_run_the_daemon_created_and_never_launched_is_launched_by_the_watchdog(fleet_env, own_redis, start_worker):
    """What a daemon killed between creating a Dagit backfill's run and launching it leaves: a
    NOT_STARTED run with the backfill's tag and no creator. After the grace period the sweep
    (here `flights-etl status`) launches it and a worker loads the day."""
    env = _env(fleet_env, own_redis)
    day = "2013-01-07"
    start_worker(env, "w1@h1")
    from dagster import reconstructable

    from flights_etl import workspace
    from flights_etl.pipelines.flights_daily import flights_daily_pipeline

    repo_origin = workspace.repository_origin(os.path.join(PROJECT_ROOT, "workspace.yaml"), "flights_etl")
    with instance_of(env) as instance:  # as the daemon's backfill creates it: with the code's origins
        args = daily_run_args(day)
        run = instance.create_run_for_pipeline(
            **{**args, "tags": {**args["tags"], "dagster/backfill": "killed"}},
            pipeline_code_origin=reconstructable(flights_daily_pipeline).get_python_origin(),
            external_pipeline_origin=workspace.pipeline_origin(repo_origin, flights_daily_pipeline.name))
    flights_etl(env, "status", "--no-list")  # first seen: the grace period starts
    assert _run_status(env, run.run_id) == PipelineRunStatus.NOT_STARTED
    time.sleep(GRACE_S + 1)
    waited = flights_etl(env, "status", "--wait", "120", "--no-list")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert "was stranded and is sent to the fleet again" in waited.stderr, waited.stderr
    assert _run_status(env, run.run_id) == PipelineRunStatus.SUCCESS
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days(day, day))


def _watchdog_ticks(env):
    with instance_of(env) as instance:
        return [tick for state in instance.all_instigator_state() if state.instigator_name == "flights_run_watchdog_sensor"
                for tick in instance.get_ticks(state.instigator_origin_id, state.selector_id)]


def test_daemon_killed_mid_dagit_backfill_leaves_no_run_behind(fleet_env, own_redis, start_worker, tmp_path):
    """SIGKILL of the daemon's process group while it submits a Dagit backfill, then a new daemon:
    within the bound no run is left NOT_STARTED/QUEUED/STARTING, and recovery loads every day."""
    env = _env(fleet_env, own_redis)
    first, last = "2013-01-01", "2013-01-12"
    start_worker(env, "w1@h1", concurrency=2)
    with DagitStack("workspace.yaml", port=free_port(), daemon=True, env=env, cwd=PROJECT_ROOT,
                    log_dir=str(tmp_path)) as dagit:
        launch_partition_backfill(dagit.url, "flights_daily_partition_set", [d.isoformat() for d in _days(first, last)])
        wait_until("the daemon creating the backfill's runs", lambda: sum(_statuses(env).values()) >= 2, 180, poll_s=0.1)
        daemon = dagit.processes[1]
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()
        log = open(tmp_path / "daemon2.log", "w")
        again = subprocess.Popen([os.path.join(BIN, "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=PROJECT_ROOT,
                                 env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # The bound: the grace period, plus a sweep every 30 s, plus the daemon's start.
            wait_until("no run left waiting", lambda: not {"NOT_STARTED", "QUEUED", "STARTING"} & set(_statuses(env)),
                       GRACE_S + 30 + 90, poll_s=1)
            ticks = wait_until("the watchdog sensor's tick", lambda: _watchdog_ticks(env), 120, poll_s=1)
            assert all(tick.status.value != "FAILURE" for tick in ticks), [tick.error for tick in ticks]
        finally:
            os.killpg(again.pid, signal.SIGKILL)
            again.wait()
            log.close()
    _recover_and_check(env, first, last)


def test_the_fleet_backfill_reports_a_partition_by_its_retry(fleet_env, own_redis, start_worker, tmp_path):
    """The process executing a day's run is killed: the daemon's monitoring fails the run, its run
    retries re-run the partition, and the fleet backfill counts that retry's SUCCESS (exit 0)."""
    import redis

    from flights_etl.fleet.broker import claim_key

    env = _env(fleet_env, own_redis)
    first, last, held = "2013-01-01", "2013-01-03", "2013-01-02"
    start_worker(env, "w1@h1", concurrency=2)
    with DagitStack("workspace.yaml", port=free_port(), daemon=True, env=env, cwd=PROJECT_ROOT,
                    log_dir=str(tmp_path)):
        with _PartitionLock(env["FLIGHTS_WAREHOUSE"], held):
            backfill = start_flights_etl(env, "backfill", *SET, "--from", first, "--to", last)

            doomed = _wait_held_run(env, held)
            holder = redis.Redis.from_url(env["FLIGHTS_BROKER_URL"]).get(claim_key(doomed)).decode()
            os.kill(int(holder.rsplit(" ", 1)[1]), signal.SIGKILL)
        output, _ = backfill.communicate(timeout=300)
    assert backfill.returncode == 0, output
    with instance_of(env) as instance:
        runs = instance.get_runs(RunsFilter(tags={"dagster/partition": held}))
    assert {run.status for run in runs} == {PipelineRunStatus.FAILURE, PipelineRunStatus.SUCCESS}
    [retry] = [run for run in runs if run.parent_run_id == doomed]
    assert retry.status == PipelineRunStatus.SUCCESS
    assert f"{held} SUCCESS" in output, output  # its progress line: the final outcome
    assert re.search(r"^SUCCESS\s+3$", output, re.MULTILINE), output  # the summary's counts
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days(first, last))
