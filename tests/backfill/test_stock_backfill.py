"""`dagster pipeline backfill` as a user runs it: real subprocesses against a temp DAGSTER_HOME."""
import os
import subprocess
from datetime import date

import pytest
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from tests.backfill.cli_helpers import BIN, PROJECT_ROOT, instance_env, stock_backfill
from tests.helpers import assert_same_snapshot, read_table, snapshot
from tests.raw_data import flights_on

pytestmark = pytest.mark.slow

DAYS = ["2013-01-20", "2013-01-21", "2013-01-22"]


def _backfill(env):
    return stock_backfill(env, DAYS[0], DAYS[-1])


@pytest.fixture
def cli_env(tmp_path, landing_dir, warehouse_path):
    return instance_env(tmp_path, landing_dir, warehouse_path)


def test_cli_backfill_tags_runs_loads_and_is_idempotent(cli_env, warehouse_path):
    first = _backfill(cli_env)
    assert first.returncode == 0, first.stderr[-3000:]

    with DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs(filters=RunsFilter(pipeline_name="flights_daily_pipeline"))
        assert sorted(run.tags["dagster/partition"] for run in runs) == DAYS
        assert {run.tags["dagster/partition_set"] for run in runs} == {"flights_daily_partition_set"}
        assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
        assert len({run.tags["dagster/backfill"] for run in runs}) == 1

    counts = read_table(
        warehouse_path, "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n FROM flights GROUP BY 1 ORDER BY 1"
    )
    assert counts.day.tolist() == DAYS
    assert counts.n.tolist() == [len(flights_on(date.fromisoformat(day))) for day in DAYS]

    before = snapshot(warehouse_path)
    second = _backfill(cli_env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert_same_snapshot(before, snapshot(warehouse_path))


def test_status_wait_gives_up_on_runs_that_never_finish(cli_env):
    from flights_etl.partitions import flights_daily_partition_set
    from flights_etl.pipelines.flights_daily import flights_daily_pipeline

    partition = flights_daily_partition_set.get_partition("2013-01-05")
    with DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        instance.create_run_for_pipeline(  # created, never launched: stays NOT_STARTED
            pipeline_def=flights_daily_pipeline,
            run_config=flights_daily_partition_set.run_config_for_partition(partition),
            tags=flights_daily_partition_set.tags_for_partition(partition),
        )
    result = subprocess.run(
        [os.path.join(BIN, "flights-etl"), "status", "--wait", "1", "--no-list"],
        cwd=PROJECT_ROOT, env=cli_env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "1 runs of flights_daily_partition_set still queued or running after 1 s: 2013-01-05" in result.stderr
