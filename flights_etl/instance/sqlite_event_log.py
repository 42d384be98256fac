"""The workers' SQLite event log: ``KeptOpenSqliteEventLogStorage``.

Dagster 0.15's ``SqliteEventLogStorage`` writes each run's events to its own SQLite file and, for
every single event, creates a SQLAlchemy engine, opens the file, inserts, commits with an fsync,
closes the file (a WAL checkpoint) and throws the engine away; a new run's file is checked and
stamped by loading all of Alembic's migration scripts, twice, and each table and index is
committed separately. This storage keeps one engine and connection per database file until the
run is released (at most ``MAX_OPEN_RUN_FILES`` at a time); creates a run's file as a copy of a
new one (the same tables, indexes, WAL mode and Alembic stamp, built once per process in one
commit); inserts a run's events with one prepared statement instead of building a SQLAlchemy
statement per event (an asset event is also mirrored into the index shard and its asset's entry
updated, in one commit);
commits every event as it happens, with ``synchronous=NORMAL`` on its own connections: SQLite's setting for WAL mode that stays
consistent and survives a crash of the process (Ctrl-C, kill, OOM) but not of the machine, where a
power loss may drop the last events of a run's log.
"""
import os
import shutil
import tempfile
import time
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

import sqlalchemy as db
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool, StaticPool

from flights_etl.dagster_private import (
    AssetKeyTable,
    SqlEventLogStorageMetadata,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
    get_alembic_config,
    serialize_dagster_namedtuple,
    sqlite_event_log,
)

# The storage this one stands in for, as an instance's configuration names it.
DAGSTER_STORAGE_CLASS = "SqliteEventLogStorage"
MAX_OPEN_RUN_FILES = 16  # a process that records events of many runs (a backfill's parent) closes the oldest
# The row Dagster's prepare_insert_event builds, as one prepared statement; timestamps as SQLAlchemy
# stores a DateTime in SQLite (naive UTC, microseconds).
_INSERT_EVENT = (
    f"INSERT INTO {SqlEventLogStorageTable.name} "
    "(run_id, event, dagster_event_type, timestamp, step_key, asset_key, partition) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@lru_cache(maxsize=None)
def _alembic_scripts() -> ScriptDirectory:
    """Dagster's event-log migration scripts, loaded once per process."""
    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))


def _sql_value(value):
    """A value as SQLAlchemy stores it in SQLite (a DateTime: naive, microseconds)."""
    return value.strftime(_TIMESTAMP_FORMAT) if isinstance(value, datetime) else value


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


@lru_cache(maxsize=None)
def _new_run_file() -> bytes:
    """The bytes of a new run's file as ``_init_run_db`` leaves it, built once per process."""
    folder = tempfile.mkdtemp(prefix="flights-run-file-")
    try:
        path = os.path.join(folder, "new.db")
        engine = db.create_engine(f"sqlite:///{path}", poolclass=NullPool)
        try:
            _init_run_db(engine)
        finally:
            engine.dispose()  # the last connection closed: the WAL is checkpointed into the file and removed
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _created_from_template(path: str) -> bool:
    """Create a run's file at ``path`` as a copy of a new one (one write instead of ~40 statements and a
    commit); False if the file exists already (another process created it first: it is set up as usual)."""
    if os.path.exists(path):
        return False
    staged = f"{path}.{os.getpid()}.new"
    try:
        with open(staged, "wb") as handle:  # a full disk fails it half-written: removed below all the same
            handle.write(_new_run_file())
        os.link(staged, path)  # never replaces a file another process created meanwhile
        return True
    except FileExistsError:
        return False
    finally:
        try:
            os.unlink(staged)
        except FileNotFoundError:
            pass


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that keeps each database file open until its run is released."""

    def __init__(self, base_dir, inst_data=None):
        self._engines = OrderedDict()  # set before Dagster's __init__, which may already write the index
        self._asset_key_index_cols = None
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
                    elif not _created_from_template(self.path_for_shard(shard)):
                        _init_run_db(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
                self._close_oldest()
            else:
                self._engines.move_to_end(shard)
            with engine.connect() as connection:
                yield connection

    def _close_oldest(self) -> None:
        while len(self._engines) > MAX_OPEN_RUN_FILES:
            shard = next(iter(self._engines))
            if shard == sqlite_event_log.INDEX_SHARD_NAME:
                self._engines.move_to_end(shard)
                shard = next(iter(self._engines))
            self._engines.pop(shard).dispose()

    def store_event(self, event):
        dagster_event = event.dagster_event if event.is_dagster_event else None
        asset_key = dagster_event.asset_key if dagster_event else None
        row = (
            event.run_id,
            serialize_dagster_namedtuple(event),
            dagster_event.event_type_value if dagster_event else None,
            datetime.utcfromtimestamp(event.timestamp).strftime(_TIMESTAMP_FORMAT),
            dagster_event.step_key if dagster_event else event.step_key,
            asset_key.to_string() if asset_key else None,
            dagster_event.partition if dagster_event else None,
        )
        with self._connect(event.run_id) as connection:
            raw = connection.connection  # the DBAPI connection: no statement built, compiled or cached per event
            raw.execute(_INSERT_EVENT, row)
            raw.commit()
        if asset_key is not None:  # mirrored into the index shard, and the asset's entry, as Dagster does
            self._store_in_index(event, row)

    def _store_in_index(self, event, row) -> None:
        """Dagster's ``store_event`` and ``store_asset_event`` for an asset event, in one commit of the
        index shard; the asset's entry is updated first and inserted if it has none (Dagster tries the
        insert first and lets SQLAlchemy raise for every asset seen before)."""
        dagster_event = event.dagster_event
        values = {}
        if dagster_event.is_step_materialization or dagster_event.is_asset_observation or \
                dagster_event.is_asset_materialization_planned:
            values = self._get_asset_entry_values(event, self.has_asset_key_index_cols())
        columns = list(values)
        params = [_sql_value(values[column]) for column in columns]
        with self._connect(sqlite_event_log.INDEX_SHARD_NAME) as connection:
            raw = connection.connection
            try:
                raw.execute(_INSERT_EVENT, row)
                if columns:
                    assignments = ", ".join(f"{column} = ?" for column in columns)
                    updated = raw.execute(f"UPDATE {AssetKeyTable.name} SET {assignments} WHERE asset_key = ?",
                                          [*params, row[5]]).rowcount
                    if not updated:
                        names = ", ".join(["asset_key", *columns])
                        marks = ", ".join("?" for _ in range(len(columns) + 1))
                        raw.execute(f"INSERT INTO {AssetKeyTable.name} ({names}) VALUES ({marks})", [row[5], *params])
                raw.commit()
            except BaseException:
                raw.rollback()
                raise

    def has_asset_key_index_cols(self):
        """Dagster inspects the asset keys table's columns for every asset event; they do not change
        while a process runs (a migration is run offline)."""
        if self._asset_key_index_cols is None:
            self._asset_key_index_cols = super().has_asset_key_index_cols()
        return self._asset_key_index_cols

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
