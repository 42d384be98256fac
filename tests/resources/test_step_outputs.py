"""Step outputs of the local mode: small on disk, re-read from unchanged landing files on re-execution."""
import os

import pytest
from dagster import build_solid_context, execute_pipeline, reexecute_pipeline

from flights_etl.partitions import flights_daily_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.solids.notify import notify_complete
from tests.helpers import assert_same_snapshot, failure_message, snapshot

DAY = "2013-01-07"


def _run_config():
    return flights_daily_partition_set.run_config_for_partition(flights_daily_partition_set.get_partition(DAY))


@pytest.fixture
def local_run(instance, landing_dir, warehouse_path, monkeypatch):
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse_path)
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing_dir)
    result = execute_pipeline(flights_daily_pipeline, run_config=_run_config(),
                              mode="local", instance=instance)
    assert result.success
    return result


def test_landing_frames_are_not_pickled_and_the_rest_is_small(local_run, instance):
    stored = {}
    root = os.path.join(instance.storage_directory(), local_run.run_id)
    for directory, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name != "compute_logs"]  # Dagster's captured stdout/stderr
        for name in files:
            path = os.path.join(directory, name)
            stored[os.path.relpath(path, root)] = os.path.getsize(path)
    assert set(stored) == {
        "read_flights/result.landing.json", "read_weather/result.landing.json",
        "build_daily_delays/result.pickle", "load_partition/result.pickle", "notify_complete/result.pickle",
    }
    assert max(stored.values()) < 16 * 1024, stored  # a day's flights alone are ~100 KB as a frame


def test_reexecution_rereads_unchanged_files_and_refuses_changed_ones(local_run, instance, landing_dir, warehouse_path):
    config = _run_config()
    before = snapshot(warehouse_path)
    again = reexecute_pipeline(flights_daily_pipeline, local_run.run_id, run_config=config, mode="local",
                               instance=instance, step_selection=["load_partition*"])
    assert again.success  # flights and weather re-read from their files, daily_delays from its pickle
    assert_same_snapshot(before, snapshot(warehouse_path))

    path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        handle.writelines(lines[:-1])  # upstream re-dropped the file with a row fewer
    changed = reexecute_pipeline(flights_daily_pipeline, local_run.run_id, run_config=config, mode="local",
                                 instance=instance, step_selection=["load_partition*"], raise_on_error=False)
    assert not changed.success
    assert f"{path} changed since run {local_run.run_id} validated it: re-execute the whole run" in failure_message(changed)
    assert_same_snapshot(before, snapshot(warehouse_path))


class _SlackDown:
    def send(self, message):
        raise ConnectionError("Slack is unreachable\nsecond line")


def test_a_notifier_outage_does_not_fail_a_loaded_day():
    context = build_solid_context(resources={"notifier": _SlackDown()})
    events = list(notify_complete(context, "2013-01-07: 900 flights loaded"))
    [expectation] = [event for event in events if type(event).__name__ == "ExpectationResult"]
    assert expectation.success is False and "ConnectionError: Slack is unreachable" in expectation.description
    assert events[-1].value == "2013-01-07: 900 flights loaded"
