"""The third pipeline of ``tests/extension`` (added by its own definitions only) runs on the worker
fleet: `flights-etl backfill` through the Celery run launcher, executed by a real `flights-etl worker`
that rebuilds the pipeline from each run's own code origin."""
from dagster import PipelineRunStatus

from flights_etl.fleet.execution import WORKER_TAG
from tests.backfill.cli_helpers import flights_etl
from tests.extension.test_third_pipeline import SET, assert_counts_right, counts_env, runs_of_set, workspace_file
from tests.fleet.conftest import instance_of


def test_a_third_pipeline_runs_on_the_fleet(fleet_env, start_worker, tmp_path):
    env = counts_env(fleet_env, tmp_path)
    workspace = workspace_file(tmp_path)
    start_worker(env, "w1", concurrency=2)
    days = ["2013-01-10", "2013-01-11", "2013-01-12"]
    done = flights_etl(env, "backfill", "--workspace", workspace, "--partition-set", SET,
                       "--from", days[0], "--to", days[-1], timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "on the worker fleet (queue flights)" in done.stdout
    assert_counts_right(env, days)
    with instance_of(env) as instance:
        runs = runs_of_set(instance)
        assert sorted(run.tags["dagster/partition"] for run in runs) == days
        assert all(run.status == PipelineRunStatus.SUCCESS and run.tags[WORKER_TAG].startswith("w1") for run in runs)
