"""Dagit 0.15.10's pages as the tests use them: URLs, GraphQL, the launchpad, the run matrix."""
import re
import socket
import subprocess
import time
from typing import Dict, List

from tests.backfill.cli_helpers import stock_backfill

# <repository>@<location>: the workspace loads the package flights_etl.repository.
REPOSITORY = "flights_etl@flights_etl.repository"
RUN_ID = re.compile(r"/instance/runs/([0-9a-f-]{36})")
DONE = ("SUCCESS", "FAILURE", "CANCELED")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pipeline_url(base: str, pipeline: str, tab: str) -> str:
    return f"{base}/workspace/{REPOSITORY}/pipelines/{pipeline}/{tab}"


def partitions_url(base: str, pipeline: str) -> str:
    return pipeline_url(base, pipeline, "partitions")


def cli_backfill(env: dict, start: str, end: str) -> subprocess.CompletedProcess:
    """`dagster pipeline backfill` of flights_daily_partition_set from start to end, as a user runs it
    (waited for until its last run has finished)."""
    return stock_backfill(env, start, end)


def graphql(page, base: str, query: str, variables: dict = None) -> dict:
    response = page.request.post(f"{base}/graphql", data={"query": query, "variables": variables or {}})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


RUNS_QUERY = """
query($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs { results {
  runId status parentRunId rootRunId tags { key value } stepKeysToExecute } } } }
"""


def runs(page, base: str, tags: Dict[str, str] = None) -> List[dict]:
    filter_ = {"pipelineName": "flights_daily_pipeline"}
    if tags:
        filter_["tags"] = [{"key": key, "value": value} for key, value in tags.items()]
    found = graphql(page, base, RUNS_QUERY, {"filter": filter_})["runsOrError"]["results"]
    for run in found:
        run["tags"] = {tag["key"]: tag["value"] for tag in run["tags"]}
    return found


def wait_runs_done(page, base: str, expected: int, tags: Dict[str, str] = None, timeout_s: float = 180) -> List[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = runs(page, base, tags)
        if len(found) >= expected and all(run["status"] in DONE for run in found):
            return found
        time.sleep(1)
    raise TimeoutError(f"runs {tags} not done after {timeout_s}s: {[(r['runId'], r['status']) for r in found]}")


def step_starts(page, base: str, run_id: str) -> List[str]:
    """Step keys that started in a run, from its event log."""
    data = graphql(page, base, """
        query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
          __typename ... on StepEvent { stepKey } } } } }""", {"id": run_id})
    return [event["stepKey"] for event in data["logsForRun"]["events"] if event["__typename"] == "ExecutionStepStartEvent"]


def choose_partition(page, partition_set: str, partition: str) -> str:
    """In the launchpad: pick the partition set and a partition; returns the config editor's text."""
    page.click('[data-test-id="preset-selector-button"]')
    page.locator(".bp3-menu-item", has_text=partition_set).first.click()
    picker = page.locator('input[placeholder="Partition"]')
    picker.click()
    picker.fill(partition)
    page.locator(".bp3-menu-item", has_text=partition).first.click()
    page.wait_for_function(
        "p => { const e = document.querySelector('.CodeMirror'); return e && e.CodeMirror.getValue().includes(p); }",
        arg=partition,
    )
    return page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")


def partition_counts(page) -> Dict[str, int]:
    counts = {}
    for label in ("Total partitions", "Failed partitions", "Missing partitions"):
        strong = page.locator(f"xpath=//div[text()='{label}']/preceding-sibling::div/strong")
        counts[label] = int(strong.inner_text())
    return counts


def show_per_step_status(page) -> None:
    page.get_by_role("button", name="Show per-step status").click()


def focus_matrix(page, index: int, total: int) -> None:
    """The matrix shows a window at the end of the set; clicking the status bar centres it on ``index``."""
    box = page.evaluate("""() => { const r = document.querySelector('[title="Click to view per-step status"]')
                                       .parentElement.parentElement.getBoundingClientRect();
                                   return {x: r.left, y: r.top, w: r.width, h: r.height}; }""")
    page.mouse.click(box["x"] + box["w"] * (index + 0.5) / total, box["y"] + box["h"] / 2)


def wait_matrix_loaded(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_selector(".square", timeout=timeout_ms)
    page.wait_for_function("() => document.querySelectorAll('.square.loading').length === 0", timeout=timeout_ms)


def matrix_columns(page) -> Dict[str, List[str]]:
    """Partition name -> status of its squares: first the Last Run row, then one row per step."""
    columns = page.evaluate("""() => Array.from(document.querySelectorAll('.tilted')).map(label => {
        let column = label; while (column && !column.querySelector('.square')) column = column.parentElement;
        return [label.textContent.trim(), Array.from(column.querySelectorAll('.square')).map(square =>
            Array.from(square.classList).filter(c => c !== 'square' && !c.startsWith('sc-')).join(' '))]; })""")
    return dict(columns)



def matrix_row_labels(page, labels: List[str]) -> List[str]:
    """Which of ``labels`` label the matrix's rows, top to bottom."""
    found = page.evaluate("""labels => Array.from(document.querySelectorAll('div, span'))
        .filter(e => e.children.length === 0 && labels.includes(e.textContent.trim()))
        .map(e => [e.getBoundingClientRect().top, e.textContent.trim()])""", labels)
    return [label for _top, label in sorted(found)]
