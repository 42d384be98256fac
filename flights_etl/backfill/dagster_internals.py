"""Every private Dagster 0.15.10 API the project needs, in one place.

``dagster pipeline backfill`` launches one subprocess per partition. To run partitions
in-process yet record them exactly as that command does (same tags, same code origin so Dagit
can re-execute them, a backfill record for Dagit's Backfills page) we need a few names that
0.15.10 does not export at top level, and the workers' cheaper view of the instance reaches
into Dagster's storages (below). If a Dagster upgrade moves them, this is the only module to
change.

The workers' storages. Dagster 0.15's ``SqliteEventLogStorage`` writes each run's events to its
own SQLite file and, for every single event, creates a SQLAlchemy engine, opens the file,
inserts, commits with an fsync, closes the file (a WAL checkpoint) and throws the engine away;
a new run's file is checked and stamped by loading all of Alembic's migration scripts, twice,
and each table and index is committed separately. dagster-postgres 0.15.10's storages open a new
database connection (``NullPool``) for every storage call. A daily run records about 46 events,
so this bookkeeping cost more than the partition's data work. A backfill worker records many
runs in a row, so:
- SQLite: ``KeptOpenSqliteEventLogStorage`` keeps one engine and connection per database file
  until the run is released; creates a run's file with the same tables, indexes, WAL mode and
  Alembic stamp in one commit, with the head revision looked up once per process; commits
  every event as it happens, with ``synchronous=NORMAL`` on its own connections: SQLite's
  setting for WAL mode that stays consistent and survives a crash of the process (Ctrl-C, kill,
  OOM) but not of the machine, where a power loss may drop the last events of a run's log.
- PostgreSQL: ``pool_postgres_connections`` gives the run and event storages an engine that
  keeps its connection open (after a server restart the first call fails and the pool reconnects),
  as Dagit's own ``optimize_for_dagit`` does; every statement still commits as before, events
  with ``synchronous_commit=off`` (the same trade-off as SQLite's ``synchronous=NORMAL``: a
  crash of the database server may drop the last events of a run, never a run's status).
The files and rows are the ones Dagster writes, so Dagit and ``dagster`` read them as before.
"""
import os
import time
from contextlib import contextmanager
from functools import lru_cache
from typing import Dict, List

import pendulum
import sqlalchemy as db
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from dagster import DagsterInstance, PipelineRun
from dagster._core.events import (
    EVENT_TYPE_TO_PIPELINE_RUN_STATUS,
    EngineEventData,  # noqa: F401  (re-exported: tests record a failed launch as Dagster does)
)
from dagster._core.execution.api import execute_run  # noqa: F401  (re-exported)
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.host_representation.origin import (
    ExternalPartitionSetOrigin,
    ExternalPipelineOrigin,
    ExternalRepositoryOrigin,
)
from dagster._core.instance.ref import InstanceRef
from dagster._core.launcher import (  # noqa: F401  (re-exported: the fleet's run launcher)
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.storage.event_log import SqlEventLogStorageMetadata, SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.pipeline_run import RunsFilter  # noqa: F401  (re-exported)
from dagster._core.storage.sql import get_alembic_config
from dagster._core.storage.tags import BACKFILL_ID_TAG, RUN_KEY_TAG  # noqa: F401  (re-exported)
from dagster._core.utils import make_new_backfill_id  # noqa: F401  (re-exported)
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._serdes import ConfigurableClass, ConfigurableClassData  # noqa: F401  (re-exported)
from dagster._utils.error import serializable_error_info_from_exc_info  # noqa: F401  (re-exported)
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.storage import DagsterPostgresStorage
from dagster_postgres.utils import pg_url_from_config
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from flights_etl import settings
from flights_etl.runs.statuses import ENDED as ENDED_STATUSES

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
    stdout/stderr per step (dropped: NoOpComputeLogManager) and reaching the storage (SQLite:
    the run's event file kept open; PostgreSQL: connections kept open; see the module's
    docstring). Run events, statuses and materializations are recorded as usual.
    """
    home = settings.read(settings.DAGSTER_HOME)
    if not home:
        return DagsterInstance.get()  # raises Dagster's own clear error about DAGSTER_HOME
    ref = InstanceRef.from_dir(home, overrides={"compute_logs": NOOP_COMPUTE_LOGS})
    events = ref.event_storage_data
    if events.module_name.split(".")[0] == "dagster" and events.class_name == DAGSTER_STORAGE_CLASS:
        kept_open = ConfigurableClassData(
            __name__, KeptOpenSqliteEventLogStorage.__name__, events.config_yaml
        )
        # Without the unified storage the instance is built from its three storages one by one.
        ref = ref._replace(storage_data=None, event_storage_data=kept_open)
    return pool_postgres_connections(DagsterInstance.from_ref(ref))


POOLING_ENV = settings.BACKFILL_POOLING  # "off": Dagster's own connection per call (to measure it)


def pool_postgres_connections(instance: DagsterInstance) -> DagsterInstance:
    """On dagster-postgres storage, let the run and event storages keep one connection open."""
    if settings.text(POOLING_ENV).lower() == "off":
        return instance
    for storage in (instance.run_storage, instance.event_log_storage):
        if isinstance(storage, PostgresRunStorage):
            _keep_connections(storage, pool_size=1, max_overflow=4)
        elif isinstance(storage, PostgresEventLogStorage):
            # Events commit without waiting for the WAL flush, as SQLite's synchronous=NORMAL above:
            # a crash of the server (not of a worker) may lose the last events, never run statuses.
            _keep_connections(storage, pool_size=1, max_overflow=4, options="-c synchronous_commit=off")
    return instance


# --- PostgreSQL storage that keeps its connections, for every process of a shared instance -------
#
# dagster-postgres 0.15.10 connects anew for every storage call (NullPool); with SCRAM password
# authentication that costs ~10 ms of CPU each, ~30 calls for each run the daemon submits from a
# Dagit backfill. ``storage: custom: PooledPostgresStorage`` (deploy/postgres and deploy/fleet)
# is dagster-postgres' own storage with a small pool of connections (a connection the server
# dropped fails one call, then the pool reconnects: no ping before every call, ~75 per run).

def _keep_connections(storage, pool_size: int = 2, max_overflow: int = 8, options: str = "") -> None:
    """Replace a dagster-postgres storage's NullPool engine by one that keeps connections."""
    previous = storage._engine
    storage._engine = db.create_engine(
        storage.postgres_url, isolation_level="AUTOCOMMIT", pool_size=pool_size, max_overflow=max_overflow,
        connect_args={"options": options} if options else {},
    )
    previous.dispose()


class _FromPostgresConfig:
    """``from_config_value`` as dagster-postgres' storages read their config, for the class it is called on."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(pg_url_from_config(config_value), config_value.get("should_autocreate_tables", True), inst_data)


class _KeepsConnections(_FromPostgresConfig):
    def __init__(self, postgres_url, should_autocreate_tables=True, inst_data=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data)
        _keep_connections(self)


class PooledPostgresRunStorage(_KeepsConnections, PostgresRunStorage):
    def __init__(self, postgres_url, should_autocreate_tables=True, inst_data=None):
        self._schema_has = {}  # before Dagster's __init__, which may already ask
        super().__init__(postgres_url, should_autocreate_tables, inst_data)

    # Dagster 0.15 reflects the runs table's columns (several catalog queries) on every run event
    # and partition query to learn whether a migration has run; once it has, it stays run.
    def has_run_stats_index_cols(self):
        if not self._schema_has.get("run_stats"):
            self._schema_has["run_stats"] = super().has_run_stats_index_cols()
        return self._schema_has["run_stats"]

    def has_bulk_actions_selector_cols(self):
        if not self._schema_has.get("bulk_actions"):
            self._schema_has["bulk_actions"] = super().has_bulk_actions_selector_cols()
        return self._schema_has["bulk_actions"]

    # A run that ended (declared dead by run monitoring or the watchdog, terminated, finished) may
    # still be executing somewhere (a frozen worker that resumes): its late end event is kept in
    # its log, but never brings its status back to life (FAILURE -> SUCCESS). The warehouse's
    # fencing refuses its late commit (runs/fence.py).
    def handle_run_event(self, run_id, event):
        new_status = EVENT_TYPE_TO_PIPELINE_RUN_STATUS.get(event.event_type)
        if new_status is not None:
            run = self.get_run_by_id(run_id)
            if run is not None and run.status in ENDED_STATUSES and new_status != run.status:
                return
        super().handle_run_event(run_id, event)


class PooledPostgresEventLogStorage(_KeepsConnections, PostgresEventLogStorage):
    pass


class PooledPostgresScheduleStorage(_KeepsConnections, PostgresScheduleStorage):
    pass


class PooledPostgresStorage(_FromPostgresConfig, DagsterPostgresStorage):
    """dagster-postgres' storage (runs, events, schedules) keeping a few connections open."""

    def __init__(self, postgres_url, should_autocreate_tables=True, inst_data=None):
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        self._run_storage = PooledPostgresRunStorage(postgres_url, should_autocreate_tables)
        self._event_log_storage = PooledPostgresEventLogStorage(postgres_url, should_autocreate_tables)
        self._schedule_storage = PooledPostgresScheduleStorage(postgres_url, should_autocreate_tables)
        super(DagsterPostgresStorage, self).__init__()

    # What subprocesses rebuild each storage from: the pooled classes too.
    def _pooled_data(self, storage_class) -> "ConfigurableClassData":
        return ConfigurableClassData(__name__, storage_class.__name__, self.inst_data.config_yaml) if self.inst_data else None

    @property
    def event_storage_data(self):
        return self._pooled_data(PooledPostgresEventLogStorage)

    @property
    def run_storage_data(self):
        return self._pooled_data(PooledPostgresRunStorage)

    @property
    def schedule_storage_data(self):
        return self._pooled_data(PooledPostgresScheduleStorage)


def release_run(instance: DagsterInstance, run_id: str) -> None:
    """Close what the worker's event storage keeps open for a finished run."""
    storage = instance.event_log_storage
    if isinstance(storage, KeptOpenSqliteEventLogStorage):
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


# --- the workers' storages ----------------------------------------------------------------

# The storage this one stands in for, as an instance's configuration names it.
DAGSTER_STORAGE_CLASS = "SqliteEventLogStorage"


@lru_cache(maxsize=None)
def _alembic_scripts() -> ScriptDirectory:
    """Dagster's event-log migration scripts, loaded once per process."""
    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))


def _sync_normal(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


# What another process initializing the same new file at the same moment makes us see (the
# daemon's run-status sensors open every recently updated run's file with Dagster's own set-up,
# which retries on the same messages).
_CONCURRENT_INIT = (
    "already exists",
    "database is locked",
    "UNIQUE constraint failed: alembic_version.version_num",
)


def _init_run_db(engine, attempts: int = 50) -> None:
    """What Dagster's set-up does to a run's new file (tables, WAL mode, Alembic stamp at head),
    without reloading the migration scripts for every run."""
    for attempt in range(attempts):
        try:
            with engine.connect() as connection:
                migrations = MigrationContext.configure(connection)
                if migrations.get_current_revision() is not None:
                    return
                connection.execute("PRAGMA journal_mode=WAL;")
                with connection.begin():  # one commit for all tables, indexes and the stamp
                    SqlEventLogStorageMetadata.create_all(connection)
                    migrations.stamp(_alembic_scripts(), "head")
                return
        except db.exc.DatabaseError as error:  # OperationalError, IntegrityError
            if attempt == attempts - 1 or not any(text in str(error) for text in _CONCURRENT_INIT):
                raise
            time.sleep(0.05)  # the other process is on it: look again once it has committed


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that keeps each database file open until its run is released."""

    def __init__(self, base_dir, inst_data=None):
        self._engines = {}  # set before Dagster's __init__, which may already write the index
        super().__init__(base_dir, inst_data)

    @staticmethod
    def from_config_value(inst_data, config_value):
        return KeptOpenSqliteEventLogStorage(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard):
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = db.create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=StaticPool,  # one connection, reused
                    connect_args={"check_same_thread": False},  # only ever used under _db_lock
                )
                db.event.listen(engine, "connect", _sync_normal)
                if shard not in self._initialized_dbs:
                    if shard == sqlite_event_log.INDEX_SHARD_NAME:
                        self._initdb(engine)  # shared with other processes: Dagster's own set-up
                    else:
                        _init_run_db(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
            with engine.connect() as connection:
                yield connection

    def release(self, run_id: str) -> None:
        """Close the run's database file: its run has finished and gets no more events."""
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
        if engine is not None:
            engine.dispose()

    def dispose(self):
        with self._db_lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()
        super().dispose()


# --- Dagit's GraphQL --------------------------------------------------------------------------

def keep_backfill_partition_ids_apart() -> None:
    """dagster-graphql 0.15.10 gives a backfill's partitions that have no run yet the GraphQL id of the
    partition set's own status of that partition (``<set>:<partition>``, without the backfill's
    ``:<backfill id>`` suffix its other partitions get). Dagit's cache merges objects by id, so the
    backfill table's "no run yet" overwrote the Partitions tab's status: loaded days turned grey
    and *Missing* jumped until the daemon created the runs. Give them the suffix too (idempotent;
    ``flights-dagit`` calls it before serving)."""
    from dagster_graphql.schema import backfill

    original = backfill.partition_statuses_from_run_partition_data
    if getattr(original, "keeps_backfill_ids_apart", False):
        return

    def statuses_with_backfill_ids(partition_set_name, run_partition_data, partition_names, backfill_id=None):
        statuses = original(partition_set_name, run_partition_data, partition_names, backfill_id=backfill_id)
        if backfill_id:
            for status in statuses.results:
                if not status.id.endswith(f":{backfill_id}"):
                    status.id = f"{status.id}:{backfill_id}"
        return statuses

    statuses_with_backfill_ids.keeps_backfill_ids_apart = True
    backfill.partition_statuses_from_run_partition_data = statuses_with_backfill_ids
