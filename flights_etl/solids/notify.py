"""Send the run's one-line summary through the ``notifier`` resource."""
from dagster import solid


@solid(required_resource_keys={"notifier"}, description="Send the completion message (log locally, Slack in prod).")
def notify_complete(context, summary: str) -> str:
    context.resources.notifier.send(summary)
    return summary
