"""The ``warehouse`` resource: where the DuckDB file is, and short-lived connections to it."""
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import duckdb
from dagster import Field, StringSource, resource

from flights_etl.warehouse import connect
from flights_etl.warehouse.connection import DEFAULT_LOCK_TIMEOUT_S, WAREHOUSE_ENV, default_warehouse_path


@dataclass(frozen=True)
class Warehouse:
    """A DuckDB warehouse file. Each ``connect()`` opens it, and closes it when the block ends,
    so a run holds DuckDB's single-writer lock only while it writes."""

    path: str
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.path, read_only=read_only, lock_timeout_s=self.lock_timeout_s) as connection:
            yield connection


_CONFIG = {
    "path": Field(
        StringSource,
        is_required=False,
        description=f"DuckDB file of the warehouse. Default: ${WAREHOUSE_ENV}, else data/warehouse.duckdb.",
    ),
    "lock_timeout_s": Field(
        float,
        default_value=DEFAULT_LOCK_TIMEOUT_S,
        description="How long to wait for another process to release the DuckDB file lock before failing.",
    ),
}


@resource(config_schema=_CONFIG, description="DuckDB warehouse file (default data/warehouse.duckdb).")
def warehouse_resource(init_context) -> Warehouse:
    config = init_context.resource_config
    return Warehouse(path=config.get("path") or default_warehouse_path(), lock_timeout_s=config["lock_timeout_s"])


@resource(
    config_schema=_CONFIG,
    description=f"DuckDB warehouse for tests: the path must be given (config or ${WAREHOUSE_ENV}), "
    "so a test never writes to the project's data/ folder.",
)
def explicit_warehouse_resource(init_context) -> Warehouse:
    config = init_context.resource_config
    path = config.get("path") or os.environ.get(WAREHOUSE_ENV)
    if not path:
        raise ValueError(
            f"The test mode needs a warehouse path: set ${WAREHOUSE_ENV} or resources.warehouse.config.path"
        )
    return Warehouse(path=path, lock_timeout_s=config["lock_timeout_s"])
