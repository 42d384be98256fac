"""Dagit's GraphQL API as the Launchpad, the Partitions tab and the run page call it."""
import json
import urllib.request

REPOSITORY_SELECTOR = {"repositoryLocationName": "flights_etl.repository", "repositoryName": "flights_etl"}


def graphql(base: str, query: str, variables: dict = None) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def launch_attempt(base: str, pipeline: str, run_config: dict, tags: dict, mode: str = "local") -> dict:
    """What the Launchpad's Launch Run button sends, and Dagit's answer (a run, or why not)."""
    return graphql(base, """
        mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
          __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
          ... on RunConfigValidationInvalid { errors { message } } } }""", {"params": {
        "selector": {**REPOSITORY_SELECTOR, "pipelineName": pipeline},
        "runConfigData": run_config, "mode": mode,
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }})["launchPipelineExecution"]


def launch(base: str, pipeline: str, run_config: dict, tags: dict, mode: str = "local") -> str:
    """What the Launchpad's Launch Run button sends."""
    data = launch_attempt(base, pipeline, run_config, tags, mode)
    assert data["__typename"] == "LaunchRunSuccess", data
    return data["run"]["runId"]


def launch_partition_backfill(base: str, partition_set: str, partitions) -> str:
    """What the Partitions tab's backfill dialog sends (the daemon then submits the runs)."""
    data = graphql(base, """
        mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
          __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""", {"params": {
        "selector": {"partitionSetName": partition_set, "repositorySelector": REPOSITORY_SELECTOR},
        "partitionNames": list(partitions), "fromFailure": False, "tags": [],
    }})["launchPartitionBackfill"]
    assert data["__typename"] == "LaunchBackfillSuccess", data
    return data["backfillId"]


def reexecute_from_failure(base: str, parent_run_id: str) -> str:
    """What the run page's Re-execute > From failure sends."""
    data = graphql(base, """
        mutation($params: ReexecutionParams!) { launchPipelineReexecution(reexecutionParams: $params) {
          __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
                   {"params": {"parentRunId": parent_run_id, "strategy": "FROM_FAILURE"}})["launchPipelineReexecution"]
    assert data["__typename"] == "LaunchRunSuccess", data
    return data["run"]["runId"]


def terminate(base: str, run_id: str) -> dict:
    """The run page's Terminate button."""
    return graphql(base, """
        mutation($runId: String!) { terminatePipelineExecution(runId: $runId) {
          __typename ... on TerminateRunSuccess { run { runId } } ... on TerminateRunFailure { message }
          ... on PythonError { message } } }""", {"runId": run_id})["terminatePipelineExecution"]
