"""DuckDB: the warehouse connection waits for DuckDB's file lock held by another process, within a bound."""
import subprocess
import sys
import time

import duckdb
import pytest

from flights_etl.warehouse.duckdb_backend import WarehouseLockTimeout, connect

HOLD_LOCK = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


def _hold_lock(path, seconds):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, path, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_waits_for_the_lock_and_then_connects(tmp_path):
    path = str(tmp_path / "w.duckdb")
    holder = _hold_lock(path, 1.5)
    started = time.monotonic()
    with connect(path, lock_timeout_s=30) as connection:
        waited = time.monotonic() - started
        assert connection.execute("SELECT 42").fetchone() == (42,)
    holder.wait()
    assert waited >= 0.5  # it really waited for the other process


def test_gives_up_with_a_clear_error(tmp_path):
    path = str(tmp_path / "w.duckdb")
    holder = _hold_lock(path, 10)
    try:
        with pytest.raises(WarehouseLockTimeout, match=r"Gave up after 1 s waiting for the lock on the warehouse"):
            with connect(path, lock_timeout_s=1):
                pass
    finally:
        holder.kill()


OPEN_AND_COUNT = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])  # for writing: fails at once if anyone holds the lock
print(connection.execute("SELECT count(*) FROM t").fetchone()[0])
connection.close()
"""


def _count_from_another_process(path) -> str:
    result = subprocess.run([sys.executable, "-c", OPEN_AND_COUNT, path], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_file_is_released_when_the_block_ends_even_after_a_failed_transaction(tmp_path):
    path = str(tmp_path / "w.duckdb")
    with connect(path) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.execute("INSERT INTO t VALUES (1), (2)")
    assert _count_from_another_process(path) == "2"

    with pytest.raises(duckdb.ConversionException):
        with connect(path) as connection:
            connection.execute("BEGIN TRANSACTION")
            connection.execute("INSERT INTO t VALUES (3)")
            connection.execute("INSERT INTO t VALUES ('not a number')")  # aborts the transaction
    assert _count_from_another_process(path) == "2"  # rolled back, and the lock is free

    with connect(path, read_only=True) as connection:  # the same thread connects again as usual
        assert connection.execute("SELECT sum(x) FROM t").fetchone() == (3,)
