"""What the pooled PostgreSQL storages share: an engine that keeps its connections.

dagster-postgres 0.15.10 connects anew for every storage call (NullPool); with SCRAM password
authentication that costs ~10 ms of CPU each, ~30 calls for each run the daemon submits from a
Dagit backfill. The pooled storages are dagster-postgres' own with a small pool of connections (a
connection the server dropped fails one call, then the pool reconnects: no ping before every call,
~75 per run), as Dagit's own ``optimize_for_dagit`` does.
"""
import sqlalchemy as db
from dagster_postgres.utils import pg_url_from_config


def keep_connections(storage, pool_size: int = 2, max_overflow: int = 8, options: str = "") -> None:
    """Replace a dagster-postgres storage's NullPool engine by one that keeps connections."""
    previous = storage._engine
    storage._engine = db.create_engine(
        storage.postgres_url, isolation_level="AUTOCOMMIT", pool_size=pool_size, max_overflow=max_overflow,
        connect_args={"options": options} if options else {},
    )
    previous.dispose()


class FromPostgresConfig:
    """``from_config_value`` as dagster-postgres' storages read their config, for the class it is called on."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(pg_url_from_config(config_value), config_value.get("should_autocreate_tables", True), inst_data)


class KeepsConnections(FromPostgresConfig):
    def __init__(self, postgres_url, should_autocreate_tables=True, inst_data=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data)
        keep_connections(self)
