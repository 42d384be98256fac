"""Overlapping backfills, stock and ours, queued and direct, on one DuckDB file: nothing fails, lost or doubled."""
import os
import signal
import subprocess
import time
from datetime import date, timedelta

import pytest
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from tests.backfill.cli_helpers import (
    BIN,
    PROJECT_ROOT,
    flights_etl,
    instance_env,
    start_flights_etl,
    start_stock_backfill,
)
from tests.helpers import read_table
from tests.raw_data import flights_on

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
FINISHED = {PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED}


def _days(first, last):
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _assert_warehouse_exact(warehouse_path, days):
    """Every day holds exactly its raw flights, once (no duplicate rows), and daily_delays covers them."""
    got = read_table(
        warehouse_path,
        "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n, "
        "count(DISTINCT (carrier, flight, sched_dep_time, origin, dest, tailnum)) AS distinct_flights "
        "FROM flights GROUP BY 1 ORDER BY 1",
    )
    assert got.day.tolist() == [day.isoformat() for day in days]
    assert got.n.tolist() == [len(flights_on(day)) for day in days]
    assert (got.n == got.distinct_flights).all()
    summary = read_table(
        warehouse_path,
        "SELECT CAST(partition_date AS VARCHAR) AS day, sum(flights) AS n FROM daily_delays GROUP BY 1 ORDER BY 1",
    )
    assert summary.n.tolist() == got.n.tolist()


def _runs(home):
    with DagsterInstance.from_config(home) as instance:
        return instance.get_runs(filters=RunsFilter(pipeline_name="flights_daily_pipeline"))


def _failures(home):
    """Each failed run's partition and error messages, for assertion messages."""
    with DagsterInstance.from_config(home) as instance:
        failed = instance.get_runs(filters=RunsFilter(statuses=[PipelineRunStatus.FAILURE]))
        return [
            (run.tags.get("dagster/partition"), [_error_text(event) for event in instance.all_logs(run.run_id)
                                                 if event.dagster_event and event.dagster_event.is_failure])
            for run in failed
        ]


def _error_text(event) -> str:
    error = getattr(event.dagster_event.event_specific_data, "error", None)
    return error.to_string() if error else event.message


def _event_journeys(home, runs):
    """Each run's run-level events in order (enqueued, dequeued, starting, start, success, ...)."""
    with DagsterInstance.from_config(home) as instance:
        return {
            run.run_id: [
                event.dagster_event.event_type_value
                for event in instance.all_logs(run.run_id)
                if event.dagster_event and event.dagster_event.event_type_value.startswith("PIPELINE_")
            ]
            for run in runs
        }


def _wait_for_runs(home, timeout=60):
    deadline = time.monotonic() + timeout
    while not _runs(home):
        assert time.monotonic() < deadline, f"no run created within {timeout}s"
        time.sleep(0.1)


def _wait_all_finished(home, expected_runs, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = _runs(home)
        if len(runs) >= expected_runs and all(run.status in FINISHED for run in runs):
            return runs
        time.sleep(1)
    raise AssertionError(f"runs still going after {timeout}s: {[(r.tags.get('dagster/partition'), r.status) for r in _runs(home)]}")


def test_overlapping_backfills_neither_fail_nor_duplicate(tmp_path, landing_dir, warehouse_location):
    """On DuckDB the writers take turns on the file lock; on PostgreSQL they write at once (MVCC)."""
    warehouse_path = warehouse_location
    env = instance_env(tmp_path, landing_dir, warehouse_location)
    processes = [
        start_flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-08"),
        start_flights_etl(env, "backfill", *SET, "--from", "2013-01-05", "--to", "2013-01-12"),
    ]
    # The stock command joins once runs exist: started at the very same instant, it can lose
    # Dagster 0.15's race to store the pipeline snapshot (ours retry; see test_run_creation.py).
    _wait_for_runs(env["DAGSTER_HOME"])
    processes.append(start_stock_backfill(env, "2013-01-07", "2013-01-10"))
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], (outputs, _failures(env["DAGSTER_HOME"]))

    runs = _wait_all_finished(env["DAGSTER_HOME"], expected_runs=8 + 8 + 4)
    assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
    _assert_warehouse_exact(warehouse_path, _days("2013-01-01", "2013-01-12"))


def test_queued_runs_through_the_daemon_while_a_cli_backfill_runs(tmp_path, landing_dir, warehouse_path):
    with open(os.path.join(PROJECT_ROOT, "deploy", "dagster.yaml")) as handle:
        env = instance_env(tmp_path, landing_dir, warehouse_path, dagster_yaml=handle.read())
    daemon = subprocess.Popen(
        [os.path.join(BIN, "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        stock = start_stock_backfill(env, "2013-01-03", "2013-01-08")  # queued, then launched by the daemon
        _wait_for_runs(env["DAGSTER_HOME"])  # not the same instant: see test_run_creation.py
        ours = start_flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-06")
        assert ours.wait(timeout=300) == 0, ours.stdout.read()
        assert stock.wait(timeout=300) == 0, stock.stdout.read()
        runs = _wait_all_finished(env["DAGSTER_HOME"], expected_runs=6 + 6)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=30)
    assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
    # The stock backfill's six runs were enqueued, then started by the daemon; ours never queue.
    journeys = _event_journeys(env["DAGSTER_HOME"], runs)
    [stock_backfill] = {run.tags["dagster/backfill"] for run in runs if run.tags["dagster/partition"] == "2013-01-08"}
    stock = {run.run_id: journeys[run.run_id] for run in runs if run.tags["dagster/backfill"] == stock_backfill}
    assert len(stock) == 6, journeys
    for steps in stock.values():
        assert steps[:2] == ["PIPELINE_ENQUEUED", "PIPELINE_DEQUEUED"] and "PIPELINE_START" in steps, steps
    assert all("PIPELINE_ENQUEUED" not in steps for run_id, steps in journeys.items() if run_id not in stock)
    _assert_warehouse_exact(warehouse_path, _days("2013-01-01", "2013-01-08"))


@pytest.mark.parametrize(
    "interrupt",
    [
        pytest.param(os.killpg, id="ctrl-c"),  # what a terminal's Ctrl-C does: the whole foreground group
        pytest.param(os.kill, id="kill-int"),  # `kill -INT <pid>`: the parent only; its runs in flight finish
    ],
)
def test_ctrl_c_stops_cleanly_and_a_rerun_completes(tmp_path, landing_dir, warehouse_path, interrupt):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    backfill = subprocess.Popen(
        [os.path.join(BIN, "flights-etl"), "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-31"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    finished_lines = 0
    while finished_lines < 3:
        line = backfill.stderr.readline()
        assert line, "backfill ended before it could be interrupted"
        finished_lines += line.startswith("[")
    interrupt(backfill.pid, signal.SIGINT)
    stdout, _ = backfill.communicate(timeout=120)
    assert backfill.returncode == 130, (stdout, _failures(env["DAGSTER_HOME"]))
    assert "interrupted by Ctrl-C" in stdout

    runs = _runs(env["DAGSTER_HOME"])
    assert {run.status for run in runs} <= FINISHED  # nothing left STARTED or NOT_STARTED
    succeeded = sorted(run.tags["dagster/partition"] for run in runs if run.status == PipelineRunStatus.SUCCESS)
    assert 3 <= len(succeeded) < 31
    loaded = read_table(
        warehouse_path,
        "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n FROM flights GROUP BY 1 ORDER BY 1",
    )
    for day, count in zip(loaded.day, loaded.n):  # whatever is there is whole, never half a day
        assert count == len(flights_on(date.fromisoformat(day))), day
    assert set(succeeded) <= set(loaded.day)

    rerun = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-31", "--only", "missing,failed")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _assert_warehouse_exact(warehouse_path, _days("2013-01-01", "2013-01-31"))
