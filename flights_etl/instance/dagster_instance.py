"""``FlightsInstance``: Dagster 0.15.10's instance without its run-creation deadlock.

Creating a run, Dagster 0.15.10 records an ``ASSET_MATERIALIZATION_PLANNED`` event per asset
through a new console log manager, and making one calls ``logging.config.dictConfig``, which
flushes and closes every logging handler of the process while it holds logging's module lock. If
another thread is writing a log record at that moment (it holds that handler's lock, and asks for
the module lock), both wait for good. In ``dagster-daemon`` the sensor, backfill and scheduler
threads create runs at the same time: a Dagit backfill while the landing sensor launched runs
stopped the daemon (every daemon, for good). Dagster 1.x records these events without a log
manager (dagster-io/dagster#9648); so does this class, with the same event rows.

Every ``dagster.yaml`` the project ships names it (``instance_class``); an instance without it
is Dagster's own and works as before, with the deadlock.
"""
import logging
import time
from typing import Iterable

from dagster import AssetKey, DagsterEvent, DagsterEventType, DagsterInstance, EventLogEntry

from flights_etl.dagster_private import AssetMaterializationPlannedData, InstanceRef


def record_planned_assets(instance: DagsterInstance, run_id: str, pipeline_name: str, asset_keys: Iterable[AssetKey]) -> None:
    """The events Dagster's ``create_run`` logs for each asset the run's plan will materialize."""
    for asset_key in asset_keys:
        message = f"{pipeline_name} intends to materialize asset {asset_key.to_string()}"
        instance.handle_new_event(EventLogEntry(
            user_message=message, level=logging.DEBUG, pipeline_name=pipeline_name, run_id=run_id,
            error_info=None, timestamp=time.time(), step_key=None,
            dagster_event=DagsterEvent(
                DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value, pipeline_name, message=message,
                event_specific_data=AssetMaterializationPlannedData(asset_key),
            ),
        ))


def planned_assets(execution_plan_snapshot) -> list:
    """The asset keys of the outputs of the steps the plan executes."""
    return [
        output.properties.asset_key
        for step in execution_plan_snapshot.steps if step.key in execution_plan_snapshot.step_keys_to_execute
        for output in step.outputs if output.properties.asset_key
    ]


class FlightsInstance(DagsterInstance):
    """``instance_class: {module: flights_etl.instance.dagster_instance, class: FlightsInstance}``."""

    @classmethod
    def config_schema(cls):
        return {}  # no settings of its own

    @staticmethod
    def config_defaults(base_dir):
        return InstanceRef.config_defaults(base_dir)

    def _log_asset_materialization_planned_events(self, pipeline_run, execution_plan_snapshot):
        record_planned_assets(self, pipeline_run.run_id, pipeline_run.pipeline_name, planned_assets(execution_plan_snapshot))
