"""Open the DuckDB file, waiting while another process holds its single-writer lock.

DuckDB lets one process at a time open a file for writing. Runs from a backfill,
a schedule and Dagit may overlap, so a connection attempt that meets the lock
retries with backoff until ``lock_timeout_s`` and then fails with a message that
says who holds the lock.

Opening the file holds the lock, so each use opens it late and closes it early. Creating a
DuckDB database instance costs ~12 ms (its built-in catalog), which a backfill worker would
pay on every partition; instead each thread keeps one in-memory DuckDB "host" and ATTACHes
the warehouse file to it for the duration of a ``connect()`` block, then DETACHes it (which
checkpoints the file and releases the lock, as closing a connection does).
"""
import os
import random
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, TypeVar

import duckdb

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
WAREHOUSE_ENV = "FLIGHTS_WAREHOUSE"
DEFAULT_LOCK_TIMEOUT_S = 120.0
# A partition's write holds the lock for tens of milliseconds, so poll often: a long backoff
# leaves the waiting process idle long after the lock is free.
FIRST_RETRY_DELAY_S = 0.002
MAX_RETRY_DELAY_S = 0.05


T = TypeVar("T")


class WarehouseLockTimeout(RuntimeError):
    """The warehouse file stayed locked by another process for longer than the timeout."""


def default_warehouse_path() -> str:
    """The warehouse path from ``$FLIGHTS_WAREHOUSE``, else ``data/warehouse.duckdb`` (read at call time)."""
    return os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE


def _is_lock_conflict(error: Exception) -> bool:
    message = str(error)
    return "lock" in message.lower() and ("Conflicting" in message or "Could not set lock" in message)


class _Host(threading.local):
    """This thread's in-memory DuckDB, and whether a ``connect()`` block is using it."""

    connection: Optional[duckdb.DuckDBPyConnection] = None
    busy: bool = False


_host = _Host()
ALIAS = "warehouse"  # the attached file's name inside the host; made the default with USE


@contextmanager
def connect(
    path: str, read_only: bool = False, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection whose default database is the file at ``path``, retrying while it is
    locked, and release the file when the block ends. Do not close the yielded connection."""
    if not read_only:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if _host.busy:  # a connect() inside another in this thread: a connection of its own
        connection = _with_lock_retry(lambda: duckdb.connect(path, read_only=read_only), path, lock_timeout_s)
        try:
            yield connection
        finally:
            connection.close()
        return
    if _host.connection is None:
        _host.connection = duckdb.connect(":memory:")
    host = _host.connection
    options = " (READ_ONLY)" if read_only else ""
    quoted = path.replace("'", "''")
    _with_lock_retry(lambda: host.execute(f"ATTACH '{quoted}' AS {ALIAS}{options}"), path, lock_timeout_s)
    _host.busy = True
    try:
        host.execute(f"USE {ALIAS}")
        yield host
    finally:
        _host.busy = False
        _detach(host)


def _with_lock_retry(open_file: Callable[[], T], path: str, lock_timeout_s: float) -> T:
    """``open_file()``, retried with backoff while another process holds the file's lock."""
    deadline = time.monotonic() + lock_timeout_s
    delay = FIRST_RETRY_DELAY_S
    while True:
        try:
            return open_file()
        except duckdb.IOException as error:
            if not _is_lock_conflict(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockTimeout(
                    f"Gave up after {lock_timeout_s:.0f} s waiting for the lock on the warehouse {path}: "
                    f"another process keeps it open. DuckDB said: {error}"
                ) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, MAX_RETRY_DELAY_S)


def _detach(host: duckdb.DuckDBPyConnection) -> None:
    """Release the file; a transaction left open or aborted is rolled back first. If the host
    cannot let go of it, close the host: that always releases the file."""
    try:
        try:
            host.execute("USE memory")
            host.execute(f"DETACH {ALIAS}")
        except duckdb.TransactionException:
            host.execute("ROLLBACK")
            host.execute("USE memory")
            host.execute(f"DETACH {ALIAS}")
    except duckdb.Error:
        _host.connection = None
        host.close()
