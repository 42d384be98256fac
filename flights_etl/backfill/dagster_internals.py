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
from dagster import DagsterInstance
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

NOOP_COMPUTE_LOGS = {
    "module": "dagster.core.storage.noop_compute_log_manager",
    "class": "NoOpComputeLogManager",
    "config": {},
}


def repository_origin(workspace_yaml: str, repository_name: str) -> ExternalRepositoryOrigin:
    """The origin Dagit and ``dagster pipeline backfill`` give the repository loaded by ``workspace_yaml``."""
    (location_origin,) = location_origins_from_yaml_paths([os.path.abspath(workspace_yaml)])
    return ExternalRepositoryOrigin(location_origin, repository_name)


def pipeline_origin(repo_origin: ExternalRepositoryOrigin, pipeline_name: str) -> ExternalPipelineOrigin:
    return ExternalPipelineOrigin(repo_origin, pipeline_name)


def instance_without_compute_logs() -> DagsterInstance:
    """The ``$DAGSTER_HOME`` instance, but not capturing stdout/stderr per step (a large share of
    a small run's cost); run events, statuses and materializations are recorded as usual."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.get()  # raises Dagster's own clear error about DAGSTER_HOME
    return DagsterInstance.from_ref(InstanceRef.from_dir(home, overrides={"compute_logs": NOOP_COMPUTE_LOGS}))


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
