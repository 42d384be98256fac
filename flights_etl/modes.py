"""Resources per environment, merged into the modes both pipelines offer."""
from dagster import ModeDefinition, mem_io_manager

from flights_etl.resources.landing import landing_resource
from flights_etl.resources.notifier import log_notifier, slack_notifier
from flights_etl.resources.partition import daily_partition_resource, monthly_partition_resource
from flights_etl.resources.slack import slack_resource
from flights_etl.resources.step_outputs import step_outputs_io_manager
from flights_etl.resources.warehouse import explicit_warehouse_resource, warehouse_resource
from flights_etl.resources.warehouse_tables import warehouse_tables_io_manager
from flights_etl.runs.executor import recording_in_process_executor

# Every mode executes in-process, recording the executing process first (see runs/executor.py).
EXECUTORS = [recording_in_process_executor]

# The run's partition: each pipeline requires one of the two, filled in by its partition set.
PARTITION_RESOURCES = {
    "daily_partition": daily_partition_resource,
    "monthly_partition": monthly_partition_resource,
}

LOCAL_RESOURCES = {
    **PARTITION_RESOURCES,
    "warehouse": warehouse_resource,
    "landing": landing_resource,
    "notifier": log_notifier,
    # Small step outputs that Dagit can re-execute from failure (landing frames are re-read, not stored).
    "io_manager": step_outputs_io_manager,
    # The solids' table outputs (Dagit's assets): already in the warehouse, so stored nowhere else.
    "warehouse_tables": warehouse_tables_io_manager,
}

TEST_RESOURCES = {
    **PARTITION_RESOURCES,
    "warehouse": explicit_warehouse_resource,
    "landing": landing_resource,
    "notifier": log_notifier,
    "io_manager": mem_io_manager,
    "warehouse_tables": warehouse_tables_io_manager,
}


PROD_RESOURCES = {
    **LOCAL_RESOURCES,
    "notifier": slack_notifier,
    "slack": slack_resource,
}

MODES = [
    ModeDefinition(
        name="local",
        executor_defs=EXECUTORS,
        resource_defs=LOCAL_RESOURCES,
        description="Default: the warehouse at $FLIGHTS_WAREHOUSE (DuckDB file or PostgreSQL URL) or "
        "data/warehouse.duckdb, notifications to the log.",
    ),
    ModeDefinition(
        name="test",
        executor_defs=EXECUTORS,
        resource_defs=TEST_RESOURCES,
        description="For tests: $FLIGHTS_WAREHOUSE must be set; outputs kept in memory.",
    ),
    ModeDefinition(
        name="prod",
        executor_defs=EXECUTORS,
        resource_defs=PROD_RESOURCES,
        description="Production: completion messages posted to Slack with the token in $SLACK_TOKEN.",
    ),
]
