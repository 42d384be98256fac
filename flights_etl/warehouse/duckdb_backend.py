"""The embedded default: one DuckDB file, written by one process at a time.

DuckDB lets one process at a time open a file for writing. Runs from a backfill, a schedule
and Dagit may overlap, so opening the file when another process holds its lock retries with
backoff until ``lock_timeout_s`` and then fails with a message that says so. Each write opens
the file, replaces the partition in one transaction and closes it, holding the lock for tens
of milliseconds; each read opens it read-only.
"""
from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Callable, Iterator, List, Mapping, Optional, Sequence, Tuple

import duckdb

from flights_etl.errors import error_line
from flights_etl.warehouse.base import Warehouse, WarehouseError
from flights_etl.warehouse.tables import PARTITION_KEYS, column_names, create_statements

if TYPE_CHECKING:  # pandas is imported when a frame is read or written, not with the repository
    import pandas as pd

DEFAULT_LOCK_TIMEOUT_S = 120.0
# A partition's write holds the lock for tens of milliseconds, so poll often: a long backoff
# leaves the waiting process idle long after the lock is free.
FIRST_RETRY_DELAY_S = 0.002
MAX_RETRY_DELAY_S = 0.05

SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR", "timestamp": "TIMESTAMP", "date": "DATE"}


class WarehouseLockTimeout(WarehouseError):
    """The warehouse file stayed locked by another process for longer than the timeout."""


def _is_lock_conflict(error: Exception) -> bool:
    message = str(error)
    return "lock" in message.lower() and ("Conflicting" in message or "Could not set lock" in message)


@contextmanager
def connect(
    path: str, read_only: bool = False, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to ``path`` and always close it, retrying while the file is locked."""
    connection = open_connection(path, read_only, lock_timeout_s)
    try:
        yield connection
    finally:
        connection.close()


def open_connection(path: str, read_only: bool, lock_timeout_s: float) -> duckdb.DuckDBPyConnection:
    """A connection to ``path``, retrying while another process holds the file's lock."""
    if not read_only:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    delay = FIRST_RETRY_DELAY_S
    while True:
        try:
            connection = duckdb.connect(path, read_only=read_only)
            break
        except duckdb.IOException as error:
            if not _is_lock_conflict(error):
                raise WarehouseError(f"cannot open the DuckDB warehouse {path}: {error_line(error)}") from None
            if time.monotonic() >= deadline:
                raise WarehouseLockTimeout(
                    f"Gave up after {lock_timeout_s:.0f} s waiting for the lock on the warehouse {path}: "
                    f"another process keeps it open. DuckDB said: {error_line(error)}"
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, MAX_RETRY_DELAY_S)
        except duckdb.Error as error:  # not a DuckDB file, a newer storage version, ...
            raise WarehouseError(f"cannot open the DuckDB warehouse {path}: {error_line(error)}") from None
    return connection


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit when the block ends normally, roll back on any exception (including Ctrl-C)."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class DuckDBWarehouse(Warehouse):
    """A DuckDB file; each write and each read opens it and closes it again."""

    keeps_connection = False  # a holder of its connection makes sure of the tables once per open

    def __init__(self, path: str, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S):
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self._tables_made = False  # on the connection held now (HeldDuckDBWarehouse)

    @property
    def location(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.path!r})"

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.path, read_only=read_only, lock_timeout_s=self.lock_timeout_s) as connection:
            yield connection

    def _replace(self, staged: Mapping[str, pd.DataFrame], key: date, load) -> None:
        with self._connection(read_only=False) as connection:
            # Registered outside the transaction: an aborted transaction refuses to unregister.
            for table, frame in staged.items():
                connection.register(f"incoming_{table}", frame)

            def execute(sql, params, fetch=False):
                result = connection.execute(sql, params)
                return result.fetchone() if fetch else None

            try:
                with transaction(connection):
                    for statement in () if self._tables_made else create_statements(SQL_TYPES):
                        connection.execute(statement)
                    for table in staged:
                        columns = ", ".join(column_names(table))
                        connection.execute(f"DELETE FROM {table} WHERE {PARTITION_KEYS[table]} = ?", [key])
                        connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_{table}")
                    # One writer at a time holds the file, so nothing can commit between this check and ours.
                    load.fence_and_record(execute)
                self._tables_made = self.keeps_connection
            finally:
                for table in staged:
                    connection.unregister(f"incoming_{table}")

    def _query(self, sql: str, params: Sequence) -> Optional[pd.DataFrame]:
        return self._read_only(sql, params, lambda result: result.df())

    def _query_rows(self, sql: str, params: Sequence) -> Optional[Tuple[List[str], List[tuple]]]:
        return self._read_only(sql, params, lambda result: ([column[0] for column in result.description], result.fetchall()))

    def _read_only(self, sql: str, params: Sequence, answer: Callable):
        if not os.path.exists(self.path):
            return None  # nothing loaded yet; a reader never creates the file
        with self._connection(read_only=True) as connection:
            try:
                return answer(connection.execute(sql, list(params)))
            except duckdb.CatalogException:  # a table not created yet
                return None


class HeldDuckDBWarehouse(DuckDBWarehouse):
    """The DuckDB file kept open by one process across many writes (a backfill's warehouse writer).

    Opening the file costs ~20 ms (DuckDB creates a database instance) and closing it ~15 ms (a
    checkpoint): more than the write itself. The connection is let go (``let_go``) when the holder
    says so, so other processes (``status``, Dagit, a scheduled run) get the lock between writes;
    reads go through the same connection. A failed write never leaves a transaction open.
    """

    keeps_connection = True

    def __init__(self, path: str, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S):
        super().__init__(path, lock_timeout_s)
        self._held: Optional[duckdb.DuckDBPyConnection] = None
        self.opened_at = 0.0

    @property
    def is_open(self) -> bool:
        return self._held is not None

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._held is None:
            self._held = open_connection(self.path, False, self.lock_timeout_s)
            # One thread: its statements touch a day of rows; DuckDB's extra threads only cost CPU
            # (-0.7 CPU-s on the year) beside the workers. SET, not a connect() config: a config
            # differing from another connection's to the same file in this process is refused.
            self._held.execute("SET threads = 1")
            # No vacuum in the checkpoints of a release: one of them near day 300 of a year took 0.35 s
            # and ~47 MiB (the tree's peak) merging row groups; the writer's last close runs it.
            self._held.execute("SET max_vacuum_tasks = 0")
            self.opened_at = time.monotonic()
        try:
            yield self._held
        except duckdb.IOException:  # the file itself failed: start again from a fresh open
            self.let_go()
            raise

    def let_go(self, vacuum: bool = False) -> None:
        """Close the file (a checkpoint, with DuckDB's vacuum if ``vacuum``), releasing its lock until
        the next write or read."""
        held, self._held = self._held, None
        self._tables_made = False  # another process may hold the file until the next open
        if held is not None:
            try:
                if vacuum:
                    held.execute("RESET max_vacuum_tasks")
            finally:
                held.close()
