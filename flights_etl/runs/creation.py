"""Runs and backfill records created as ``dagster pipeline backfill`` creates them."""
import contextlib
import io
from typing import Dict, List

import pendulum
from dagster import DagsterInstance, PipelineRun
from sqlalchemy.exc import IntegrityError

from flights_etl.dagster_private import (
    BulkActionStatus,
    ExternalPartitionSetOrigin,
    ExternalRepositoryOrigin,
    PartitionBackfill,
)

SNAPSHOT_KINDS = 2  # a run stores its pipeline's snapshot and its execution plan's


def create_run_for_pipeline(instance: DagsterInstance, **run_args) -> PipelineRun:
    """``instance.create_run_for_pipeline``, surviving a race in Dagster 0.15's snapshot storage.

    Creating a run first checks whether the pipeline's snapshot, then its execution plan's, is
    stored and, if not, inserts it. Two processes creating runs of a new snapshot at the same
    moment (two backfills started together) can both find it missing; the second insert then
    fails on the ``snapshots`` table's unique key before any run row is written. By then that
    snapshot is stored, so trying again moves on; each snapshot can be lost at most once.
    """
    for _ in range(SNAPSHOT_KINDS):
        try:
            return _quietly_created(instance, run_args)
        except IntegrityError as error:
            if "snapshot" not in str(error).lower():
                raise
    return _quietly_created(instance, run_args)


def _quietly_created(instance: DagsterInstance, run_args: dict) -> PipelineRun:
    """Dagster 0.15 also prints each ASSET_MATERIALIZATION_PLANNED event it stores to stderr (a
    DEBUG console logger of its own, which writes to whatever ``sys.stderr`` is): three lines per
    run that would bury a backfill's progress. The events are stored as usual; errors still raise."""
    with contextlib.redirect_stderr(io.StringIO()):
        return instance.create_run_for_pipeline(**run_args)


def record_backfill(
    instance: DagsterInstance,
    backfill_id: str,
    repo_origin: ExternalRepositoryOrigin,
    partition_set_name: str,
    partition_names: List[str],
    tags: Dict[str, str],
) -> None:
    """Add the backfill to the instance as ``dagster pipeline backfill`` does once it has submitted
    its runs (status COMPLETED, so the daemon never launches it again)."""
    instance.add_backfill(
        PartitionBackfill(
            backfill_id=backfill_id,
            partition_set_origin=ExternalPartitionSetOrigin(repo_origin, partition_set_name),
            status=BulkActionStatus.COMPLETED,
            partition_names=partition_names,
            from_failure=False,
            reexecution_steps=None,
            tags=tags,
            backfill_timestamp=pendulum.now("UTC").timestamp(),
        )
    )
