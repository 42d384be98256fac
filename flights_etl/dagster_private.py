"""Every private Dagster 0.15.10 API the project needs, re-exported: imports only, no logic.

Running partitions in-process yet recording them as ``dagster pipeline backfill`` does (same
tags, same code origin, a backfill record for Dagit), the instance's storages (``instance/``) and
the fleet's run launcher need names 0.15.10 does not export at top level. If a Dagster upgrade
moves them, this is the only module to change.
"""
# ruff: noqa: F401  (every name here is a re-export)
from dagster._config import traversal_context as config_traversal_context
from dagster._config import validate as config_validate
from dagster._config.iterate_types import iterate_config_types
from dagster._config.snap import ConfigSchemaSnapshot, snap_from_config_type
from dagster._core.definitions import scoped_resources_builder
from dagster._core.events import (
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
    AssetMaterializationPlannedData,
    ComputeLogsCaptureData,
    EngineEventData,
)
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.host_representation.origin import (
    ExternalPartitionSetOrigin,
    ExternalPipelineOrigin,
    ExternalRepositoryOrigin,
)
from dagster._core.instance.ref import InstanceRef
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._core.snap import snapshot_from_execution_plan
from dagster._core.snap.execution_plan_snapshot import create_execution_plan_snapshot_id
from dagster._core.storage.event_log import (
    AssetKeyTable,
    SqlEventLogStorage,
    SqlEventLogStorageMetadata,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
)
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.pipeline_run import RunsFilter
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.sql import get_alembic_config
from dagster._core.storage.tags import BACKFILL_ID_TAG, RUN_KEY_TAG
from dagster._core.utils import make_new_backfill_id
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._daemon.auto_run_reexecution.auto_run_reexecution import filter_runs_to_should_retry
from dagster._daemon.auto_run_reexecution.event_log_consumer import _create_cursor_key as event_log_consumer_cursor_key
from dagster._serdes import ConfigurableClass, ConfigurableClassData, deserialize_as, serialize_dagster_namedtuple
from dagster._utils.error import serializable_error_info_from_exc_info
from dagster._utils.hosted_user_process import recon_pipeline_from_origin
