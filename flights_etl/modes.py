"""Resources per environment, merged into the modes both pipelines offer."""
from dagster import ModeDefinition, fs_io_manager, mem_io_manager
from dagster_slack import slack_resource

from flights_etl.resources.landing import landing_resource
from flights_etl.resources.notifier import log_notifier, slack_notifier
from flights_etl.resources.warehouse import explicit_warehouse_resource, warehouse_resource

LOCAL_RESOURCES = {
    "warehouse": warehouse_resource,
    "landing": landing_resource,
    "notifier": log_notifier,
    # Step outputs are pickled under $DAGSTER_HOME/storage so Dagit can re-execute from failure.
    "io_manager": fs_io_manager,
}

TEST_RESOURCES = {
    "warehouse": explicit_warehouse_resource,
    "landing": landing_resource,
    "notifier": log_notifier,
    "io_manager": mem_io_manager,
}

PROD_RESOURCES = {
    **LOCAL_RESOURCES,
    "notifier": slack_notifier,
    "slack": slack_resource.configured({"token": {"env": "SLACK_TOKEN"}}),
}

MODES = [
    ModeDefinition(
        name="local",
        resource_defs=LOCAL_RESOURCES,
        description="Default: DuckDB file at $FLIGHTS_WAREHOUSE or data/warehouse.duckdb, notifications to the log.",
    ),
    ModeDefinition(
        name="test",
        resource_defs=TEST_RESOURCES,
        description="For tests: warehouse and landing paths must be given (temp dirs); outputs kept in memory.",
    ),
    ModeDefinition(
        name="prod",
        resource_defs=PROD_RESOURCES,
        description="Production: completion messages posted to Slack with the token in $SLACK_TOKEN.",
    ),
]
