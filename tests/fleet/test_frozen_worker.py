"""A worker frozen (SIGSTOP) after reading its files is declared dead and its partition retried; the
day is re-landed meanwhile with fewer rows; the retry loads them; then the frozen worker resumes.
Its late commit is refused (fencing), its run stays FAILURE, the newer rows stay.

The warehouse is a DuckDB file here on purpose: the test holds the file's lock so the doomed run
waits *before* its load transaction (having read its files), the moment a GC or VM pause or a
network cut can hit; then it is frozen there.
"""
import json
import os
import signal
import subprocess

import duckdb
import pandas as pd
import pytest
from dagster import DagsterEventType, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from flights_etl.warehouse import open_warehouse
from tests.backfill.cli_helpers import BIN, PROJECT_ROOT, flights_etl, start_flights_etl
from tests.fleet.conftest import instance_of
from tests.helpers import read_table, wait_until

pytestmark = pytest.mark.slow

DAY = "2013-01-12"
DROPPED = 100


@pytest.fixture
def daemon(fleet_env, tmp_path):
    """dagster-daemon on the fleet's instance: run monitoring and run retries."""
    log = open(tmp_path / "daemon.log", "w")
    process = subprocess.Popen(
        [os.path.join(BIN, "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=fleet_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    yield process
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    log.close()


def _runs_of_day(env):
    with instance_of(env) as instance:
        return instance.get_runs(RunsFilter(tags={"dagster/partition": DAY}))


def _step_events(env, run_id, event_type):
    with instance_of(env) as instance:
        return [record for record in instance.all_logs(run_id, of_type=event_type)]


def _reland_with_fewer_rows(landing_dir: str) -> pd.DataFrame:
    """Rewrite the day's flights file without its last DROPPED rows (a corrected file); return the
    rows it now holds, read with plain pandas (independent of the project's reader)."""
    path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
    with open(path) as handle:
        lines = handle.readlines()
    with open(path + ".tmp", "w") as handle:
        handle.writelines(lines[:-DROPPED])
    os.replace(path + ".tmp", path)
    return pd.read_csv(path)


def test_a_frozen_worker_cannot_commit_over_its_retry(fleet_env, daemon, start_worker, tmp_path, landing_dir):
    warehouse_path = str(tmp_path / "warehouse.duckdb")
    env = {**fleet_env, "FLIGHTS_WAREHOUSE": warehouse_path}
    frozen = start_worker(env, "worker1@host1")
    holder = duckdb.connect(warehouse_path)  # the file's lock: the run waits before its transaction
    try:
        backfill = start_flights_etl(env, "backfill", "--partition-set", "flights_daily_partition_set",
                                     "--partitions", DAY)

        def waiting_to_load():
            runs = _runs_of_day(env)
            if len(runs) != 1:
                return None
            done = {r.dagster_event.step_key for r in _step_events(env, runs[0].run_id, DagsterEventType.STEP_SUCCESS)}
            started = {r.dagster_event.step_key for r in _step_events(env, runs[0].run_id, DagsterEventType.STEP_START)}
            return runs[0] if {"read_flights", "read_weather"} <= done and "load_partition" in started else None

        doomed = wait_until("the run read its files and waits to load", waiting_to_load, 120, poll_s=0.2)
        os.killpg(frozen.pid, signal.SIGSTOP)
    finally:
        holder.close()
    try:
        relanded = _reland_with_fewer_rows(landing_dir)
        start_worker(env, "worker2@host2")

        def retried():
            runs = {run.run_id: run for run in _runs_of_day(env)}
            children = [run for run in runs.values() if run.parent_run_id == doomed.run_id]
            if runs[doomed.run_id].status == PipelineRunStatus.FAILURE and children and children[0].is_finished:
                return children[0]
            return None

        retry = wait_until("the frozen run declared dead and its retry finished", retried, 240, poll_s=1)
        assert retry.status == PipelineRunStatus.SUCCESS
        assert _flights(warehouse_path) == len(relanded)
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)

    def refused():
        failures = _step_events(env, doomed.run_id, DagsterEventType.STEP_FAILURE)
        return failures if any(r.dagster_event.step_key == "load_partition" for r in failures) else None

    [failure] = wait_until("the resumed run's late load refused", refused, 120, poll_s=0.5)
    error = failure.dagster_event.event_specific_data.error
    text = error.message + (error.cause.message if error.cause else "")
    assert f"refusing to commit partition {DAY} for run {doomed.run_id}" in text, text
    backfill.wait(timeout=120)

    # The newer rows stay, exactly the re-landed file's; the frozen run stays FAILURE; nothing unfinished.
    loaded = read_table(warehouse_path, "SELECT flight, carrier, sched_dep_time, dep_delay FROM flights "
                        "WHERE partition_date = ? ORDER BY carrier, flight, sched_dep_time", [DAY])
    expected = relanded[["flight", "carrier", "sched_dep_time", "dep_delay"]].sort_values(
        ["carrier", "flight", "sched_dep_time"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded.reset_index(drop=True), expected, check_dtype=False)
    runs = {run.run_id: run for run in _runs_of_day(env)}
    assert runs[doomed.run_id].status == PipelineRunStatus.FAILURE
    assert runs[retry.run_id].status == PipelineRunStatus.SUCCESS
    assert all(run.is_finished for run in runs.values()), {r.run_id: r.status for r in runs.values()}
    loads = open_warehouse(warehouse_path).last_loads()
    assert loads["run_id"].tolist() == [retry.run_id]
    # `status` agrees with the warehouse, and the recovery command has nothing to do
    status = flights_etl(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    [entry] = [p for p in json.loads(status.stdout)["partitions"] if p["partition"] == DAY]
    assert (entry["status"], entry["run_id"], entry["rows"]) == ("SUCCESS", retry.run_id, len(relanded)), entry
    dry = flights_etl(env, "backfill", "--partition-set", "flights_daily_partition_set", "--partitions", DAY,
                      "--only", "missing,failed", "--dry-run")
    assert "0 of 1 requested partitions selected" in dry.stdout, dry.stdout


def _flights(warehouse_path: str) -> int:
    return int(read_table(warehouse_path, "SELECT count(*) AS n FROM flights WHERE partition_date = ?", [DAY])["n"][0])
