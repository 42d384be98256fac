"""Helpers for tests that execute the pipelines with partition config."""
import duckdb
import pandas as pd
from dagster import execute_pipeline

from flights_etl.partitions import flights_daily_partition_set, flights_monthly_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline


def _run_partition(pipeline, partition_set, name: str, resources_config, instance):
    """Execute ``pipeline`` in the test mode with the partition set's run config and tags for ``name``."""
    partition = partition_set.get_partition(name)
    run_config = partition_set.run_config_for_partition(partition)
    return execute_pipeline(
        pipeline,
        run_config={**run_config, "resources": {**run_config["resources"], **resources_config}},
        mode="test",
        instance=instance,
        tags=partition_set.tags_for_partition(partition),
        raise_on_error=False,
    )


def run_daily(day: str, resources_config, instance):
    return _run_partition(flights_daily_pipeline, flights_daily_partition_set, day, resources_config, instance)


def run_monthly(month: str, resources_config, instance):
    return _run_partition(flights_monthly_pipeline, flights_monthly_partition_set, month, resources_config, instance)


def daily_run_args(day: str) -> dict:
    """What ``instance.create_run_for_pipeline`` needs for ``day``'s run, as the backfill creates it."""
    partition = flights_daily_partition_set.get_partition(day)
    return dict(
        pipeline_def=flights_daily_pipeline,
        run_config=flights_daily_partition_set.run_config_for_partition(partition),
        mode=flights_daily_partition_set.mode,
        tags=flights_daily_partition_set.tags_for_partition(partition),
    )


def run_with_run_config(pipeline, run_config: dict, resources_config, instance):
    """Execute ``pipeline`` in the test mode with a hand-written run config (what an edited config
    in Dagit's launchpad would hold) plus the test's resources."""
    run_config = {**run_config, "resources": {**run_config.get("resources", {}), **resources_config}}
    return execute_pipeline(pipeline, run_config=run_config, mode="test", instance=instance, raise_on_error=False)


def read_table(warehouse_path: str, sql: str, params=None) -> pd.DataFrame:
    with duckdb.connect(warehouse_path, read_only=True) as connection:
        return connection.execute(sql, params or []).df()


def snapshot(warehouse_path: str) -> dict:
    """Every table of the warehouse, sorted, for exact before/after comparisons."""
    with duckdb.connect(warehouse_path, read_only=True) as connection:
        tables = [row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").df() for table in sorted(tables)
        }


def assert_same_snapshot(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], check_exact=True, obj=table)


def failure_message(result) -> str:
    """The error message of the first failed step of a pipeline result, with the messages of its causes."""
    for event in result.event_list:
        if event.event_type_value == "STEP_FAILURE":
            error, messages = event.event_specific_data.error, []
            while error is not None:
                messages.append(error.message)
                error = error.cause
            return "\n".join(messages)
    raise AssertionError("the run has no failed step")
