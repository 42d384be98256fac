"""The warehouse connection waits for DuckDB's file lock held by another process, within a bound."""
import subprocess
import sys
import time

import pytest

from flights_etl.warehouse import WarehouseLockTimeout, connect

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
