"""Open the DuckDB file, waiting while another process holds its single-writer lock.

DuckDB lets one process at a time open a file for writing. Runs from a backfill,
a schedule and Dagit may overlap, so a connection attempt that meets the lock
retries with backoff until ``lock_timeout_s`` and then fails with a message that
says who holds the lock.
"""
import os
import random
import time
from contextlib import contextmanager
from typing import Iterator

import duckdb

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
WAREHOUSE_ENV = "FLIGHTS_WAREHOUSE"
DEFAULT_LOCK_TIMEOUT_S = 120.0
# A partition's write holds the lock for tens of milliseconds, so poll often: a long backoff
# leaves the waiting process idle long after the lock is free.
FIRST_RETRY_DELAY_S = 0.002
MAX_RETRY_DELAY_S = 0.05


class WarehouseLockTimeout(RuntimeError):
    """The warehouse file stayed locked by another process for longer than the timeout."""


def default_warehouse_path() -> str:
    """The warehouse path from ``$FLIGHTS_WAREHOUSE``, else ``data/warehouse.duckdb`` (read at call time)."""
    return os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE


def _is_lock_conflict(error: Exception) -> bool:
    message = str(error)
    return "lock" in message.lower() and ("Conflicting" in message or "Could not set lock" in message)


@contextmanager
def connect(
    path: str, read_only: bool = False, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to ``path`` and always close it, retrying while the file is locked."""
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
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLockTimeout(
                    f"Gave up after {lock_timeout_s:.0f} s waiting for the lock on the warehouse {path}: "
                    f"another process keeps it open. DuckDB said: {error}"
                ) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, MAX_RETRY_DELAY_S)
    try:
        yield connection
    finally:
        connection.close()
