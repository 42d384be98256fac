"""One process writing the DuckDB file for many others: the server (``WriterServer``) and the
warehouse its clients open (``WriterClient``).

DuckDB lets one process at a time hold a file; opening and checkpointing it for every partition
costs more than writing the partition, and the processes of a backfill queue on its lock. A
backfill on DuckDB therefore runs one writer process that keeps the file open, and its workers,
which validate and summarize in parallel, send it each finished partition. Every partition is
still one transaction, fenced inside it (the server judges the run's ownership from the instance
just before it commits) and recorded with its provenance, exactly as a direct write.

The server lets the file go whenever it has been idle for ``IDLE_S`` and, under a steady stream of
writes, for ``YIELD_S`` every ``HOLD_S``: other processes (``flights-etl status``, Dagit, a
scheduled run) wait at most about that long for the lock, as they waited for a run's write before.

Transport: ``multiprocessing.connection`` over a Unix socket with a random key; a request is
``("replace", frames, key, load)`` or ``("query", sql, params)``; an answer ``("ok", value)`` or
``("error", kind, message)``, raised in the client as the same error class.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from multiprocessing.connection import Client, Listener
from typing import TYPE_CHECKING, Callable, Dict, Mapping, Optional, Sequence

from flights_etl.warehouse.base import (
    Fenced,
    PartitionOwner,
    RowsOfAnotherDay,
    Warehouse,
    WarehouseError,
    _AlreadyLoaded,
    _Load,
)
from flights_etl.warehouse.duckdb_backend import HeldDuckDBWarehouse, WarehouseLockTimeout

if TYPE_CHECKING:  # pandas is imported when a frame is read or written, not with the repository
    import pandas as pd

IDLE_S = 0.5
HOLD_S = 5.0
YIELD_S = 0.1
CHECK_S = 0.05
_ERRORS = {cls.__name__: cls for cls in (Fenced, RowsOfAnotherDay, WarehouseLockTimeout, WarehouseError, _AlreadyLoaded)}


class WriterServer:
    """Serves ``warehouse`` to the clients that connect to ``address``; ``owner_for(run_id)`` gives
    the partition owner that fences a run's writes (the instance's view of that run)."""

    def __init__(self, warehouse: HeldDuckDBWarehouse, owner_for: Callable[[str], PartitionOwner],
                 address: str, authkey: bytes):
        self.warehouse, self.owner_for = warehouse, owner_for
        self.address = address
        self.listener = Listener(address, family="AF_UNIX", authkey=authkey)
        self.lock = threading.Lock()  # one DuckDB connection: one request at a time
        self.last_request = time.monotonic()
        self.stopping = threading.Event()
        self.closed = False

    def serve(self) -> None:
        """Until ``stop``: accept clients (a thread each) and let the file go when due; then close it."""
        threading.Thread(target=self._accept, name="writer-accept", daemon=True).start()
        try:
            while not self.stopping.wait(CHECK_S):
                self._let_go_when_due()
        finally:
            with self.lock:
                self.closed = True  # a request that arrives now is refused, never reopens the file
                self.warehouse.let_go(vacuum=True)  # the workers have ended: its memory adds to no peak
            self._wake_accept()
            try:
                self.listener.close()
            except OSError:
                pass

    def _wake_accept(self) -> None:
        """A blocked accept() does not return when its socket is closed: connect once so it does."""
        try:
            with socket.socket(socket.AF_UNIX) as knock:
                knock.connect(self.address)
        except OSError:
            pass

    def stop(self) -> None:
        self.stopping.set()

    def _let_go_when_due(self) -> None:
        with self.lock:
            if not self.warehouse.is_open:
                return
            now = time.monotonic()
            if now - self.last_request >= IDLE_S:
                self.warehouse.let_go()
            elif now - self.warehouse.opened_at >= HOLD_S:
                self.warehouse.let_go()
                time.sleep(YIELD_S)  # still holding the lock: no request reopens the file meanwhile

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection = self.listener.accept()
            except Exception:  # closed at exit, or a client that failed the key exchange (EOFError, AuthenticationError)
                if self.stopping.is_set():
                    return
                continue
            if self.stopping.is_set():
                connection.close()
                return
            threading.Thread(target=self._serve_client, args=(connection,), name="writer-client", daemon=True).start()

    def _serve_client(self, connection) -> None:
        with connection:
            while True:
                try:
                    request = connection.recv()
                except (EOFError, OSError):
                    return
                answer = self._answer(request, connection)
                try:
                    connection.send(answer)
                except (BrokenPipeError, OSError):
                    return

    def _answer(self, request: tuple, connection=None) -> tuple:
        try:
            with self.lock:
                self.last_request = time.monotonic()
                if self.closed:
                    return ("error", "WarehouseError", "the backfill's warehouse writer has stopped")
                if request[0] == "replace":
                    _, staged, key, (scope, partition, run_id, source, files) = request
                    owner = _StillWaiting(self.owner_for(run_id), connection) if run_id is not None else None
                    self.warehouse._replace(staged, key, _Load(scope, key, partition, owner, source, files))
                    return ("ok", None)
                if request[0] == "query":
                    return ("ok", self.warehouse._query(request[1], request[2]))
                return ("error", "WarehouseError", f"the warehouse writer does not know {request[0]!r}")
            # the lock is released before the answer goes out
        except Exception as error:  # the client raises it; the server goes on
            kind = type(error).__name__ if type(error).__name__ in _ERRORS else "WarehouseError"
            message = str(error) if kind != "WarehouseError" or isinstance(error, WarehouseError) else \
                f"the warehouse writer failed: {type(error).__name__}: {error}"
            return ("error", kind, message)
        finally:
            self.last_request = time.monotonic()


class _StillWaiting(PartitionOwner):
    """The run's owner, and also: its process still waits for this write. A client never sends while
    it waits for an answer, so anything readable on its connection is its end: interrupted (Ctrl-C,
    SIGTERM, killed), its run is being marked failed, and the write must roll back as a direct one would."""

    def __init__(self, owner: PartitionOwner, connection):
        self.owner, self.connection = owner, connection
        self.run_id, self.token, self.scope = owner.run_id, owner.token, owner.scope

    def why_not_owner(self) -> Optional[str]:
        try:
            gone = self.connection is not None and self.connection.poll()
        except (EOFError, OSError):
            gone = True
        if gone:
            return "its process stopped waiting for the write (interrupted or gone)"
        return self.owner.why_not_owner()

    def outranked_by(self, run_id, token, scope) -> bool:
        return self.owner.outranked_by(run_id, token, scope)


class WriterClient(Warehouse):
    """The warehouse at ``path`` as a process that hands its writes and reads to a ``WriterServer``."""

    def __init__(self, path: str, channel: "_Channel"):
        self.path = path
        self._channel = channel  # shared by this warehouse's copies (owned_by)

    @property
    def location(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"WriterClient({self.path!r})"

    def _replace(self, staged: Mapping[str, pd.DataFrame], key, load: _Load) -> None:
        owner = load.owner
        fields = (load.scope, load.partition, owner.run_id if owner is not None else None, load.source, list(load.files))
        self._ask(("replace", dict(staged), key, fields))

    def _query(self, sql: str, params: Sequence) -> Optional[pd.DataFrame]:
        return self._ask(("query", sql, list(params)))

    def _ask(self, request: tuple):
        try:
            answer = self._channel.round_trip(request)
        except _Gone as gone:
            raise WarehouseError(f"the backfill's warehouse writer for {self.path} is gone: {gone}") from None
        if answer[0] == "ok":
            return answer[1]
        _, kind, message = answer
        raise _ERRORS.get(kind, WarehouseError)(message)


class _Gone(Exception):
    pass


class _Channel:
    """A process's one connection to the writer, opened on first use and again after it broke."""

    def __init__(self, address: str, authkey: bytes):
        self.address, self.authkey = address, authkey
        self.connection = None

    def round_trip(self, request: tuple) -> tuple:
        for attempt in range(2):  # a broken connection (a restarted writer) is opened again once
            try:
                if self.connection is None:
                    self.connection = Client(self.address, family="AF_UNIX", authkey=self.authkey)
                self.connection.send(request)
                return self.connection.recv()
            except (EOFError, OSError) as error:  # refused, reset, no socket file
                self.close()
                if attempt == 1:
                    raise _Gone(type(error).__name__) from None
            except BaseException:  # interrupted mid-request: the answer may still come; never read it as the next one's
                self.close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass


# --- which warehouse this process hands to a writer ---------------------------------------------

_channels: Dict[str, _Channel] = {}


def use_writer(path: str, address: str, authkey: bytes) -> None:
    """From now on, this process's ``open_warehouse(path)`` hands its writes and reads to the server at ``address``."""
    _channels[os.path.realpath(path)] = _Channel(address, authkey)


def registered_writer(path: str) -> Optional[WriterClient]:
    channel = _channels.get(os.path.realpath(path))
    return WriterClient(path, channel) if channel else None
