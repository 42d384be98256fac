"""One way to Slack: the prod mode's ``slack`` resource and the failure alerts share ``slack_client``."""
import pytest
from dagster import DagsterInstance, build_init_resource_context
from slack_sdk import WebClient

from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.resources.slack import slack_client, slack_resource
from flights_etl.sensors.failure_alerts import ALERT_PREFIX, send_alert


def test_the_resource_and_the_alerts_get_a_client_with_the_deployments_token(monkeypatch):
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-deployment")
    client = slack_resource(build_init_resource_context())
    assert isinstance(client, WebClient) and client.token == "xoxb-deployment"
    assert slack_client().token == "xoxb-deployment"


def test_no_token_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.delenv("SLACK_TOKEN", raising=False)
    with pytest.raises(RuntimeError, match=r"^\$SLACK_TOKEN is not set: cannot post to Slack$"):
        slack_client()


class _Recorder:
    def __init__(self):
        self.posted = []

    def chat_postMessage(self, channel, text):  # noqa: N802  (slack_sdk's name)
        self.posted.append((channel, text))


def test_a_prod_alert_is_posted_and_a_missing_token_is_recorded_beside_it(monkeypatch):
    instance = DagsterInstance.ephemeral()
    run = instance.create_run_for_pipeline(
        flights_daily_pipeline, mode="prod", run_config={"resources": {"daily_partition": {"config": {"date": "2013-01-10"}}}}
    )
    recorder = _Recorder()
    monkeypatch.setenv("FLIGHTS_ALERT_CHANNEL", "#ops")
    send_alert("day 2013-01-10 failed", run, instance, slack_client=lambda: recorder)
    assert recorder.posted == [("#ops", "day 2013-01-10 failed")]

    monkeypatch.delenv("SLACK_TOKEN", raising=False)
    send_alert("day 2013-01-11 failed", run, instance)  # the default client: no token
    messages = [record.message for record in instance.all_logs(run.run_id)]
    assert ALERT_PREFIX + "day 2013-01-11 failed" in messages
    assert "flights alert not posted to Slack (RuntimeError): $SLACK_TOKEN is not set: cannot post to Slack" in messages
