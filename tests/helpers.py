"""Helpers for tests that execute the pipelines with partition config."""
import numbers
import os
import time

import duckdb
import pandas as pd
from dagster import execute_pipeline

from flights_etl.partitions import flights_daily_partition_set, flights_monthly_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline
from flights_etl.warehouse.tables import LOADS_TABLE


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


def _is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def read_table(location: str, sql: str, params=None) -> pd.DataFrame:
    """A query over the warehouse at ``location`` (DuckDB file or PostgreSQL URL), straight through its
    driver. Write SQL both understand (``?`` for parameters, ``CAST(d AS VARCHAR)`` for dates)."""
    if _is_postgres(location):
        import psycopg2

        with psycopg2.connect(location) as connection, connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), list(params or []))
            columns = [description.name for description in cursor.description]
            frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
        connection.close()
        for column in frame.columns:
            if frame[column].map(lambda value: value is None or isinstance(value, numbers.Number)).all():
                frame[column] = pd.to_numeric(frame[column])
        return frame
    with duckdb.connect(location, read_only=True) as connection:
        return connection.execute(sql, params or []).df()


def execute_sql(location: str, *statements: str) -> None:
    """Run statements on the warehouse, each committed (to break it on purpose, say)."""
    if _is_postgres(location):
        import psycopg2

        with psycopg2.connect(location) as connection, connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        connection.close()
        return
    with duckdb.connect(location) as connection:
        for statement in statements:
            connection.execute(statement)


def snapshot(location: str) -> dict:
    """Every data table of the warehouse, every row sorted, for exact before/after comparisons (not
    partition_loads: which run committed a partition changes with every load, by design)."""
    if not _is_postgres(location) and not os.path.exists(location):
        return {}
    schema = "public" if _is_postgres(location) else "main"
    tables = read_table(
        location, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", [schema]
    )["table_name"].tolist()
    result = {}
    for table in tables:
        if table == LOADS_TABLE:
            continue
        columns = read_table(
            location, "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position", [schema, table]
        )["column_name"].tolist()
        order = ", ".join(str(position) for position in range(1, len(columns) + 1))
        result[table] = read_table(location, f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
    return result


def assert_same_snapshot(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], check_exact=True, obj=table)


def failure_message(result) -> str:
    """The error message of the first failed step (or failed resource initialization) of a pipeline result,
    with the messages of its causes."""
    for event in result.event_list:
        if event.event_type_value in ("STEP_FAILURE", "RESOURCE_INIT_FAILURE"):
            error, messages = event.event_specific_data.error, []
            while error is not None:
                messages.append(error.message)
                error = error.cause
            return "\n".join(messages)
    raise AssertionError("the run has no failed step")


def wait_until(what: str, condition, timeout_s: float, poll_s: float = 0.5):
    """``condition()``'s first truthy value, polled every ``poll_s``; fails naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(poll_s)
