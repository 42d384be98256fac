"""Idempotent partition writes: delete a partition's rows and insert the new ones in one transaction."""
from contextlib import contextmanager
from datetime import date
from typing import Iterator, Mapping

import duckdb
import pandas as pd

from flights_etl.warehouse.tables import PARTITION_KEYS, column_names, ensure_tables


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


def replace_partitions(
    connection: duckdb.DuckDBPyConnection, partition: date, frames: Mapping[str, pd.DataFrame]
) -> Mapping[str, int]:
    """Replace ``partition``'s rows in each table of ``frames`` at once; return rows inserted per table.

    Either every table holds the new rows or, if anything fails, every table keeps
    its previous rows: re-running a partition never duplicates, and a failed run
    never leaves it half-written.
    """
    staged = {}
    for table, frame in frames.items():
        key = PARTITION_KEYS[table]
        staged[table] = frame.assign(**{key: pd.Timestamp(partition)})[list(column_names(table))]
        # Registered outside the transaction: an aborted transaction refuses to unregister.
        connection.register(f"incoming_{table}", staged[table])
    try:
        with transaction(connection):
            ensure_tables(connection)
            for table in staged:
                columns = ", ".join(column_names(table))
                connection.execute(f"DELETE FROM {table} WHERE {PARTITION_KEYS[table]} = ?", [partition])
                connection.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_{table}")
    finally:
        for table in staged:
            connection.unregister(f"incoming_{table}")
    return {table: len(frame) for table, frame in frames.items()}
