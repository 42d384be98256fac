"""``PooledPostgresStorage``: dagster-postgres' storage (runs, events, schedules) keeping a few
connections open; ``deploy/postgres`` and ``deploy/fleet`` name it as ``storage: custom:``."""
from dagster_postgres.storage import DagsterPostgresStorage

from flights_etl.dagster_private import ConfigurableClassData
from flights_etl.instance.postgres.event_log import PooledPostgresEventLogStorage
from flights_etl.instance.postgres.pool import FromPostgresConfig
from flights_etl.instance.postgres.run_storage import PooledPostgresRunStorage
from flights_etl.instance.postgres.schedule_storage import PooledPostgresScheduleStorage


class PooledPostgresStorage(FromPostgresConfig, DagsterPostgresStorage):
    """dagster-postgres' storage (runs, events, schedules) keeping a few connections open."""

    def __init__(self, postgres_url, should_autocreate_tables=True, inst_data=None):
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        self._run_storage = PooledPostgresRunStorage(postgres_url, should_autocreate_tables)
        self._event_log_storage = PooledPostgresEventLogStorage(postgres_url, should_autocreate_tables)
        self._schedule_storage = PooledPostgresScheduleStorage(postgres_url, should_autocreate_tables)
        super(DagsterPostgresStorage, self).__init__()

    # What subprocesses rebuild each storage from: the pooled classes too.
    def _pooled_data(self, storage_class) -> "ConfigurableClassData":
        if not self.inst_data:
            return None
        return ConfigurableClassData(storage_class.__module__, storage_class.__name__, self.inst_data.config_yaml)

    @property
    def event_storage_data(self):
        return self._pooled_data(PooledPostgresEventLogStorage)

    @property
    def run_storage_data(self):
        return self._pooled_data(PooledPostgresRunStorage)

    @property
    def schedule_storage_data(self):
        return self._pooled_data(PooledPostgresScheduleStorage)
