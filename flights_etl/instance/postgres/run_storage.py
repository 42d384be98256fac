"""``PooledPostgresRunStorage``: dagster-postgres' run storage keeping its connections, whose
ended runs stay ended."""
from dagster import PipelineRunStatus
from dagster_postgres.run_storage import PostgresRunStorage

from flights_etl.dagster_private import EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from flights_etl.instance.postgres.pool import KeepsConnections

ENDED_STATUSES = (PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED)


class PooledPostgresRunStorage(KeepsConnections, PostgresRunStorage):
    def __init__(self, postgres_url, should_autocreate_tables=True, inst_data=None):
        self._schema_has = {}  # before Dagster's __init__, which may already ask
        super().__init__(postgres_url, should_autocreate_tables, inst_data)

    # Dagster 0.15 reflects the runs table's columns (several catalog queries) on every run event
    # and partition query to learn whether a migration has run; once it has, it stays run.
    def has_run_stats_index_cols(self):
        if not self._schema_has.get("run_stats"):
            self._schema_has["run_stats"] = super().has_run_stats_index_cols()
        return self._schema_has["run_stats"]

    def has_bulk_actions_selector_cols(self):
        if not self._schema_has.get("bulk_actions"):
            self._schema_has["bulk_actions"] = super().has_bulk_actions_selector_cols()
        return self._schema_has["bulk_actions"]

    # A run that ended (declared dead by run monitoring or the watchdog, terminated, finished) may
    # still be executing somewhere (a frozen worker that resumes): its late end event is kept in
    # its log, but never brings its status back to life (FAILURE -> SUCCESS). The warehouse's
    # fencing refuses its late commit (runs/fence.py).
    def handle_run_event(self, run_id, event):
        new_status = EVENT_TYPE_TO_PIPELINE_RUN_STATUS.get(event.event_type)
        if new_status is not None:
            run = self.get_run_by_id(run_id)
            if run is not None and run.status in ENDED_STATUSES and new_status != run.status:
                return
        super().handle_run_event(run_id, event)
