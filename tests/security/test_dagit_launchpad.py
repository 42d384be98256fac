"""Dagit has no login: whoever reaches it writes the run config. Through a real Dagit (and daemon) on the
embedded default (SQLite instance, DuckDB warehouse), with secrets in the environment of the processes
that execute the runs, the run configs that pointed runs elsewhere or printed a password are refused,
and the password shows nowhere: not in the instance's events, files, file names, logs or Dagit's answers."""
import json
import os
import secrets
import urllib.request
from datetime import date

import pytest
from dagster import DagsterInstance

from flights_etl.partitions import flights_daily_partition_set
from tests.backfill.cli_helpers import PROJECT_ROOT
from tests.fleet.dagit_api import REPOSITORY_SELECTOR, graphql, launch_attempt
from tests.helpers import assert_same_snapshot, read_table, snapshot, wait_until
from tests.raw_data import flights_on
from tests.servers import DagitStack
from tests.ui.dagit import free_port

pytestmark = pytest.mark.slow

DAY = "2013-01-15"

RUN_PAGE = """
query($id: ID!) {
  pipelineRunOrError(runId: $id) { __typename ... on Run { runId status mode runConfigYaml tags { key value } } }
  logsForRun(runId: $id) { __typename ... on EventConnection { events { __typename
    ... on MessageEvent { message }
    ... on ErrorEvent { error { message stack causes { message stack } } } } } }
}"""

PARTITION_STATUSES = """
query($selector: RepositorySelector!) {
  partitionSetOrError(repositorySelector: $selector, partitionSetName: "flights_daily_partition_set") {
    ... on PartitionSet { partitionStatusesOrError { ... on PartitionStatuses { results { partitionName runStatus } } } }
  }
}"""


def _partition(day: str):
    partition = flights_daily_partition_set.get_partition(day)
    tags = {
        **flights_daily_partition_set.tags_for_partition(partition),
        "dagster/partition": day,  # as the Launchpad's partition picker sets them
        "dagster/partition_set": "flights_daily_partition_set",
    }
    return flights_daily_partition_set.run_config_for_partition(partition), tags


def _with(run_config: dict, resource: str, config: dict) -> dict:
    return {**run_config, "resources": {**run_config["resources"], resource: {"config": config}}}


# (mode, resource, its config): the attacks, each with a secret variable of the deployment
ATTACKS = [
    ("local", "landing", {"dir": {"env": "FLIGHTS_BROKER_URL"}}),
    ("local", "warehouse", {"location": {"env": "FLIGHTS_BROKER_URL"}}),
    ("local", "warehouse", {"location": {"env": "DAGSTER_PG_URL"}}),
    ("local", "io_manager", {"base_dir": {"env": "DAGSTER_PG_URL"}}),
    ("local", "warehouse", {"lock_timeout_s": {"env": "DAGSTER_PG_URL"}}),
    ("test", "warehouse", {"location": {"env": "FLIGHTS_BROKER_URL"}}),
    ("test", "landing", {"dir": {"env": "DAGSTER_PG_URL"}}),
    ("prod", "notifier", {"channel": {"env": "FLIGHTS_BROKER_URL"}}),
    ("prod", "io_manager", {"base_dir": {"env": "SLACK_TOKEN"}}),
    ("prod", "slack", {"token": {"env": "FLIGHTS_BROKER_URL"}}),
]


def _wait_finished(instance, run_id: str):
    return wait_until(f"run {run_id} to finish", lambda: (run := instance.get_run_by_id(run_id)).is_finished and run,
                      timeout_s=240)


def _holding(root: str, needle: str) -> list:
    """Files under ``root`` whose name or content holds ``needle``."""
    found = []
    for directory, dirs, files in os.walk(root):
        found += [os.path.join(directory, name) for name in dirs + files if needle in name]
        for name in files:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    if needle.encode() in handle.read():
                        found.append(path)
    return found


def test_the_launchpad_cannot_point_runs_elsewhere_nor_reveal_a_secret(tmp_path, landing_dir):
    password = secrets.token_hex(16)
    home, work, logs = tmp_path / "dagster_home", tmp_path / "work", tmp_path / "logs"
    for directory in (home, work, logs):
        directory.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    warehouse = str(tmp_path / "warehouse.duckdb")
    env = {
        **os.environ, "DAGSTER_HOME": str(home), "FLIGHTS_LANDING_DIR": landing_dir, "FLIGHTS_WAREHOUSE": warehouse,
        "FLIGHTS_BROKER_URL": f"redis://:{password}@127.0.0.1:6379/0",
        "DAGSTER_PG_URL": f"postgresql://dagster:{password}@127.0.0.1:5432/dagster",
        "SLACK_TOKEN": f"xoxb-{password}",
    }
    project_entries = set(os.listdir(PROJECT_ROOT))
    answers = []  # every GraphQL and HTML answer Dagit gave
    stack = DagitStack(os.path.join(PROJECT_ROOT, "workspace.yaml"), port=free_port(), daemon=True, env=env,
                       cwd=str(work), log_dir=str(logs))
    with stack, DagsterInstance.from_config(str(home)) as instance:
        run_config, tags = _partition(DAY)
        launched = launch_attempt(stack.url, "flights_daily_pipeline", run_config, tags)
        answers.append(launched)
        assert launched["__typename"] == "LaunchRunSuccess", launched
        good = launched["run"]["runId"]
        assert _wait_finished(instance, good).status.value == "SUCCESS"
        assert read_table(warehouse, "SELECT count(*) AS n FROM flights").n[0] == len(flights_on(date(2013, 1, 15)))
        before = snapshot(warehouse)

        for mode, resource, config in ATTACKS:
            refused = launch_attempt(stack.url, "flights_daily_pipeline", _with(run_config, resource, config), tags, mode)
            answers.append(refused)
            assert refused["__typename"] == "RunConfigValidationInvalid", (mode, resource, refused)
            field = next(iter(config))
            messages = " ".join(error["message"] for error in refused["errors"])
            assert f'"{field}"' in messages or f"root:resources:{resource}:config:{field}" in messages, messages
        # Not a config value either: the place to write is the deployment's.
        literal = _with(run_config, "warehouse", {"location": str(tmp_path / "elsewhere.duckdb")})
        answers.append(launch_attempt(stack.url, "flights_daily_pipeline", literal, tags))
        assert answers[-1]["__typename"] == "RunConfigValidationInvalid", answers[-1]
        assert [run.run_id for run in instance.get_runs()] == [good]  # no refused launch made a run

        # One partition per run: config 2013-01-20 under the tag of 2013-01-21 fails before loading anything.
        mismatched = launch_attempt(stack.url, "flights_daily_pipeline", _partition("2013-01-20")[0],
                                    _partition("2013-01-21")[1])
        answers.append(mismatched)
        assert mismatched["__typename"] == "LaunchRunSuccess", mismatched
        mismatched = mismatched["run"]["runId"]
        assert _wait_finished(instance, mismatched).status.value == "FAILURE"
        assert_same_snapshot(before, snapshot(warehouse))
        statuses = graphql(stack.url, PARTITION_STATUSES, {"selector": REPOSITORY_SELECTOR})
        answers.append(statuses)
        status = {row["partitionName"]: row["runStatus"]
                  for row in statuses["partitionSetOrError"]["partitionStatusesOrError"]["results"]}
        assert (status[DAY], status["2013-01-20"], status["2013-01-21"]) == ("SUCCESS", None, "FAILURE")

        for run in instance.get_runs():
            page = graphql(stack.url, RUN_PAGE, {"id": run.run_id})
            answers.append(page)
            with urllib.request.urlopen(f"{stack.url}/instance/runs/{run.run_id}", timeout=30) as response:
                answers.append(response.read().decode())
            events = [repr(record) for record in instance.all_logs(run.run_id)]
            assert events and not [event for event in events if password in event], run.run_id
            assert password not in repr(run)
        assert "is 2013-01-20 but the run's dagster/partition tag is 2013-01-21" in json.dumps(answers)

    leaks = [text for text in map(json.dumps, answers) if password in text]
    assert not leaks, leaks[0][:500]
    assert (logs / "dagit.log").stat().st_size and (logs / "daemon.log").stat().st_size
    assert _holding(str(tmp_path), password) == []  # instance, logs, work dir, warehouse, landing copy
    assert [name for name in set(os.listdir(PROJECT_ROOT)) - project_entries if password in name or "redis:" in name] == []
