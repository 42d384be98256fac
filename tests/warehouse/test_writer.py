"""The backfill's warehouse writer: partitions sent by other processes commit as direct writes do,
fenced by the instance at the commit, and the file is let go when the writer is idle."""
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Client

import pytest

from flights_etl.files import socket_dir
from flights_etl.runs.fence import RunOwner
from flights_etl.warehouse import Fenced, RowsOfAnotherDay, WarehouseError, open_warehouse
from flights_etl.warehouse import writer as writer_module
from flights_etl.warehouse.duckdb_backend import HeldDuckDBWarehouse
from flights_etl.warehouse.writer import WriterClient, WriterServer, registered_writer, use_writer
from tests.raw_data import flights_on
from tests.warehouse.test_fencing import DAY, _committed_by, _created, _flights_loaded, _started, _tables


class Gate:
    """Holds the server's fencing step until the test opens it (to interrupt a client mid-write)."""

    def __init__(self):
        self.reached, self.opened = threading.Event(), threading.Event()
        self.opened.set()


@pytest.fixture
def gate():
    return Gate()


@pytest.fixture
def served(instance, warehouse_path, gate):
    """A writer serving ``warehouse_path`` from a thread, and this process's warehouse handed to it."""
    folder = socket_dir("test-writer-")
    address, key = os.path.join(folder, "writer.sock"), os.urandom(16)

    def owner_for(run_id):
        gate.reached.set()
        gate.opened.wait(30)
        return RunOwner(instance, instance.get_run_by_id(run_id))

    server = WriterServer(HeldDuckDBWarehouse(warehouse_path), owner_for, address, key)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    use_writer(warehouse_path, address, key)
    try:
        yield server
    finally:
        for channel in writer_module._channels.values():
            channel.close()  # the server's thread for this client ends
        writer_module._channels.clear()
        server.stop()
        thread.join(timeout=10)
        assert not server.warehouse.is_open


def test_writes_through_the_writer_are_fenced_at_the_commit(served, instance, landing_dir, warehouse_path):
    client = open_warehouse(warehouse_path)
    assert isinstance(client, WriterClient) and isinstance(registered_writer(warehouse_path), WriterClient)
    older, newer = _started(instance, _created(instance)), _started(instance, _created(instance))
    client.owned_by(RunOwner(instance, newer)).replace_partition(DAY, _tables(landing_dir, drop_last=100))
    with pytest.raises(Fenced, match=f"a newer run of the partition \\({newer.run_id}\\) has committed it since"):
        client.owned_by(RunOwner(instance, older)).replace_partition(DAY, _tables(landing_dir))
    instance.report_run_failed(newer, message="declared dead")
    with pytest.raises(Fenced, match="the instance has the run FAILURE"):
        client.owned_by(RunOwner(instance, newer)).replace_partition(DAY, _tables(landing_dir))
    with pytest.raises(RowsOfAnotherDay):
        client.replace_partition(DAY.replace(day=13), _tables(landing_dir))
    # reads go through the writer too (it holds the file), on its one-thread connection
    assert int(client.rows_per_day(DAY, DAY)["flights"][0]) == len(flights_on(DAY)) - 100
    settings = client._query("SELECT current_setting('threads') AS threads, "
                             "current_setting('max_vacuum_tasks') AS vacuum", [])
    assert (settings["threads"][0], settings["vacuum"][0]) == (1, 0)  # vacuum only in its last close
    with pytest.raises(WarehouseError, match="the warehouse writer failed: "):
        client._query("SELEC 1", [])
    served.stop()
    time.sleep(0.3)
    with pytest.raises(WarehouseError, match="has stopped"):
        client.rows_per_day(DAY, DAY)
    writer_module._channels.clear()
    assert _flights_loaded(warehouse_path) == len(flights_on(DAY)) - 100
    assert _committed_by(warehouse_path) == newer.run_id


def test_the_file_is_let_go_when_the_writer_is_idle(served, instance, landing_dir, warehouse_path, monkeypatch):
    monkeypatch.setattr(writer_module, "IDLE_S", 3.0)  # longer than another process takes to start, loaded or not
    run = _started(instance, _created(instance))
    open_warehouse(warehouse_path).owned_by(RunOwner(instance, run)).replace_partition(DAY, _tables(landing_dir))
    held = _count_from_another_process(warehouse_path)  # right after the write
    assert "lock" in held.stderr, held.stdout + held.stderr
    time.sleep(writer_module.IDLE_S + 0.3)
    released = _count_from_another_process(warehouse_path)
    assert released.stdout.strip() == str(len(flights_on(DAY))), released.stderr
    # and it opens again for the next write
    open_warehouse(warehouse_path).owned_by(RunOwner(instance, run)).replace_partition(DAY, _tables(landing_dir, drop_last=1))
    assert int(open_warehouse(warehouse_path).rows_per_day(DAY, DAY)["flights"][0]) == len(flights_on(DAY)) - 1


class _InterruptedChannel(writer_module._Channel):
    """A worker's connection interrupted (Ctrl-C) right after sending its day: it closes and raises."""

    def round_trip(self, request):
        self.connection = Client(self.address, family="AF_UNIX", authkey=self.authkey)
        self.connection.send(request)
        self.close()
        raise KeyboardInterrupt


def test_a_write_whose_process_stopped_waiting_rolls_back(served, gate, instance, landing_dir, warehouse_path):
    """Ctrl-C in a worker while its day is with the writer: Dagster marks the run failed, so the
    day must not be committed under it (as a direct write's transaction rolls back)."""
    run = _started(instance, _created(instance))
    client = open_warehouse(warehouse_path).owned_by(RunOwner(instance, run))
    channel = writer_module._channels[os.path.realpath(warehouse_path)]
    client._channel = _InterruptedChannel(channel.address, channel.authkey)
    gate.opened.clear()
    with pytest.raises(KeyboardInterrupt):
        client.replace_partition(DAY, _tables(landing_dir))
    assert gate.reached.wait(30)  # the writer has the day; its client is gone
    gate.opened.set()
    time.sleep(0.5)
    served.stop()
    time.sleep(0.3)
    writer_module._channels.clear()
    assert open_warehouse(warehouse_path).rows_per_day(DAY, DAY).empty  # rolled back: fenced as "stopped waiting"


def _count_from_another_process(path):
    code = "import sys, duckdb; print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT count(*) FROM flights').fetchone()[0])"
    return subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60)


def test_a_client_whose_writer_is_gone_says_so(instance, warehouse_path, landing_dir):
    folder = socket_dir("test-writer-")
    use_writer(warehouse_path, os.path.join(folder, "writer.sock"), b"k" * 16)
    try:
        with pytest.raises(WarehouseError, match=f"the backfill's warehouse writer for {warehouse_path} is gone"):
            open_warehouse(warehouse_path).replace_partition(DAY, _tables(landing_dir))
    finally:
        writer_module._channels.clear()
        os.rmdir(folder)
