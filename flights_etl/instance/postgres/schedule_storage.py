"""``PooledPostgresScheduleStorage``: dagster-postgres' schedule storage keeping its connections."""
from dagster_postgres.schedule_storage import PostgresScheduleStorage

from flights_etl.instance.postgres.pool import KeepsConnections


class PooledPostgresScheduleStorage(KeepsConnections, PostgresScheduleStorage):
    pass
