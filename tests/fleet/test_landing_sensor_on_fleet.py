"""The landing sensor on the worker fleet: its runs go to the instance's run launcher (Celery) and run
on a fleet worker; the warehouse (PostgreSQL) ends up with exactly the landed rows, and a changed day
is reloaded once with its new rows.

Real PostgreSQL instance and warehouse, real Redis broker, a real worker, Dagit and dagster-daemon.
"""
from datetime import date

import pytest
from dagster import PipelineRunStatus

from flights_etl.fleet.execution import WORKER_TAG
from flights_etl.upstream.land import land_days
from flights_etl.warehouse import open_warehouse
from tests.backfill.cli_helpers import PROJECT_ROOT
from tests.backfill.test_concurrency import _assert_warehouse_exact
from tests.fleet.conftest import make_home
from tests.fleet.test_launch_paths import _runs
from tests.helpers import read_table, wait_until
from tests.raw_data import flights_on
from tests.servers import DagitStack, free_port

pytestmark = pytest.mark.slow

DAYS = [date(2013, 1, 1), date(2013, 1, 2)]
REACT_S = 240


@pytest.fixture
def landing_dir(tmp_path):
    """Two landed days only (the sensor loads whatever is landed)."""
    target = str(tmp_path / "landing")
    land_days(target, DAYS[0], DAYS[-1])
    return target


def _finished(env, count):
    runs = _runs(env)
    return runs if len(runs) == count and all(run.is_finished for run in runs) else None


def test_the_landing_sensors_runs_execute_on_the_fleet(fleet_env, start_worker, tmp_path, landing_dir):
    env = {**fleet_env, "FLIGHTS_LANDING_MAX_RUNS": "5", "FLIGHTS_LANDING_SETTLE_S": "2"}
    start_worker({**env, "DAGSTER_HOME": make_home(tmp_path / "host1", env)}, "worker1@host1")
    with DagitStack("workspace.yaml", port=free_port(), daemon=True, env=env, cwd=PROJECT_ROOT, log_dir=str(tmp_path)):
        runs = wait_until("the landed days loaded by the sensor", lambda: _finished(env, 2), REACT_S, poll_s=1)
        assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
        assert {run.tags["flights/requested_by"] for run in runs} == {"landing-sensor"}
        assert {run.tags[WORKER_TAG] for run in runs} == {"worker1@host1"}  # executed by the fleet worker
        _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], DAYS)

        path = f"{landing_dir}/flights/{DAYS[1]}.csv"
        with open(path) as handle:
            lines = handle.readlines()
        with open(path, "w") as handle:
            handle.writelines(lines[:-100])
        runs = wait_until("the changed day reloaded", lambda: _finished(env, 3), REACT_S, poll_s=1)
        assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
    loaded = read_table(env["FLIGHTS_WAREHOUSE"], "SELECT count(*) AS n FROM flights WHERE partition_date = ?", [DAYS[1]])
    assert int(loaded["n"][0]) == len(flights_on(DAYS[1])) - 100
    assert len(open_warehouse(env["FLIGHTS_WAREHOUSE"]).loaded_files()) == 4
