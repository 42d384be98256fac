"""Staleness from real runs: the sensor's decisions and `flights-etl status` for the monthly set.

The runs are made by the real command lines on a temp instance; the sensor is evaluated
directly (its daemon behaviour is in test_sensors_with_daemon.py).
"""
import json

import pytest
from dagster import DagsterInstance, build_sensor_context

from flights_etl.repository import flights_etl as repository
from tests.backfill.cli_helpers import flights_etl, instance_env

pytestmark = pytest.mark.slow

DAILY = ["--partition-set", "flights_daily_partition_set"]
MONTHLY = ["--partition-set", "flights_monthly_partition_set"]


def _evaluate(home):
    sensor = repository.get_sensor_def("flights_monthly_report_sensor")
    with DagsterInstance.from_config(home) as instance:
        return sensor.evaluate_tick(build_sensor_context(instance=instance, repository_name="flights_etl"))


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_staleness_is_seen_by_the_sensor_and_by_status(tmp_path, landing_dir, warehouse_path):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    home = env["DAGSTER_HOME"]
    _ok(flights_etl(env, "backfill", *DAILY, "--from", "2013-01-01", "--to", "2013-01-30"))

    waiting = _evaluate(home)
    assert waiting.run_requests == []
    assert "2013-01: waiting: 2013-01-31 missing" in waiting.skip_message
    assert json.loads(waiting.cursor)["2013-01"] == "waiting: 2013-01-31 missing"

    _ok(flights_etl(env, "backfill", *DAILY, "--partitions", "2013-01-31"))
    [request] = _evaluate(home).run_requests
    assert request.tags["dagster/partition"] == "2013-01"
    assert request.run_config["resources"]["monthly_partition"]["config"]["month"] == "2013-01"
    assert [r.run_key for r in _evaluate(home).run_requests] == [request.run_key]  # same state, same key

    _ok(flights_etl(env, "backfill", *MONTHLY, "--partitions", "2013-01"))  # built by hand
    assert _evaluate(home).run_requests == []
    assert "2013-01: report up to date (built" in _evaluate(home).skip_message

    _ok(flights_etl(env, "backfill", *DAILY, "--partitions", "2013-01-15"))  # a day loaded again
    [again] = _evaluate(home).run_requests
    assert again.run_key != request.run_key

    text = flights_etl(env, "status", *MONTHLY).stdout
    assert "2013 s..........." in text and "s stale report" in text
    assert "STALE: 1 days loaded again since: 2013-01-15" in text
    document = json.loads(flights_etl(env, "status", *MONTHLY, "--json").stdout)
    [january] = [entry for entry in document["partitions"] if entry["partition"] == "2013-01"]
    assert january["stale"] is True and january["stale_days"] == ["2013-01-15"]
    assert january["report_built_at"] and january["missing_days"] == [] and january["failed_days"] == []

    _ok(flights_etl(env, "backfill", *MONTHLY, "--partitions", "2013-01"))
    assert "2013 #..........." in flights_etl(env, "status", *MONTHLY).stdout
    assert _evaluate(home).run_requests == []


def test_the_prod_workspace_runs_in_the_prod_mode(tmp_path, landing_dir, warehouse_path):
    """Going live is configuration: the workspace picks the repository, hence the mode (dry run: no Slack)."""
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    prod = flights_etl(env, "backfill", *DAILY, "--partitions", "2013-01-02", "--dry-run",
                       "--workspace", "deploy/workspace.prod.yaml")
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout.startswith("flights_daily_partition_set (mode prod): 1 of 1 requested partitions selected")
    local = flights_etl(env, "backfill", *DAILY, "--partitions", "2013-01-02", "--dry-run")
    assert local.stdout.startswith("flights_daily_partition_set (mode local): ")
    env["FLIGHTS_LAST_DAY"] = "2013-01-10"
    late = flights_etl(env, "backfill", *DAILY, "--partitions", "2013-01-12", "--dry-run")
    assert late.returncode == 2 and "Not in the partition set: 2013-01-12" in late.stderr
