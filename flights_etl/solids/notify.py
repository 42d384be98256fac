"""Send the run's one-line summary through the ``notifier`` resource."""
from dagster import ExpectationResult, Output, OutputDefinition, solid

from flights_etl.solids.types import Summary


@solid(
    required_resource_keys={"notifier"},
    output_defs=[OutputDefinition(Summary)],
    description="Send the completion message (log locally, Slack in prod). The data is already loaded, so a "
    "notifier outage is a warning and a failed expectation, not a failed run.",
)
def notify_complete(context, summary: Summary):
    try:
        context.resources.notifier.send(summary)
        sent, problem = True, None
    except Exception as error:  # Slack down, token revoked, ...: the load itself stands
        sent, problem = False, f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        context.log.warning(f"Could not send the completion message ({problem}); the data is loaded.")
    yield ExpectationResult(
        success=sent,
        label="notification_sent",
        description="completion message sent" if sent else f"completion message not sent: {problem}",
    )
    yield Output(summary)
