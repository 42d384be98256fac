"""``flights_failure_alert_sensor``: one alert per failed run of any pipeline of its repository.

The alert names the pipeline, the partition, the failing step and the first line of its error.
Every alert is written into the failed run's own event log (an engine event
``flights alert: ...``, shown on the run's page in Dagit) and to the Python logger
``flights_etl.alerts``; a run of the ``prod`` mode also posts it to Slack (channel
``$FLIGHTS_ALERT_CHANNEL``, default ``#data-pipelines``; token from ``$SLACK_TOKEN`` only, never
logged). Dagster's run-failure sensor keeps a cursor over
the failure events, but a run can get two of them (a failed launch is reported by both
``launch_run`` and ``submit_run``): a run whose log already holds an alert gets no second one.
When no step failed and the failure event carries no error ("marked as failed from outside the
execution context"), the alert carries the run's last error event before it: the real cause.
The logger has one handler of its own, so every alert line has the same format whatever logging
the hosting process (the daemon, a test) set up.
"""
import logging
from typing import Callable, Optional

from dagster import DagsterEventType, DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from flights_etl import settings
from flights_etl.errors import first_line
from flights_etl.resources.slack import slack_client as default_slack_client
from flights_etl.runs.errors import own_message
from flights_etl.runs.tags import PARTITION_TAG

ALERT_CHANNEL_ENV = settings.ALERT_CHANNEL
logger = logging.getLogger("flights_etl.alerts")


LOG_FORMAT = "%(asctime)s - flights_etl.alerts - %(levelname)s - %(message)s"


def alert_text(context: RunFailureSensorContext) -> str:
    run = context.pipeline_run
    step, error = _first_step_failure(context)
    partition = run.tags.get(PARTITION_TAG, "no partition")
    where = f"at step {step}" if step else "before any step"
    return f"{run.pipeline_name} {partition} failed {where}: {error} (run {run.run_id}, mode {run.mode})"


def _first_step_failure(context: RunFailureSensorContext):
    records = context.instance.all_logs(context.pipeline_run.run_id)
    for record in records:
        event = record.dagster_event
        if event is not None and event.event_type == DagsterEventType.STEP_FAILURE:
            return event.step_key, first_line(own_message(event.event_specific_data.error), "no message")
    error = getattr(context.failure_event.event_specific_data, "error", None)
    if error is not None:
        return None, first_line(own_message(error), "no message")
    return None, first_line(_last_error_before_failure(records) or context.failure_event.message or "run failed", "no message")


def _last_error_before_failure(records) -> Optional[str]:
    """The message of the last ERROR-level event before the run's first failure event (Dagster's
    failed launch: an engine event with the error, then the failure events without it)."""
    cause = None
    for record in records:
        event = record.dagster_event
        if event is not None and event.event_type == DagsterEventType.PIPELINE_FAILURE:
            break
        if record.level >= logging.ERROR:
            error = getattr(event.event_specific_data, "error", None) if event is not None else None
            cause = own_message(error) if error is not None else record.message
    return cause


def already_alerted(instance, run_id: str) -> bool:
    return any(record.message.startswith(ALERT_PREFIX)
               for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT))


def alert_logger() -> logging.Logger:
    """``flights_etl.alerts`` with its own stderr handler (added once), not propagated to whatever
    the hosting process configured: one format for every alert line."""
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger



ALERT_PREFIX = "flights alert: "


def send_alert(text: str, run, instance, slack_client: Optional[Callable] = None) -> None:
    """Record the alert in the run's log; in the prod mode also post it to Slack. A Slack outage is
    recorded beside the alert, never raised."""
    alert_logger().warning("%s%s", ALERT_PREFIX, text)
    instance.report_engine_event(ALERT_PREFIX + text, run)
    if run.mode != "prod":
        return
    try:
        client = (slack_client or default_slack_client)()
        client.chat_postMessage(channel=settings.read(ALERT_CHANNEL_ENV) or "#data-pipelines", text=text)
    except Exception as error:  # messages of slack_sdk and ours name no token
        problem = f"flights alert not posted to Slack ({type(error).__name__}): {first_line(str(error), 'no message')}"
        alert_logger().error(problem)
        instance.report_engine_event(problem, run)


@run_failure_sensor(
    name="flights_failure_alert_sensor",
    # no selection: every pipeline of the repository it is defined in (Dagster checks the run's origin)
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    description="One alert per failed run: Slack for prod runs, the daemon's log for all.",
)
def flights_failure_alert_sensor(context: RunFailureSensorContext):
    if already_alerted(context.instance, context.pipeline_run.run_id):
        return  # the run's second failure event
    send_alert(alert_text(context), context.pipeline_run, context.instance)
