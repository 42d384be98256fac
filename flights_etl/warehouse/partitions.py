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
    inserted = {}
    with transaction(connection):
        ensure_tables(connection)
        for table, frame in frames.items():
            key = PARTITION_KEYS[table]
            columns = column_names(table)
            connection.execute(f"DELETE FROM {table} WHERE {key} = ?", [partition])
            staged = frame.assign(**{key: pd.Timestamp(partition)})[list(columns)]
            connection.register("incoming_rows", staged)
            try:
                connection.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM incoming_rows"
                )
            finally:
                connection.unregister("incoming_rows")
            inserted[table] = len(frame)
    return inserted
