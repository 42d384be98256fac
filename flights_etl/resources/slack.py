"""The one way this project reaches Slack: a slack_sdk ``WebClient`` with the deployment's token.

The prod mode's ``slack`` resource (completion messages) and the failure alerts both use ``slack_client``.
"""
from dagster import resource

from flights_etl import settings
from flights_etl.extras import require_extra


def slack_client():
    """A Slack client with ``$SLACK_TOKEN``, read now; a one-line error naming the variable when unset."""
    require_extra("slack", "slack_sdk")
    from slack_sdk import WebClient  # only the prod mode reaches Slack

    token = settings.read(settings.SLACK_TOKEN)
    if not token:
        raise RuntimeError(f"${settings.SLACK_TOKEN} is not set: cannot post to Slack")
    return WebClient(token=token)


# The token from the deployment only: an empty schema refuses resources.slack.config in run config.
@resource(config_schema={}, description="A Slack client with the token in $SLACK_TOKEN (never from run config).")
def slack_resource(_init_context):
    return slack_client()
