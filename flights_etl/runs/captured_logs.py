"""Dagster 0.15.10 records a ``LOGS_CAPTURED`` event as each step starts ("Started capturing logs
for step ..."), which points Dagit at the step's captured stdout and stderr. A backfill worker's
instance captures nothing (``NoOpComputeLogManager``: the parent shows progress, and a run's log
lines are in its event log), so those five events a run would point at logs that do not exist;
recording them is ~0.7 of a year's ~35 CPU-s. ``only_real_captures`` leaves them out of the
event log when the instance captures nothing, and changes nothing otherwise: the event is still
built and handed to the executor as before, and an instance that captures logs records it.
Applied by ``many_runs.prepare_process``.
"""
import os

from dagster import DagsterEvent, DagsterEventType

from flights_etl.dagster_private import ComputeLogsCaptureData, NoOpComputeLogManager

_dagster_capture_logs = DagsterEvent.capture_logs


def _capture_logs(pipeline_context, log_key, steps):
    step = getattr(pipeline_context, "step", None)
    if step is None or len(steps) != 1 or not isinstance(pipeline_context.instance.compute_log_manager,
                                                         NoOpComputeLogManager):
        return _dagster_capture_logs(pipeline_context, log_key, steps)
    # What DagsterEvent.from_step builds for it, without logging (and so storing) it.
    return DagsterEvent(
        event_type_value=DagsterEventType.LOGS_CAPTURED.value,
        pipeline_name=pipeline_context.pipeline_name,
        step_handle=step.handle,
        solid_handle=step.solid_handle,
        step_kind_value=step.kind.value,
        logging_tags=pipeline_context.logging_tags,
        event_specific_data=ComputeLogsCaptureData(step_keys=[steps[0].key], log_key=log_key),
        message=f"Started capturing logs for step: {steps[0].key}.",
        pid=os.getpid(),
    )


def only_real_captures() -> None:
    DagsterEvent.capture_logs = staticmethod(_capture_logs)
