"""The landing sensor run by a real `dagster-daemon` (temp SQLite instance, DuckDB warehouse, embedded defaults).

Days that land are loaded by the sensor alone (a few per tick); a changed file reloads its day
exactly once with the new rows, named beforehand by `status` and `--only changed --dry-run`; a
byte-identical rewrite launches nothing; a day with a run in flight is not launched again until that
run is gone. After each step the warehouse equals an independent computation from the raw data.
"""
import hashlib
import json
import os
import time
from datetime import date

import pandas as pd
import pytest
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from flights_etl.runs import creation
from flights_etl.upstream.land import land_days
from flights_etl.warehouse import open_warehouse
from tests.backfill.cli_helpers import flights_etl
from tests.helpers import daily_run_args, read_table, wait_until
from tests.raw_data import expected_daily_delays, flights_on
from tests.sensors.test_sensors_with_daemon import (
    _sensor_ticks_since,
    daemon_env,  # noqa: F401  (the daemon, as a fixture)
)

pytestmark = pytest.mark.slow

DAYS = [date(2013, 1, 1), date(2013, 1, 2), date(2013, 1, 3)]
SETTLE_S = 12  # long enough for `status` to see a change before the sensor acts on it
TICK_S = 10  # the sensor's minimum interval ($FLIGHTS_LANDING_INTERVAL_S)
REACT_S = 240


@pytest.fixture
def landing_dir(tmp_path):
    """Three landed days only (the daemon's sensor would load whatever is landed)."""
    target = str(tmp_path / "landing")
    land_days(target, DAYS[0], DAYS[-1])
    return target


@pytest.fixture
def sensor_on(monkeypatch):
    monkeypatch.setenv("FLIGHTS_LANDING_MAX_RUNS", "2")
    monkeypatch.setenv("FLIGHTS_LANDING_SETTLE_S", str(SETTLE_S))
    monkeypatch.setenv("FLIGHTS_LANDING_INTERVAL_S", str(TICK_S))


def _sensor_runs(home):
    with DagsterInstance.from_config(home) as instance:
        records = instance.get_run_records(RunsFilter(pipeline_name="flights_daily_pipeline"))
    return sorted(records, key=lambda record: record.create_timestamp)


def _runs_of(home, day):
    return [r for r in _sensor_runs(home) if r.pipeline_run.tags["dagster/partition"] == str(day)]


def _finished_by_day(home, counts):
    """The daily runs once every day has ``counts[day]`` runs and all of them have finished."""
    records = _sensor_runs(home)
    by_day = {}
    for record in records:
        by_day.setdefault(record.pipeline_run.tags["dagster/partition"], []).append(record.pipeline_run)
    done = all(run.status in (PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE) for run in
               (r.pipeline_run for r in records))
    return by_day if done and {day: len(runs) for day, runs in by_day.items()} == counts else None


def _flights_file(landing_dir, day):
    return os.path.join(landing_dir, "flights", f"{day}.csv")


def _drop_last_lines(path, count):
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        handle.writelines(lines[:-count])


def _assert_day_loaded(warehouse_path, day, dropped=0):
    """The day's flights equal the raw rows (less the last ``dropped`` that were re-landed away)."""
    expected = flights_on(day)
    expected = expected.iloc[: len(expected) - dropped]
    got = read_table(warehouse_path, "SELECT count(*) AS n, sum(distance) AS d, sum(dep_delay) AS delay FROM flights "
                     "WHERE partition_date = ?", [day])
    assert int(got["n"][0]) == len(expected), day
    assert int(got["d"][0]) == int(expected["distance"].sum()), day
    assert float(got["delay"][0]) == pytest.approx(float(expected["dep_delay"].sum())), day
    if not dropped:
        delays = read_table(warehouse_path, "SELECT * EXCLUDE (partition_date) FROM daily_delays WHERE partition_date = ? "
                            "ORDER BY origin, carrier", [day])
        want = expected_daily_delays(day)
        pd.testing.assert_frame_equal(delays[want.columns], want, check_dtype=False, rtol=1e-12)


def test_landed_and_changed_days_reach_the_warehouse_by_themselves_exactly_once(
    sensor_on, daemon_env, landing_dir, warehouse_path  # noqa: F811
):
    home = daemon_env["DAGSTER_HOME"]
    first = wait_until("the three landed days loaded by the sensor",
                       lambda: _finished_by_day(home, {str(day): 1 for day in DAYS}), REACT_S, poll_s=1)
    runs = [run for day_runs in first.values() for run in day_runs]
    assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
    assert {run.tags["flights/requested_by"] for run in runs} == {"landing-sensor"}
    assert all(run.tags["dagster/partition_set"] == "flights_daily_partition_set" and run.mode == "local" for run in runs)
    created = [record.create_timestamp for record in _sensor_runs(home)]
    assert (created[2] - created[1]).total_seconds() > TICK_S / 2  # two per tick: the third came a tick later
    for day in DAYS:
        _assert_day_loaded(warehouse_path, day)

    # Upstream re-drops 01-02 with 100 flights fewer and rewrites 01-01 byte-identical; 01-03 changes
    # too, but it has a run queued (created, never launched).
    with open(_flights_file(landing_dir, DAYS[0]), "rb") as handle:
        same = handle.read()
    with open(_flights_file(landing_dir, DAYS[0]), "wb") as handle:
        handle.write(same)
    _drop_last_lines(_flights_file(landing_dir, DAYS[1]), 100)
    with DagsterInstance.from_config(home) as instance:
        queued = creation.create_run_for_pipeline(instance, **daily_run_args(str(DAYS[2])))
    _drop_last_lines(_flights_file(landing_dir, DAYS[2]), 50)

    runs_before = len(_runs_of(home, DAYS[1]))
    status = flights_etl(daemon_env, "status", "--json")
    assert status.returncode == 0, status.stderr
    by_day = {entry["partition"]: entry["status"] for entry in json.loads(status.stdout)["partitions"]}
    dry = flights_etl(daemon_env, "backfill", "--partition-set", "flights_daily_partition_set", "--from", "2013-01-01",
                      "--to", "2013-01-31", "--only", "changed", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    runs_after = len(_runs_of(home, DAYS[1]))
    # The sensor waits SETTLE_S after a change; on a loaded machine it may act while the two commands run.
    if runs_after == 1:  # it had not: both name the change
        assert [by_day[str(day)] for day in DAYS] == ["SUCCESS", "CHANGED", "NOT_STARTED"]
        assert dry.stdout.splitlines()[1:] == ["2013-01-02"], dry.stdout
    else:
        assert runs_after == 2 and [by_day[str(day)] for day in (DAYS[0], DAYS[2])] == ["SUCCESS", "NOT_STARTED"]
        if runs_before == 2:  # its run existed before either command: nothing is left to name
            assert dry.stdout.splitlines()[1:] == [], dry.stdout

    wait_until("01-02 reloaded by the sensor", lambda: _reloaded(home), REACT_S, poll_s=1)
    since = time.time()  # two more ticks: nothing else launched, 01-03 still waits for its queued run
    wait_until("two more landing sensor ticks", lambda: _sensor_ticks_since(home, ["flights_landing_sensor"], since, 2),
               REACT_S, poll_s=1)
    records = _sensor_runs(home)
    assert [r.pipeline_run.tags["dagster/partition"] for r in records] == \
        ["2013-01-01", "2013-01-02", "2013-01-03", "2013-01-03", "2013-01-02"]
    assert records[-1].pipeline_run.status == PipelineRunStatus.SUCCESS
    _assert_day_loaded(warehouse_path, DAYS[0])
    _assert_day_loaded(warehouse_path, DAYS[1], dropped=100)
    _assert_day_loaded(warehouse_path, DAYS[2])  # the old rows: its change waits

    with DagsterInstance.from_config(home) as instance:
        instance.delete_run(queued.run_id)  # the run in flight is gone: now 01-03 is loaded
    wait_until("01-03 reloaded by the sensor", lambda: len(_sensor_runs(home)) == 5 and
               _sensor_runs(home)[-1].pipeline_run.status == PipelineRunStatus.SUCCESS, REACT_S, poll_s=1)
    _assert_day_loaded(warehouse_path, DAYS[2], dropped=50)
    files = open_warehouse(warehouse_path).loaded_files()
    with open(_flights_file(landing_dir, DAYS[2]), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() in files["sha256"].tolist()
    status = flights_etl(daemon_env, "status", "--json")
    assert json.loads(status.stdout)["counts"] == {"MISSING": 362, "SUCCESS": 3}


def _reloaded(home):
    """01-02's second run has finished (01-03's queued run never does)."""
    records = _runs_of(home, DAYS[1])
    return len(records) == 2 and records[-1].pipeline_run.status in (PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE)
