"""A bad $FLIGHTS_LAST_DAY at the command lines: one clear line from ours, Dagster's own shows the same message."""
import os
import subprocess
import sys

import pytest

from tests.backfill.cli_helpers import PROJECT_ROOT, flights_etl, instance_env, stock_backfill

BAD = {
    "garbage": "Error: $FLIGHTS_LAST_DAY='garbage': expected a day as YYYY-MM-DD, or 'yesterday'",
    "2012-12-31": "Error: $FLIGHTS_LAST_DAY='2012-12-31' is before the data's first day 2013-01-01: no partition to run",
}
COMMANDS = {
    "status": ["status"],
    "status --wait": ["status", "--wait", "5"],
    "backfill": ["backfill", "--partition-set", "flights_daily_partition_set", "--from", "2013-01-01", "--to", "2013-01-02"],
    "backfill monthly --all": ["backfill", "--partition-set", "flights_monthly_partition_set", "--all", "--dry-run"],
}


@pytest.fixture
def env(tmp_path, landing_dir, warehouse_path):
    return instance_env(tmp_path, landing_dir, warehouse_path)


def _run_ids(env):
    from dagster import DagsterInstance

    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        return [run.run_id for run in instance.get_runs()]


@pytest.mark.parametrize("setting", sorted(BAD))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_flights_etl_says_one_line_and_no_traceback(setting, command, env):
    result = flights_etl({**env, "FLIGHTS_LAST_DAY": setting}, *COMMANDS[command], timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == BAD[setting]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert _run_ids(env) == []


def test_make_backfill_stops_at_the_one_line_before_dagsters_command(env):
    venv = sys.prefix  # the Makefile's venv is this one; `-o` keeps make from reinstalling it
    result = subprocess.run(
        ["make", "-s", f"VENV={venv}", "-o", os.path.join(venv, ".installed"), "backfill"],
        cwd=PROJECT_ROOT, env={**env, "FLIGHTS_LAST_DAY": "garbage"}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert BAD["garbage"] in result.stderr.splitlines()
    assert "Traceback" not in result.stderr + result.stdout
    assert _run_ids(env) == []


def test_dagsters_own_backfill_command_shows_the_message(env):
    # Dagster 0.15.10's command then fails on its own bug (DagsterBackfillFailedError takes no
    # keyword arguments), so its output is a traceback: our message is in it, and no run is made.
    result = stock_backfill({**env, "FLIGHTS_LAST_DAY": "garbage"}, "2013-01-01", "2013-01-02")
    assert result.returncode != 0
    assert BAD["garbage"].removeprefix("Error: ") in result.stdout + result.stderr
    assert _run_ids(env) == []
