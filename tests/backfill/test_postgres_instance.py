"""The shared deployment's instance on PostgreSQL (deploy/postgres/dagster.yaml), with the warehouse there too.

`flights-etl backfill` and `status`, the stock `dagster pipeline backfill` (queued, then launched
by a real `dagster-daemon`), a password that never leaks, and the server restarting in the
middle of a backfill.
"""
import json
import os
import signal
import subprocess
import time
from unittest import mock

import pytest
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.backfill.dagster_internals import RunsFilter
from tests.backfill.cli_helpers import BIN, PROJECT_ROOT, flights_etl, postgres_instance_env, start_flights_etl, start_stock_backfill
from tests.backfill.test_concurrency import _assert_warehouse_exact, _days
from tests.conftest import new_postgres_database, register_postmaster

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
FINISHED = {PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED}


@pytest.fixture
def pg_env(tmp_path, landing_dir, postgres_server):
    return postgres_instance_env(tmp_path, landing_dir, new_postgres_database(postgres_server), postgres_server)


def _instance(env):
    with mock.patch.dict(os.environ, {"DAGSTER_PG_URL": env["DAGSTER_PG_URL"]}):
        return DagsterInstance.from_config(env["DAGSTER_HOME"])


def _runs(env):
    with _instance(env) as instance:
        return instance.get_runs(filters=RunsFilter(pipeline_name="flights_daily_pipeline"))


def _instance_events_text(env) -> str:
    """Every event of every run, serialized: what Dagit can show."""
    with _instance(env) as instance:
        return "\n".join(
            repr(record) for run in instance.get_runs() for record in instance.all_logs(run.run_id)
        ) + "\n".join(repr(run) for run in instance.get_runs())


def test_backfills_status_and_the_daemon_on_a_postgres_instance(pg_env, postgres_server, tmp_path):
    secret = postgres_server.password
    daemon_log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen(
        [os.path.join(BIN, "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=pg_env, stdout=daemon_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        ours = flights_etl(pg_env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-06")
        assert ours.returncode == 0, ours.stdout + ours.stderr
        stock = start_stock_backfill(pg_env, "2013-01-05", "2013-01-09")  # queued, launched by the daemon
        assert stock.wait(timeout=300) == 0, stock.stdout.read()
        waited = flights_etl(pg_env, "status", "--wait", "300")
        assert waited.returncode == 0, waited.stdout + waited.stderr
        stock_output = stock.stdout.read()
        stock.stdout.close()
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        daemon_log.close()

    runs = _runs(pg_env)
    assert len(runs) == 6 + 5 and {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
    _assert_warehouse_exact(pg_env["FLIGHTS_WAREHOUSE"], _days("2013-01-01", "2013-01-09"))
    document = json.loads(flights_etl(pg_env, "status", "--json").stdout)
    assert document["counts"]["SUCCESS"] == 9
    summary = flights_etl(pg_env, "summary", "--from", "2013-01-01", "--to", "2013-01-09")
    assert summary.returncode == 0 and "over 9 days" in summary.stdout

    # The password is in the environment only: never in an output, a log, an event or a run.
    shown = "\n".join([ours.stdout, ours.stderr, stock_output, waited.stdout, waited.stderr, summary.stdout,
                       (tmp_path / "daemon.log").read_text(), _instance_events_text(pg_env)])
    assert secret not in shown
    assert postgres_server.url("x").split("@")[0].split(":")[-1] not in shown


def test_a_server_restart_mid_backfill_fails_cleanly_and_only_failed_finishes(pg_env, postgres_server):
    backfill = start_flights_etl(pg_env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-02-28")
    finished = 0
    while finished < 8:
        line = backfill.stdout.readline()
        assert line, "the backfill ended before the restart"
        finished += line.startswith("[")
    postgres_server.stop(remove=False)  # fast shutdown: every session ends, transactions roll back
    time.sleep(3)
    postgres_server.start()
    register_postmaster(postgres_server)
    output, _ = backfill.communicate(timeout=300)
    assert backfill.returncode in (0, 1), output
    assert "Traceback" not in output
    assert postgres_server.password not in output

    rerun = flights_etl(pg_env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-02-28", "--only", "missing,failed")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _assert_warehouse_exact(pg_env["FLIGHTS_WAREHOUSE"], _days("2013-01-01", "2013-02-28"))
    assert {run.status for run in _runs(pg_env)} <= FINISHED
