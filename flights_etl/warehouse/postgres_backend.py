"""The warehouse on PostgreSQL, for shared deployments: many writers at once, on any host.

Same tables, same one-transaction replace per partition as the DuckDB file. Rows go in with
``COPY ... FROM STDIN`` (CSV), never row by row. Writers of the same partition are serialized by a
transaction-level advisory lock on the partition (two concurrent delete-then-insert of one day
would otherwise both insert); writers of different partitions run in parallel (MVCC, no file
lock). Readers run in read-only transactions and never create anything.

Type mapping: BIGINT, DOUBLE PRECISION, TEXT, TIMESTAMP (without time zone) and DATE, the
types DuckDB's BIGINT, DOUBLE, VARCHAR, TIMESTAMP and DATE store; floats travel as Python's
shortest round-trip text, so every value is the same to the last digit.

The URL's password is never shown: ``location`` and every error message carry the URL without it.
"""
from __future__ import annotations

import io
import numbers
import os
import threading
import time
import zlib
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Iterator, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from flights_etl.errors import error_line
from flights_etl.extras import MissingExtra, require_extra
from flights_etl.urls import masked, scrubbed, url_scheme
from flights_etl.warehouse.base import Warehouse, WarehouseError
from flights_etl.warehouse.tables import FILES_TABLE, LOADS_TABLE, PARTITION_KEYS, TABLES, column_names, create_statements

if TYPE_CHECKING:  # pandas is imported when a frame is read or written, not with the repository
    import pandas as pd

SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE PRECISION", "str": "TEXT", "timestamp": "TIMESTAMP", "date": "DATE"}
URL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")
CONNECT_TIMEOUT_S = 10
NULL = "\\N"
TABLES_LOCK = 0x666C6967  # advisory lock taken while the tables are created
_ACTIVE = set()  # connections in use in this process (see cancel_active_statements)
_IDLE = {}  # (pid, url) -> (connection, idle since): one connection kept for the next write or read
IDLE_REUSE_S = 30.0  # an older idle connection may have been dropped by the server: open a new one
_ACTIVE_LOCK = threading.Lock()


def is_postgres_url(location: str) -> bool:
    """``postgresql://``, ``postgres://`` or SQLAlchemy's ``postgresql+psycopg2://``, the scheme in any case."""
    return url_scheme(location) in URL_SCHEMES


def libpq_url(url: str) -> str:
    """The URL as psycopg2 (libpq) reads it: libpq knows only ``postgresql://`` and ``postgres://``, in lower case."""
    return "postgresql://" + url.split("://", 1)[1]


def _psycopg2():
    """psycopg2, or a WarehouseError naming the postgres extra that installs it."""
    try:
        require_extra("postgres", "psycopg2")
    except MissingExtra as error:
        raise WarehouseError(str(error)) from None
    import psycopg2

    return psycopg2


class PostgresWarehouse(Warehouse):
    def __init__(self, url: str):
        parts = _checked(url)
        self._url = libpq_url(url)
        self._raw_url = url  # what a driver's message may echo, in any spelling: scrubbed out
        self.host, self.port, self.database = parts.hostname, parts.port or 5432, parts.path.lstrip("/")

    @property
    def location(self) -> str:
        return masked(self._url)

    def __repr__(self) -> str:
        return f"PostgresWarehouse({self.location!r})"

    def _scrub(self, text: str) -> str:
        return scrubbed(scrubbed(text, self._raw_url), self._url)

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator:
        psycopg2 = _psycopg2()
        from psycopg2.extensions import TRANSACTION_STATUS_IDLE

        connection = _reuse(self._url)
        if connection is None:
            try:
                connection = psycopg2.connect(self._url, connect_timeout=CONNECT_TIMEOUT_S, application_name="flights-etl")
            except psycopg2.Error as error:
                raise WarehouseError(
                    f"cannot connect to the PostgreSQL warehouse {self.location} "
                    f"(host {self.host}, database {self.database}): {self._scrub(error_line(error))}"
                ) from None
        with _ACTIVE_LOCK:
            _ACTIVE.add(connection)
        reusable = False
        try:
            connection.set_session(readonly=read_only)
            yield connection
            reusable = connection.closed == 0 and connection.get_transaction_status() == TRANSACTION_STATUS_IDLE
        finally:
            with _ACTIVE_LOCK:
                _ACTIVE.discard(connection)
            if reusable:
                _keep(self._url, connection)
            else:
                connection.close()

    def _replace(self, staged: Mapping[str, pd.DataFrame], key: date, load) -> None:
        psycopg2 = _psycopg2()

        with self._connection(read_only=False) as connection:
            try:
                with connection:  # one transaction: commit at the end, roll back on any exception
                    with connection.cursor() as cursor:
                        self._ensure_tables(cursor)
                        # Writers of one partition queue here, so the fencing check below sees the
                        # last commit of the partition and nothing commits between it and ours.
                        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                                       [_lock_class(f"{LOADS_TABLE}/{load.scope}"), key.toordinal()])
                        for table, frame in staged.items():
                            partition_key = PARTITION_KEYS[table]
                            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_lock_class(table), key.toordinal()])
                            cursor.execute(f"DELETE FROM {table} WHERE {partition_key} = %s", [key])
                            _copy(cursor, table, frame)

                        def execute(sql, params, fetch=False):
                            cursor.execute(sql.replace("?", "%s"), params)
                            return cursor.fetchone() if fetch else None

                        load.fence_and_record(execute)
            except psycopg2.Error as error:
                raise WarehouseError(
                    f"writing partition {key} to the PostgreSQL warehouse {self.location} failed, nothing was "
                    f"written: {self._scrub(error_line(error))}"
                ) from None

    @staticmethod
    def _ensure_tables(cursor) -> None:
        cursor.execute(
            "SELECT count(*) FROM unnest(%s::text[]) AS t(name) WHERE to_regclass(name) IS NULL", [[*TABLES, LOADS_TABLE, FILES_TABLE]]
        )
        if cursor.fetchone()[0]:
            # Concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL's catalog: one at a time.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TABLES_LOCK])
            for statement in create_statements(SQL_TYPES):
                cursor.execute(statement)

    def _query(self, sql: str, params: Sequence) -> Optional[pd.DataFrame]:
        import pandas as pd

        found = self._query_rows(sql, params)
        if found is None:
            return None
        columns, rows = found
        frame = pd.DataFrame.from_records(rows, columns=columns)
        for column in frame.columns:  # numbers as DuckDB gives them: float64 (NaN) or int64
            if frame[column].map(lambda value: value is None or isinstance(value, numbers.Number)).all():
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
        return frame

    def _query_rows(self, sql: str, params: Sequence) -> Optional[Tuple[List[str], List[tuple]]]:
        psycopg2 = _psycopg2()
        from psycopg2 import errors

        with self._connection(read_only=True) as connection:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql.replace("?", "%s"), list(params))
                    columns = [description.name for description in cursor.description]
                    rows = cursor.fetchall()
                connection.rollback()
            except errors.UndefinedTable:
                return None
            except psycopg2.Error as error:
                raise WarehouseError(
                    f"reading the PostgreSQL warehouse {self.location} failed: {self._scrub(error_line(error))}"
                ) from None
        return columns, rows


def _reuse(url: str):
    """A connection this process opened to ``url`` and left idle recently, or None.

    Logging in costs a few milliseconds of CPU on both sides (SCRAM), once per write otherwise:
    a worker writing partition after partition keeps one connection. Never shared across a fork.
    """
    with _ACTIVE_LOCK:
        entry = _IDLE.pop((os.getpid(), url), None)
    if entry is None:
        return None
    connection, since = entry
    if connection.closed or time.monotonic() - since > IDLE_REUSE_S:
        connection.close()
        return None
    return connection


def _keep(url: str, connection) -> None:
    with _ACTIVE_LOCK:
        previous = _IDLE.pop((os.getpid(), url), None)
        _IDLE[(os.getpid(), url)] = (connection, time.monotonic())
    if previous is not None:
        previous[0].close()


def cancel_active_statements() -> int:
    """Cancel every statement this process is running on a PostgreSQL warehouse; returns how many
    connections were asked.

    psycopg2 blocks in C while the server works (waiting on another writer's partition lock, say),
    so an interrupt (a terminate request) would wait with it. Called from another thread, this
    asks the server to cancel the statement: it fails at once and its transaction rolls back.
    """
    with _ACTIVE_LOCK:
        connections = list(_ACTIVE)
    for connection in connections:
        try:
            connection.cancel()
        except Exception:  # closed meanwhile
            pass
    return len(connections)


def _copy(cursor, table: str, frame: pd.DataFrame) -> None:
    """COPY the frame's rows in: CSV as pandas writes it (floats as shortest round-trip text, datetime64
    as ``YYYY-MM-DD HH:MM:SS``, a column of midnights as ``YYYY-MM-DD``), NULL as \\N."""
    if frame.empty:
        return
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep=NULL)
    buffer.seek(0)
    columns = ", ".join(column_names(table))
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')", buffer)


def _lock_class(table: str) -> int:
    """The first key of a table's advisory locks (the second is the partition's day number)."""
    return zlib.crc32(table.encode()) & 0x7FFFFFFF


def _checked(url: str):
    """The URL's parts, or a clear error that never shows the password."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as error:
        raise WarehouseError(f"the warehouse URL {masked(url)} is malformed: {error}") from None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname or not parts.path.strip("/"):
        raise WarehouseError(
            f"the warehouse URL {masked(url)} is malformed: expected postgresql://user[:password]@host[:port]/database"
        )
    return parts
