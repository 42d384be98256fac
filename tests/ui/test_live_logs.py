"""Live run logs on Python 3.11: Dagit's websocket handshake succeeds and run events stream to the page.

Stock dagit 0.15.10 under uvicorn's default `websockets` answers the handshake with the subprotocol
'GraphQLWS.PROTOCOL'; the browser drops the socket and the run page never updates. flights-dagit
serves the socket with wsproto (flights_etl/dagit_tools/server.py).
"""
import json
import socket

from flights_etl.partitions import flights_daily_partition_set
from tests.ui.dagit import REPOSITORY, graphql

DAY = "2013-01-16"
LAUNCH = """
mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""


def _handshake(port: int) -> str:
    """The raw HTTP response of a graphql-ws websocket upgrade on /graphql."""
    request = (
        f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: graphql-ws\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode())
        return connection.recv(4096).decode("latin-1")


def test_websocket_handshake_answers_graphql_ws(start_dagit):
    dagit = start_dagit()
    response = _handshake(dagit.port)
    assert response.startswith("HTTP/1.1 101"), response
    headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in response.split("\r\n")[1:] if ":" in line}
    assert headers["sec-websocket-protocol"] == "graphql-ws"


def test_run_events_arrive_over_the_subscription_without_websocket_errors(start_dagit, page):
    dagit = start_dagit()
    page.goto(f"{dagit.url}/instance/runs")
    partition = flights_daily_partition_set.get_partition(DAY)
    location = REPOSITORY.split("@")[1]
    launched = graphql(page, dagit.url, LAUNCH, {"params": {
        "selector": {"repositoryLocationName": location, "repositoryName": "flights_etl",
                     "pipelineName": "flights_daily_pipeline"},
        "runConfigData": flights_daily_partition_set.run_config_for_partition(partition),
        "mode": "local",
        "executionMetadata": {"tags": [{"key": k, "value": v}
                                       for k, v in flights_daily_partition_set.tags_for_partition(partition).items()]},
    }})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    page.goto(f"{dagit.url}/instance/runs/{run_id}")
    page.get_by_text("RUN_SUCCESS").first.wait_for(timeout=90_000)

    typenames = set()
    for payload in page.log.received():
        message = json.loads(payload)
        if message.get("type") == "data":
            logs = message["payload"]["data"].get("pipelineRunLogs") or {}
            typenames.update(event["__typename"] for event in logs.get("messages", []))
    assert {"RunStartEvent", "ExecutionStepSuccessEvent", "RunSuccessEvent"} <= typenames, typenames
    assert any(url.endswith("/graphql") for url in page.log.websockets)
    assert page.log.websocket_errors() == []
    assert page.log.errors() == []
