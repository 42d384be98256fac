"""On a PostgreSQL instance, a backfill worker's pooled storages record what Dagster's own storages record."""
import os
from unittest import mock

from dagster import AssetKey, DagsterEventType, DagsterInstance, EventRecordsFilter, reconstructable

from flights_etl import dagster_private as private
from flights_etl.instance import worker as instance_worker
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.runs import creation
from tests.backfill.cli_helpers import postgres_instance_env
from tests.helpers import daily_run_args


def _run_day(instance: DagsterInstance, day: str) -> str:
    run = creation.create_run_for_pipeline(instance, **daily_run_args(day))
    result = private.execute_run(reconstructable(flights_daily_pipeline), run, instance)
    assert result.success
    return run.run_id


def _connections(instance, postgres_url) -> int:
    import psycopg2

    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        count = cursor.fetchone()[0]
    connection.close()
    return count


def test_pooled_worker_storage_matches_dagsters_own(tmp_path, landing_dir, warehouse_path, postgres_server):
    env = postgres_instance_env(tmp_path, landing_dir, warehouse_path, postgres_server)
    # dagster-postgres as shipped (deploy/postgres uses the pooled storage): Dagster's own reference
    with open(os.path.join(env["DAGSTER_HOME"], "dagster.yaml"), "w") as handle:
        handle.write("telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n")
    with mock.patch.dict("os.environ", env):
        with DagsterInstance.get() as stock:
            assert type(stock.event_log_storage).__name__ == "PostgresEventLogStorage"
            stock_run = _run_day(stock, "2013-01-02")
        worker = instance_worker.worker_instance()
        try:
            worker_runs = [_run_day(worker, day) for day in ("2013-01-03", "2013-01-04")]
            # one kept-open connection per storage, not one per call: at most a few held here
            assert 1 <= _connections(worker, env["DAGSTER_PG_URL"]) <= 4
        finally:
            worker.dispose()

        with DagsterInstance.get() as reader:  # what Dagit and `dagster` see
            stock_events = [event.dagster_event_type for event in reader.all_logs(stock_run)]
            assert len(stock_events) > 30
            for run_id in worker_runs:
                assert [event.dagster_event_type for event in reader.all_logs(run_id)] == stock_events
                assert reader.get_run_by_id(run_id).status == reader.get_run_by_id(stock_run).status
                stats = reader.get_run_stats(run_id)
                assert stats.steps_succeeded == 5 and stats.materializations == 3 and stats.end_time
            loads = reader.get_event_records(
                EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(["warehouse", "flights"]))
            )
            assert sorted(record.event_log_entry.run_id for record in loads) == sorted([stock_run, *worker_runs])
            partitions = sorted(
                record.event_log_entry.dagster_event.step_materialization_data.materialization.partition for record in loads
            )
            assert partitions == ["2013-01-02", "2013-01-03", "2013-01-04"]
