"""``PooledPostgresEventLogStorage``: dagster-postgres' event log storage keeping its connections."""
from dagster_postgres.event_log import PostgresEventLogStorage

from flights_etl.instance.postgres.pool import KeepsConnections


class PooledPostgresEventLogStorage(KeepsConnections, PostgresEventLogStorage):
    pass
