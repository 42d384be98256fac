"""The ``$DAGSTER_HOME`` instance as a backfill worker writes to it, cheaply.

A backfill worker records many runs in a row: on SQLite its event log keeps each run's file open
(``sqlite_event_log``); on PostgreSQL the run and event storages keep one connection open (after
a server restart the first call fails and the pool reconnects); every statement still commits as
before, events with ``synchronous_commit=off`` (the same trade-off as SQLite's
``synchronous=NORMAL``: a crash of the database server may drop the last events of a run, never
a run's status).
"""
import sys

from dagster import DagsterInstance

from flights_etl import settings
from flights_etl.dagster_private import ConfigurableClassData, InstanceRef
from flights_etl.instance import sqlite_event_log, sqlite_run_storage
from flights_etl.instance.sqlite_event_log import KeptOpenSqliteEventLogStorage
from flights_etl.instance.sqlite_run_storage import KeptOpenSqliteRunStorage

NOOP_COMPUTE_LOGS = {
    "module": "dagster.core.storage.noop_compute_log_manager",
    "class": "NoOpComputeLogManager",
    "config": {},
}

POOLING_ENV = settings.BACKFILL_POOLING  # "off": Dagster's own connection per call (to measure it)


def worker_instance() -> DagsterInstance:
    """The ``$DAGSTER_HOME`` instance as a backfill worker should write to it, cheaply.

    Two parts of a small run's cost are Dagster's bookkeeping rather than its data: capturing
    stdout/stderr per step (dropped: NoOpComputeLogManager) and reaching the storage (see
    ``kept_open_instance``). Run events, statuses and materializations are recorded as usual.
    """
    return kept_open_instance(overrides={"compute_logs": NOOP_COMPUTE_LOGS})


def kept_open_instance(overrides=None) -> DagsterInstance:
    """The ``$DAGSTER_HOME`` instance with its storage kept open: on SQLite, ``runs.db`` and each
    run's event file stay open (``sqlite_run_storage``, ``sqlite_event_log``); on PostgreSQL, the
    run and event storages keep their connections. What is stored is what Dagster stores."""
    home = settings.read(settings.DAGSTER_HOME)
    if not home:
        return DagsterInstance.get()  # raises Dagster's own clear error about DAGSTER_HOME
    ref = InstanceRef.from_dir(home, overrides=overrides)
    replaced = {}
    for field, module, ours in (
        ("event_storage_data", sqlite_event_log, KeptOpenSqliteEventLogStorage),
        ("run_storage_data", sqlite_run_storage, KeptOpenSqliteRunStorage),
    ):
        data = getattr(ref, field)
        if data.module_name.split(".")[0] == "dagster" and data.class_name == module.DAGSTER_STORAGE_CLASS:
            replaced[field] = ConfigurableClassData(ours.__module__, ours.__name__, data.config_yaml)
    if replaced:
        # Without the unified storage the instance is built from its three storages one by one.
        ref = ref._replace(storage_data=None, **replaced)
    return pool_postgres_connections(DagsterInstance.from_ref(ref))


def pool_postgres_connections(instance: DagsterInstance) -> DagsterInstance:
    """On dagster-postgres storage, let the run and event storages keep one connection open."""
    # An instance on dagster-postgres has imported it: without it (no .[postgres]) there is nothing to pool.
    if settings.text(POOLING_ENV).lower() == "off" or "dagster_postgres" not in sys.modules:
        return instance
    from dagster_postgres.event_log import PostgresEventLogStorage
    from dagster_postgres.run_storage import PostgresRunStorage

    from flights_etl.instance.postgres.pool import keep_connections

    for storage in (instance.run_storage, instance.event_log_storage):
        if isinstance(storage, PostgresRunStorage):
            keep_connections(storage, pool_size=1, max_overflow=4)
        elif isinstance(storage, PostgresEventLogStorage):
            # Events commit without waiting for the WAL flush, as SQLite's synchronous=NORMAL:
            # a crash of the server (not of a worker) may lose the last events, never run statuses.
            keep_connections(storage, pool_size=1, max_overflow=4, options="-c synchronous_commit=off")
    return instance


def release_run(instance: DagsterInstance, run_id: str) -> None:
    """Close what the worker's event storage keeps open for a finished run."""
    storage = instance.event_log_storage
    if isinstance(storage, KeptOpenSqliteEventLogStorage):
        storage.release(run_id)
