"""Every private Dagster 0.15.10 API the backfill runner needs, in one place.

``dagster pipeline backfill`` launches one subprocess per partition. To run
partitions in-process yet record them exactly as that command does (same tags,
same code origin so Dagit can re-execute them, a backfill record for Dagit's
Backfills page) we need a few names that 0.15.10 does not export at top level.
If a Dagster upgrade moves them, this is the only module to change.
"""
import os
from typing import Dict, List

import pendulum
from dagster import DagsterInstance, PipelineRun
from dagster._core.execution.api import execute_run  # noqa: F401  (re-exported)
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.host_representation.origin import (
    ExternalPartitionSetOrigin,
    ExternalPipelineOrigin,
    ExternalRepositoryOrigin,
)
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.pipeline_run import RunsFilter  # noqa: F401  (re-exported)
from dagster._core.storage.tags import BACKFILL_ID_TAG  # noqa: F401  (re-exported)
from dagster._core.utils import make_new_backfill_id  # noqa: F401  (re-exported)
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._serdes import ConfigurableClassData
from sqlalchemy.exc import IntegrityError

from flights_etl.backfill import event_log

SNAPSHOT_KINDS = 2  # a run stores its pipeline's snapshot and its execution plan's

NOOP_COMPUTE_LOGS = {
    "module": "dagster.core.storage.noop_compute_log_manager",
    "class": "NoOpComputeLogManager",
    "config": {},
}


def repository_from_workspace(workspace_yaml: str):
    """The RepositoryDefinition the workspace's (single) code location loads, imported here."""
    import importlib

    from dagster import RepositoryDefinition

    (location_origin,) = location_origins_from_yaml_paths([os.path.abspath(workspace_yaml)])
    target = location_origin.loadable_target_origin
    module = importlib.import_module(target.package_name or target.module_name)
    if target.attribute:
        return getattr(module, target.attribute)
    (repository,) = [value for value in vars(module).values() if isinstance(value, RepositoryDefinition)]
    return repository


def repository_origin(workspace_yaml: str, repository_name: str) -> ExternalRepositoryOrigin:
    """The origin Dagit and ``dagster pipeline backfill`` give the repository loaded by ``workspace_yaml``."""
    (location_origin,) = location_origins_from_yaml_paths([os.path.abspath(workspace_yaml)])
    return ExternalRepositoryOrigin(location_origin, repository_name)


def pipeline_origin(repo_origin: ExternalRepositoryOrigin, pipeline_name: str) -> ExternalPipelineOrigin:
    return ExternalPipelineOrigin(repo_origin, pipeline_name)


def worker_instance() -> DagsterInstance:
    """The ``$DAGSTER_HOME`` instance as a backfill worker should write to it, cheaply.

    Two parts of a small run's cost are Dagster's bookkeeping rather than its data: capturing
    stdout/stderr per step (dropped: NoOpComputeLogManager) and, with the default SQLite storage,
    reopening an event database for every event (the same files, kept open instead: see
    ``event_log.py``). Run events, statuses and materializations are recorded as usual.
    """
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.get()  # raises Dagster's own clear error about DAGSTER_HOME
    ref = InstanceRef.from_dir(home, overrides={"compute_logs": NOOP_COMPUTE_LOGS})
    events = ref.event_storage_data
    if events.module_name.split(".")[0] == "dagster" and events.class_name == event_log.DAGSTER_STORAGE_CLASS:
        kept_open = ConfigurableClassData(
            event_log.__name__, event_log.KeptOpenSqliteEventLogStorage.__name__, events.config_yaml
        )
        # Without the unified storage the instance is built from its three storages one by one.
        ref = ref._replace(storage_data=None, event_storage_data=kept_open)
    return DagsterInstance.from_ref(ref)


def release_run(instance: DagsterInstance, run_id: str) -> None:
    """Close what the worker's event storage keeps open for a finished run."""
    storage = instance.event_log_storage
    if isinstance(storage, event_log.KeptOpenSqliteEventLogStorage):
        storage.release(run_id)


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
            return instance.create_run_for_pipeline(**run_args)
        except IntegrityError as error:
            if "snapshot" not in str(error).lower():
                raise
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
