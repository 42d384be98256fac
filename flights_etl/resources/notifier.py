"""The ``notifier`` resource: where a run's completion message goes (the log, or Slack in prod)."""
from dagster import Field, resource


class LogNotifier:
    """Writes the message to the run's log; the default for local and test runs."""

    def __init__(self, log):
        self._log = log

    def send(self, message: str) -> None:
        self._log.info(f"notification: {message}")


class SlackNotifier:
    """Posts the message to a Slack channel through the ``slack`` resource (resources/slack.py)."""

    def __init__(self, client, channel: str):
        self._client = client
        self._channel = channel

    def send(self, message: str) -> None:
        self._client.chat_postMessage(channel=self._channel, text=message)


@resource(description="Logs completion messages to the run log.")
def log_notifier(init_context) -> LogNotifier:
    return LogNotifier(init_context.log)


@resource(
    config_schema={
        "channel": Field(
            str,  # not StringSource: {env: VARIABLE} in the Launchpad must not read the deployment's secrets
            default_value="#data-pipelines",
            description="Slack channel for completion messages.",
        )
    },
    required_resource_keys={"slack"},
    description="Posts completion messages to Slack (token from $SLACK_TOKEN via the slack resource).",
)
def slack_notifier(init_context) -> SlackNotifier:
    return SlackNotifier(init_context.resources.slack, init_context.resource_config["channel"])
