"""The backfill's warehouse writer process: holds the DuckDB file, commits what the workers send.

Started (forked) by the local executor when the warehouse is a DuckDB file; the workers hand it
each partition (``warehouse/writer.py``), which it fences with the instance's view of the run
(``runs/fence.py``: the run must still be STARTED and not outranked) inside the transaction.
It ignores Ctrl-C (the parent stops it once the runs in flight have ended), ends on SIGTERM or
when its parent is gone after the write in progress, and closes the file (a checkpoint) as it ends.
On PostgreSQL every worker writes directly: the server takes parallel writers.
"""
import os
import signal
import sys
from typing import Optional, Tuple

from flights_etl.backfill.worker import die_with_parent
from flights_etl.files import SocketFolder, remove_socket_folder, remove_stale_socket_dirs
from flights_etl.instance.worker import kept_open_instance
from flights_etl.runs.fence import RunOwner
from flights_etl.warehouse import WarehouseError, default_location
from flights_etl.warehouse.base import Fenced
from flights_etl.warehouse.duckdb_backend import HeldDuckDBWarehouse
from flights_etl.warehouse.postgres_backend import is_postgres_url
from flights_etl.warehouse.writer import WriterServer

PROCESS_NAME = b"flights-writer"
SOCKET_DIR_PREFIX = "flights-writer-"
START_TIMEOUT_S = 30.0
SAY_WAITING_AFTER_S = 2.0  # a writer frozen (SIGSTOP) or stuck on a lock: say what the parent waits for


def duckdb_target() -> Optional[str]:
    """The DuckDB file the runs of this environment write (``$FLIGHTS_WAREHOUSE``), or None (PostgreSQL,
    or a location the runs themselves will refuse with their own error)."""
    from flights_etl.warehouse import duckdb_path

    location = default_location()
    if is_postgres_url(location):
        return None
    try:
        return os.path.abspath(duckdb_path(location))
    except WarehouseError:
        return None


class WriterProcess:
    """The writer, started from the backfill's parent; ``client_args`` is what a worker needs to use it."""

    def __init__(self, context, path: str):
        self.context, self.path = context, path
        remove_stale_socket_dirs(SOCKET_DIR_PREFIX)  # of writers killed with their backfill
        self.folder = SocketFolder(SOCKET_DIR_PREFIX)  # claimed until stop(), by the writer too
        self.address = os.path.join(self.folder.path, "writer.sock")
        self.authkey = os.urandom(16)
        self.process = None
        try:
            self.start()
        except BaseException:
            self.folder.close()
            raise

    @property
    def client_args(self) -> Tuple[str, str, bytes]:
        return self.path, self.address, self.authkey

    def start(self) -> None:
        self.folder.make()  # an ended writer removed it
        if os.path.exists(self.address):
            os.unlink(self.address)  # a dead writer's socket file
        ready, child_end = self.context.Pipe(duplex=False)
        self.process = self.context.Process(
            target=writer_main, args=(child_end, self.path, self.address, self.authkey, os.getpid()),
            daemon=True, name="flights-etl-writer",
        )
        self.process.start()
        child_end.close()
        try:
            if not ready.poll(START_TIMEOUT_S):
                raise RuntimeError(f"the warehouse writer did not start within {START_TIMEOUT_S:.0f} s")
            message = ready.recv()
        except EOFError:
            message = f"the warehouse writer exited with code {self.process.exitcode} as it started"
        finally:
            ready.close()
        if message != "ready":
            self.process.kill()
            raise RuntimeError(message)

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self, timeout_s: float = 30.0) -> None:
        """End the writer after its write in progress; it closes (checkpoints) the file first."""
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=SAY_WAITING_AFTER_S)
            if self.process.is_alive():
                print(f"flights-etl backfill: waiting up to {timeout_s:.0f} s for the warehouse writer (pid "
                      f"{self.process.pid}) to end its write in progress", file=sys.stderr, flush=True)
                self.process.join(timeout=timeout_s)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=5)
        self.folder.close()


def writer_main(ready, path: str, address: str, authkey: bytes, parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    server: Optional[WriterServer] = None

    def stop(*_args):
        if server is not None:
            server.stop()

    signal.signal(signal.SIGTERM, stop)
    die_with_parent(parent_pid, PROCESS_NAME, stop)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    instance = kept_open_instance()

    def owner_for(run_id: str) -> RunOwner:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise Fenced(f"refusing to commit for run {run_id}: the run is not in the instance; nothing was written")
        return RunOwner(instance, run)

    try:
        server = WriterServer(HeldDuckDBWarehouse(path), owner_for, address, authkey)
        ready.send("ready")
    except Exception as error:
        ready.send(f"the warehouse writer could not start: {type(error).__name__}: {error}")
        sys.exit(1)
    finally:
        ready.close()
    try:
        server.serve()
    finally:
        instance.dispose()
        remove_socket_folder(os.path.dirname(address))  # also when the parent was killed: no folder left in the temp directory
