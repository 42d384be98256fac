"""Runs and backfill records created as ``dagster pipeline backfill`` creates them."""
import contextlib
import io
from typing import Dict, List, Optional, Tuple

import pendulum
from dagster import DagsterInstance, PipelineDefinition, PipelineRun
from sqlalchemy.exc import IntegrityError

from flights_etl.dagster_private import (
    BulkActionStatus,
    ExternalPartitionSetOrigin,
    ExternalRepositoryOrigin,
    PartitionBackfill,
    create_execution_plan,
    create_execution_plan_snapshot_id,
    snapshot_from_execution_plan,
)
from flights_etl.instance.dagster_instance import planned_assets, record_planned_assets

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


class RunMaker:
    """Creates many runs of one pipeline and mode as ``instance.create_run_for_pipeline`` does, with
    the execution plan, the two snapshots and their ids built, hashed and stored once.

    Dagster 0.15 rebuilds the plan (validating the run config), rebuilds and hashes both snapshots
    and looks each up in the run storage for every run it creates. Here the first run is created by
    Dagster itself; the next ones are the same run record (same snapshot ids, tags, origins, the
    same ASSET_MATERIALIZATION_PLANNED events) with their own id, config and tags. That holds only
    while every run's config gives the same plan, so ``plans_agree`` compares the plans of two of
    them (a backfill's first and last partition): a pipeline whose plan depends on its partition's
    config is created the stock way. A run's config is still validated where it runs.
    """

    def __init__(self, instance: DagsterInstance, pipeline_def: PipelineDefinition, mode: str):
        self.instance, self.pipeline_def, self.mode = instance, pipeline_def, mode
        self.shared = True
        self._made: Optional[Tuple[str, str, List]] = None  # snapshot ids and planned asset keys of the first run

    def plans_agree(self, *run_configs: dict) -> bool:
        """Whether these configs give the pipeline one execution plan; if not, every run is created the stock way."""
        snapshot_id = self.pipeline_def.get_pipeline_snapshot_id()
        ids = {
            create_execution_plan_snapshot_id(snapshot_from_execution_plan(
                create_execution_plan(self.pipeline_def, run_config=config, mode=self.mode), snapshot_id))
            for config in run_configs
        }
        self.shared = len(ids) == 1
        return self.shared

    def create(self, run_id: str, run_config: dict, tags: Dict[str, str], **origins) -> PipelineRun:
        if self._made is None or not self.shared:
            run = create_run_for_pipeline(self.instance, pipeline_def=self.pipeline_def, run_id=run_id,
                                          run_config=run_config, mode=self.mode, tags=tags, **origins)
            if self._made is None and self.shared:
                plan = self.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
                self._made = (run.pipeline_snapshot_id, run.execution_plan_snapshot_id, planned_assets(plan))
            return run
        pipeline_snapshot_id, plan_snapshot_id, assets = self._made
        run = self.instance.add_run(PipelineRun(
            pipeline_name=self.pipeline_def.name, run_id=run_id, run_config=run_config, mode=self.mode, tags=tags,
            pipeline_snapshot_id=pipeline_snapshot_id, execution_plan_snapshot_id=plan_snapshot_id, **origins,
        ))
        record_planned_assets(self.instance, run_id, run.pipeline_name, assets)  # as Dagster's create_run does
        return run


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
