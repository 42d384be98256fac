"""The backfill's SQLite run storage: ``KeptOpenSqliteRunStorage``.

Dagster 0.15's ``SqliteRunStorage`` creates a SQLAlchemy engine and opens ``runs.db`` for every
single call (a run's status, its tags, a snapshot lookup): about a third of a millisecond of
opening per call, a dozen calls per run. This storage keeps one connection per process, used
under a lock, and otherwise stores and reads exactly what Dagster's does (same file, same WAL
mode, same statements, each committed as it happens), so Dagit, the daemon and every other
process see the same runs.
"""
import threading
from contextlib import contextmanager

import sqlalchemy as db
from sqlalchemy.pool import StaticPool

from flights_etl.dagster_private import SqliteRunStorage

# The storage this one stands in for, as an instance's configuration names it.
DAGSTER_STORAGE_CLASS = "SqliteRunStorage"
BUSY_TIMEOUT_S = 30  # runs.db is written by several processes; SQLite waits this long for the lock


class KeptOpenSqliteRunStorage(SqliteRunStorage):
    """``SqliteRunStorage`` that keeps one connection to ``runs.db`` open."""

    def __init__(self, conn_string, inst_data=None):
        self._engine = None
        self._lock = threading.RLock()  # one connection: one user at a time (nested uses are the same thread's)
        super().__init__(conn_string, inst_data)

    @staticmethod
    def from_config_value(inst_data, config_value):
        return KeptOpenSqliteRunStorage.from_local(inst_data=inst_data, **config_value)

    @contextmanager
    def connect(self):
        with self._lock:
            if self._engine is None:
                self._engine = db.create_engine(
                    self._conn_string,
                    poolclass=StaticPool,
                    connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
                )
            with self._engine.connect() as connection:
                yield connection

    def dispose(self):
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()
        super().dispose()
