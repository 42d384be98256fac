"""Which days have yet to be processed: landing hashes, day statuses and the landing sensor's decisions.

Pure decisions alone, then the sensor evaluated (``build_sensor_context``) on a real instance and a
real DuckDB warehouse loaded by real in-process runs of the daily pipeline.
"""
import hashlib
import os
import time
from datetime import date
from types import SimpleNamespace

import pytest
from dagster import PipelineRunStatus, build_sensor_context

from flights_etl.contract.fingerprints import LandedFile, LandingHashes, files_digest
from flights_etl.partitions import flights_daily_partition_set as daily_set
from flights_etl.repository import flights_etl as repository
from flights_etl.runs import creation
from flights_etl.runs.changes import CHANGED, FILES_GONE, LANDED, MISSING, DayFiles, day_status, day_statuses
from flights_etl.runs.selection import latest_status_by_partition, narrow
from flights_etl.sensors.landing import decide, landing_sensor, setting
from flights_etl.upstream.land import land_days
from flights_etl.warehouse import open_warehouse
from tests.helpers import daily_run_args, read_table, run_daily
from tests.raw_data import flights_on

DAYS = [date(2013, 1, 1), date(2013, 1, 2), date(2013, 1, 3), date(2013, 1, 4)]
OLD = time.time() - 3600  # an mtime long settled


def _file(sha, mtime_s=OLD, dataset="flights"):
    return LandedFile(dataset, f"/landing/{dataset}/x.csv", 10, int(mtime_s * 1e9), sha)


def _day(flights="f1", weather="w1", mtime_s=OLD):
    return DayFiles({"flights": _file(flights, mtime_s) if flights else None,
                     "weather": _file(weather, mtime_s, "weather") if weather else None})


def _run(status, start_time=None, run_id="abcdef1234"):
    return SimpleNamespace(status=status, run_id=run_id, start_time=start_time, end_time=start_time)


def _drop_last_lines(path, count):
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        handle.writelines(lines[:-count])


def _rewrite_identical(path):
    with open(path, "rb") as handle:
        data = handle.read()
    time.sleep(0.01)
    with open(path, "wb") as handle:
        handle.write(data)


# --- landing hashes -------------------------------------------------------------------------

def test_a_file_is_hashed_again_only_when_its_size_or_mtime_changed(tmp_path):
    landing, cache = str(tmp_path / "landing"), str(tmp_path / "cache" / "hashes.json")
    land_days(landing, DAYS[0], DAYS[1])
    first = LandingHashes(cache)
    looked = first.days(landing, DAYS[:2])
    assert first.hashed == 4
    path = os.path.join(landing, "flights", "2013-01-02.csv")
    with open(path, "rb") as handle:
        assert looked[DAYS[1]]["flights"].sha256 == hashlib.sha256(handle.read()).hexdigest()

    again = LandingHashes(cache)
    assert again.days(landing, DAYS[:2]) == looked and again.hashed == 0

    _rewrite_identical(path)  # a new mtime: hashed again, the same content
    identical = LandingHashes(cache)
    assert identical.day(landing, DAYS[1])["flights"].sha256 == looked[DAYS[1]]["flights"].sha256
    assert identical.hashed == 1

    with open(path) as handle:  # the same size, other bytes
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(text.replace("2013,1,2,", "2013,1,2,", 1)[:-2] + ("9\n" if text[-2] != "9" else "8\n"))
    changed = LandingHashes(cache).day(landing, DAYS[1])["flights"]
    assert changed.size == looked[DAYS[1]]["flights"].size and changed.sha256 != looked[DAYS[1]]["flights"].sha256


def test_a_broken_cache_costs_only_a_rehash(tmp_path):
    landing, cache = str(tmp_path / "landing"), tmp_path / "hashes.json"
    land_days(landing, DAYS[0], DAYS[0])
    cache.write_text("{not json")
    hashes = LandingHashes(str(cache))
    assert hashes.day(landing, DAYS[0])["flights"] is not None and hashes.hashed == 2
    assert hashes.day(landing, DAYS[1]) == {"flights": None, "weather": None}


# --- day statuses and the sensor's decisions ------------------------------------------------

def test_a_days_status_compares_its_files_with_its_load():
    day = _day()
    assert day_status(None, day, loaded=True, source=day.digest) == "SUCCESS"
    assert day_status("SUCCESS", day, loaded=True, source=day.digest) == "SUCCESS"
    assert day_status("SUCCESS", day, loaded=True, source=_day(weather=None).digest) == CHANGED
    assert day_status("SUCCESS", day, loaded=True, source=None) == CHANGED  # no provenance recorded
    assert day_status(None, day, loaded=False, source=None) == LANDED
    assert day_status("SUCCESS", day, loaded=False, source=None) == LANDED  # a run, but not in this warehouse
    assert day_status("SUCCESS", _day(flights=None), loaded=True, source=day.digest) == FILES_GONE
    assert day_status(None, _day(flights=None, weather=None), loaded=False, source=None) == MISSING
    assert day_status("FAILURE", day, loaded=True, source="other") == "FAILURE"
    assert day_status("STARTED", day, loaded=False, source=None) == "STARTED"
    assert day.digest == files_digest(["f1", "w1"]) != _day(weather=None).digest


def test_the_sensor_launches_new_and_changed_days_once_per_content():
    now, day = time.time(), _day()
    key = f"2013-01-02:{day.digest}"
    assert decide("2013-01-02", LANDED, day, None, {}, now, 60) == (key, "landed, not loaded")
    assert decide("2013-01-02", CHANGED, day, _run(PipelineRunStatus.SUCCESS), {}, now, 60) == (key, "changed since loaded")
    assert decide("2013-01-02", "SUCCESS", day, _run(PipelineRunStatus.SUCCESS), {}, now, 60) == (None, None)
    assert decide("2013-01-02", MISSING, _day(None, None), None, {}, now, 60) == (None, None)
    assert decide("2013-01-02", FILES_GONE, _day(None), _run(PipelineRunStatus.SUCCESS), {}, now, 60) == (None, None)
    # the same bytes launched before (a byte-identical rewrite, or a run of them that failed): never again
    assert decide("2013-01-02", CHANGED, day, None, {key: "0123456789"}, now, 60) == (
        None, "changed since loaded: these very files were launched already (run 01234567)")


def test_the_sensor_waits_for_runs_in_flight_settling_files_and_changed_files_after_a_failure():
    now = time.time()
    for status in (PipelineRunStatus.QUEUED, PipelineRunStatus.NOT_STARTED, PipelineRunStatus.STARTED):
        assert decide("2013-01-02", status.value, _day(), _run(status), {}, now, 60) == (
            None, f"waiting for run abcdef12 ({status.value.lower()})")
    fresh = _day(mtime_s=now - 5)
    assert decide("2013-01-02", CHANGED, fresh, None, {}, now, 60) == (
        None, "changed since loaded: waiting for its files to settle (written 5 s ago, settle time 60 s)")
    assert decide("2013-01-02", CHANGED, fresh, None, {}, now, 4)[0] == f"2013-01-02:{fresh.digest}"
    failed = _run(PipelineRunStatus.FAILURE, start_time=OLD + 10)
    assert decide("2013-01-02", "FAILURE", _day(), failed, {}, now, 60) == (
        None, "latest run abcdef12 failure: waiting for changed files")
    fixed = _day(mtime_s=OLD + 20)
    assert decide("2013-01-02", "FAILURE", fixed, failed, {}, now, 60) == (
        f"2013-01-02:{fixed.digest}", "files changed since run abcdef12 failure")


def test_settings_are_checked(monkeypatch):
    monkeypatch.setenv("FLIGHTS_LANDING_SETTLE_S", "soon")
    with pytest.raises(ValueError, match=r"^\$FLIGHTS_LANDING_SETTLE_S='soon': expected a number >= 0$"):
        setting("FLIGHTS_LANDING_SETTLE_S", 60)
    monkeypatch.setenv("FLIGHTS_LANDING_SETTLE_S", " 5 ")
    assert setting("FLIGHTS_LANDING_SETTLE_S", 60) == 5


def test_the_interval_is_read_when_the_repository_loads(monkeypatch):
    monkeypatch.delenv("FLIGHTS_LANDING_INTERVAL_S", raising=False)
    assert landing_sensor(daily_set).minimum_interval_seconds == 30
    monkeypatch.setenv("FLIGHTS_LANDING_INTERVAL_S", "10")
    assert landing_sensor(daily_set).minimum_interval_seconds == 10
    monkeypatch.setenv("FLIGHTS_LANDING_INTERVAL_S", "1")
    with pytest.raises(ValueError, match=r"^\$FLIGHTS_LANDING_INTERVAL_S='1': expected a number >= 5$"):
        landing_sensor(daily_set)


# --- the sensor on a real instance and warehouse --------------------------------------------

@pytest.fixture
def landed(tmp_path, monkeypatch):
    landing, warehouse = str(tmp_path / "landing"), str(tmp_path / "warehouse.duckdb")
    land_days(landing, DAYS[0], DAYS[-1])
    for root, _dirs, names in os.walk(landing):
        for name in names:
            os.utime(os.path.join(root, name), (OLD, OLD))
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing)
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse)
    monkeypatch.setenv("FLIGHTS_LANDING_SETTLE_S", "1")
    monkeypatch.setenv("FLIGHTS_LANDING_MAX_RUNS", "3")
    return SimpleNamespace(landing=landing, warehouse=warehouse,
                           resources={"warehouse": {"config": {"lock_timeout_s": 10.0}}})


def _evaluate(instance):
    sensor = repository.get_sensor_def("flights_landing_sensor")
    return sensor.evaluate_tick(build_sensor_context(instance=instance, repository_name="flights_etl"))


def _statuses(instance):
    return day_statuses(instance, daily_set, latest_status_by_partition(instance, daily_set))


def test_the_sensor_says_when_nothing_has_landed(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("FLIGHTS_LANDING_MAX_RUNS", "3")
    nothing = _evaluate(instance)
    assert nothing.run_requests == []
    assert nothing.skip_message == f"no day of 2013-01-01..2013-12-31 has a flights file in {tmp_path / 'nowhere'}"
    monkeypatch.setenv("FLIGHTS_LANDING_MAX_RUNS", "0")
    assert _evaluate(instance).skip_message.startswith("$FLIGHTS_LANDING_MAX_RUNS=0: the sensor launches nothing")


def test_the_sensor_requests_landed_then_changed_days_and_status_names_them(instance, landed):
    first = _evaluate(instance)
    assert [r.run_key.split(":")[0] for r in first.run_requests] == ["2013-01-01", "2013-01-02", "2013-01-03"]  # capped
    request = first.run_requests[1]
    partition = daily_set.get_partition("2013-01-02")
    assert request.run_config == daily_set.run_config_for_partition(partition)
    assert request.tags == {**daily_set.tags_for_partition(partition), "flights/requested_by": "landing-sensor",
                            "flights/landing": "landed, not loaded"}
    assert [s for s in _statuses(instance).values() if s == LANDED] == [LANDED] * 4

    for day in DAYS:
        assert run_daily(day.isoformat(), landed.resources, instance).success
    done = _evaluate(instance)
    assert done.run_requests == [] and done.skip_message == "every landed day is loaded from its current files"
    files = open_warehouse(landed.warehouse).loaded_files()
    assert len(files) == 8 and files["sha256"].str.len().eq(64).all()

    changed = os.path.join(landed.landing, "flights", "2013-01-02.csv")
    _drop_last_lines(changed, 100)
    _rewrite_identical(os.path.join(landed.landing, "flights", "2013-01-03.csv"))
    statuses = _statuses(instance)
    assert {name: s for name, s in statuses.items() if s not in ("SUCCESS", MISSING)} == {"2013-01-02": CHANGED}
    latest = latest_status_by_partition(instance, daily_set)
    assert narrow(daily_set.get_partition_names(), latest, frozenset({"changed"}), statuses) == ["2013-01-02"]

    waiting = _evaluate(instance)  # written just now: waits for the settle time
    assert waiting.run_requests == [] and "2013-01-02: changed since loaded: waiting for its files to settle" in \
        waiting.skip_message
    time.sleep(1.1)
    [again] = _evaluate(instance).run_requests
    assert again.run_key.startswith("2013-01-02:") and again.run_key != request.run_key

    in_flight = creation.create_run_for_pipeline(instance, **daily_run_args("2013-01-02"))
    held = _evaluate(instance)
    assert held.run_requests == [] and f"2013-01-02: waiting for run {in_flight.run_id[:8]} (not_started)" in held.skip_message
    instance.delete_run(in_flight.run_id)

    assert run_daily("2013-01-02", landed.resources, instance).success
    assert _evaluate(instance).run_requests == []
    loaded = read_table(landed.warehouse, "SELECT count(*) AS n FROM flights WHERE partition_date = ?", ["2013-01-02"])
    assert int(loaded["n"][0]) == len(flights_on(DAYS[1])) - 100
