"""The sensors run by a real `dagster-daemon` on a temp instance (embedded defaults: SQLite, DuckDB).

A month's days are backfilled and its report appears, equal to an independent computation from
the raw CSV; a day's file changes and the month is reloaded whole: exactly one more report, with
the new numbers; a month with a failed day gets no report and exactly one failure alert.
"""
import json
import os
import signal
import subprocess
import time

import pandas as pd
import pytest
from dagster import DagsterEventType, DagsterInstance, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from flights_etl.sensors.failure_alerts import ALERT_PREFIX
from tests.backfill.cli_helpers import BIN, PROJECT_ROOT, flights_etl, instance_env
from tests.helpers import read_table, wait_until
from tests.raw_data import expected_monthly_report_of, raw_flights

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
REACT_S = 120  # the sensors tick every 15 s; a launched run takes a few seconds more
CHANGED_DAY = "2013-01-15"
REPORT_SENSOR = "flights_monthly_report_sensor"
ALERT_SENSOR = "flights_failure_alert_sensor"


@pytest.fixture
def daemon_env(tmp_path, landing_dir, warehouse_path):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen(
        [os.path.join(BIN, "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        # A run-failure sensor alerts only on failures after its first tick (its cursor starts at "now").
        _wait_for("the sensors' first ticks",
                  lambda: _sensor_ticks_since(env["DAGSTER_HOME"], [REPORT_SENSOR, ALERT_SENSOR], 0.0, 1))
        yield env
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(daemon.pid, signal.SIGKILL)  # the daemon's code servers too
        except ProcessLookupError:
            pass
        log.close()


def _monthly_runs(home):
    with DagsterInstance.from_config(home) as instance:
        return instance.get_runs(filters=RunsFilter(pipeline_name="flights_monthly_pipeline"))


def _wait_for(what, condition, timeout_s=REACT_S):
    return wait_until(what, condition, timeout_s, poll_s=1)


def _sensor_ticks_since(home, names, since, count):
    """True once each sensor in ``names`` has finished ``count`` ticks that started after ``since`` (epoch s)."""
    with DagsterInstance.from_config(home) as instance:
        states = {state.instigator_name: state for state in instance.all_instigator_state()}
        for name in names:
            if name not in states:
                return False
            ticks = instance.get_ticks(states[name].instigator_origin_id, states[name].selector_id, after=since)
            if sum(1 for tick in ticks if tick.status.value in ("SUCCESS", "SKIPPED", "FAILURE")) < count:
                return False
    return True


def _finished_reports(home, month, count):
    runs = [run for run in _monthly_runs(home) if run.tags.get("dagster/partition") == month]
    done = [run for run in runs if run.status in (PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE)]
    return runs if len(done) >= count and len(done) == len(runs) else None


def _report(warehouse_path, month_start):
    return read_table(
        warehouse_path,
        "SELECT * EXCLUDE (month_start) FROM monthly_report WHERE month_start = ? ORDER BY carrier", [month_start],
    )


def test_the_report_follows_its_days(daemon_env, landing_dir, warehouse_path):
    home = daemon_env["DAGSTER_HOME"]
    january = flights_etl(daemon_env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-31")
    assert january.returncode == 0, january.stdout + january.stderr

    [first] = _wait_for("the January report", lambda: _finished_reports(home, "2013-01", 1))
    assert first.status == PipelineRunStatus.SUCCESS
    assert first.tags["flights/requested_by"] == "sensor" and first.mode == "local"
    assert first.tags["dagster/partition_set"] == "flights_monthly_partition_set"
    raw = raw_flights()
    expected = expected_monthly_report_of(raw[raw.month == 1])
    pd.testing.assert_frame_equal(_report(warehouse_path, "2013-01-01")[expected.columns], expected, check_dtype=False,
                                  rtol=1e-12)

    # Upstream re-drops one day with 100 flights fewer; the whole month is reloaded (31 runs).
    path = os.path.join(landing_dir, "flights", f"{CHANGED_DAY}.csv")
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        handle.writelines(lines[:-100])
    reload = flights_etl(daemon_env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-31")
    assert reload.returncode == 0, reload.stdout + reload.stderr

    runs = _wait_for("the rebuilt January report", lambda: _finished_reports(home, "2013-01", 2))
    since = time.time()  # a further sensor tick: still no third report for the same days
    _wait_for("a further report sensor tick", lambda: _sensor_ticks_since(home, [REPORT_SENSOR], since, 1))
    runs = _finished_reports(home, "2013-01", 2)
    assert len(runs) == 2 and {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
    changed = raw[(raw.month == 1)].drop(raw[(raw.month == 1) & (raw.day == 15)].index[-100:])
    expected = expected_monthly_report_of(changed)
    got = _report(warehouse_path, "2013-01-01")
    assert got.flights.sum() == 27004 - 100
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False, rtol=1e-12)

    status = flights_etl(daemon_env, "status", "--partition-set", "flights_monthly_partition_set")
    assert "2013-01  report built" in status.stdout and "STALE" not in status.stdout


def test_a_month_with_a_failed_day_gets_no_report_and_one_alert(daemon_env, landing_dir, warehouse_path):
    home = daemon_env["DAGSTER_HOME"]
    path = os.path.join(landing_dir, "flights", "2013-02-05.csv")
    with open(path) as handle:
        lines = handle.readlines()
    lines[4] = lines[4].replace(",", ",x", 1)
    with open(path, "w") as handle:
        handle.writelines(lines)
    february = flights_etl(daemon_env, "backfill", *SET, "--from", "2013-02-01", "--to", "2013-02-28")
    assert february.returncode == 1, february.stdout + february.stderr

    with DagsterInstance.from_config(home) as instance:
        failures = instance.get_runs(filters=RunsFilter(statuses=[PipelineRunStatus.FAILURE]))
        assert [run.tags.get("dagster/partition") for run in failures] == ["2013-02-05"], february.stdout + february.stderr
        [failed] = failures

        def alerts():
            return [
                record.message for record in instance.all_logs(failed.run_id, of_type=DagsterEventType.ENGINE_EVENT)
                if record.message.startswith(ALERT_PREFIX)
            ]

        _wait_for("the failure alert", alerts)
        since = time.time()  # two more ticks of the sensors: still one alert, and no report
        _wait_for("two more sensor ticks", lambda: _sensor_ticks_since(home, [REPORT_SENSOR, ALERT_SENSOR], since, 2))
        [alert] = alerts()
    assert alert == (
        f"{ALERT_PREFIX}flights_daily_pipeline 2013-02-05 failed at step read_flights: {path}, line 5, column 'month': "
        f"value 'x2' is not a number (run {failed.run_id}, mode local)"
    )
    assert _monthly_runs(home) == []
    status = flights_etl(daemon_env, "status", "--partition-set", "flights_monthly_partition_set", "--json")
    [month] = [entry for entry in json.loads(status.stdout)["partitions"] if entry["partition"] == "2013-02"]
    assert month["failed_days"] == ["2013-02-05"] and month["report_built_at"] is None
