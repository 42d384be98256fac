"""Several processes creating their first run of the pipeline at the same instant all succeed.

Dagster 0.15 checks for the pipeline snapshot and then inserts it, so processes that start
together can collide on the ``snapshots`` table (seen in CI with two overlapping backfills).
"""
import multiprocessing

import pytest
from dagster import DagsterInstance

from flights_etl.runs import creation
from tests.helpers import daily_run_args

pytestmark = pytest.mark.slow

PROCESSES = 6
ATTEMPTS = 5  # fresh instances, so each attempt races on a snapshot no one has stored yet


def _create_first_run(home: str, partition_name: str, barrier) -> str:
    with DagsterInstance.from_config(home) as instance:
        run_args = daily_run_args(partition_name)
        barrier.wait()
        try:
            return creation.create_run_for_pipeline(instance, **run_args).run_id
        except Exception as error:  # returned as text: sqlalchemy errors do not pickle
            return f"failed: {error!r}"


def test_simultaneous_first_runs_of_a_new_snapshot_all_get_created(tmp_path):
    context = multiprocessing.get_context("spawn")
    days = [f"2013-01-{day:02d}" for day in range(1, PROCESSES + 1)]
    with context.Manager() as manager, context.Pool(PROCESSES) as pool:
        for attempt in range(ATTEMPTS):
            home = tmp_path / f"home{attempt}"
            home.mkdir()
            (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            with DagsterInstance.from_config(str(home)) as instance:
                instance.get_runs(limit=1)  # storage created once, before the race we mean to test
            barrier = manager.Barrier(PROCESSES)
            run_ids = pool.starmap(_create_first_run, [(str(home), day, barrier) for day in days])
            assert not [run_id for run_id in run_ids if run_id.startswith("failed")], run_ids
            with DagsterInstance.from_config(str(home)) as instance:
                runs = instance.get_runs()
            assert sorted(run.run_id for run in runs) == sorted(run_ids)
            assert sorted(run.tags["dagster/partition"] for run in runs) == days
