"""LOGS_CAPTURED left out of the event log only where nothing is captured; everything else as Dagster records it."""
import pytest
from dagster import DagsterEvent, DagsterInstance, execute_pipeline, pipeline, solid

from flights_etl.runs import captured_logs


@solid
def first(_context):
    return 1


@solid
def second(_context, value):
    return value + 1


@pipeline
def two_steps():
    second(first())


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(DagsterEvent, "capture_logs", DagsterEvent.capture_logs)  # restored after the test
    return captured_logs.only_real_captures


def _stored(instance, run_id):
    return [(entry.dagster_event.event_type_value, entry.step_key)
            for entry in instance.all_logs(run_id) if entry.is_dagster_event]


def _returned(result):
    return [(event.event_type_value, event.step_key, event.message, event.event_specific_data, event.logging_tags)
            for event in result.event_list if event.event_type_value == "LOGS_CAPTURED"]


def test_nothing_captured_nothing_recorded(patched):
    instance = DagsterInstance.ephemeral()  # NoOpComputeLogManager, as a backfill worker's
    theirs = execute_pipeline(two_steps, instance=instance)
    patched()
    ours = execute_pipeline(two_steps, instance=instance)
    assert ours.success
    stored_theirs, stored_ours = _stored(instance, theirs.run_id), _stored(instance, ours.run_id)
    assert ("LOGS_CAPTURED", "first") in stored_theirs
    assert [event for event in stored_theirs if event[0] != "LOGS_CAPTURED"] == stored_ours
    # The executor still gets the same events, only their run id differs.
    strip = [(kind, step, message, data, {k: v for k, v in tags.items() if k != "run_id"})
             for kind, step, message, data, tags in _returned(theirs)]
    assert strip and strip == [(kind, step, message, data, {k: v for k, v in tags.items() if k != "run_id"})
                               for kind, step, message, data, tags in _returned(ours)]


def test_captured_logs_are_still_recorded(patched, tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:  # captures each step's stdout and stderr
        patched()
        result = execute_pipeline(two_steps, instance=instance)
        stored = _stored(instance, result.run_id)
    assert ("LOGS_CAPTURED", "first") in stored and ("LOGS_CAPTURED", "second") in stored
