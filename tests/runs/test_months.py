"""Each month's state, the monthly report sensor's decisions, and the status's month lines and calendar:
fast, on a real SQLite instance in a temp DAGSTER_HOME whose run records are updated as the runs' own
events update them (no pipeline executes)."""
import json

import pytest
from dagster import DagsterEvent, DagsterEventType, PipelineRun, PipelineRunStatus, build_sensor_context
from dagster.core.utils import make_new_run_id

from flights_etl.backfill.status import MISSING, PartitionStatus, calendar_view, month_lines
from flights_etl.dates import month_days, parse_month
from flights_etl.partitions import flights_daily_partition_set as daily_set
from flights_etl.partitions import flights_monthly_partition_set as monthly_set
from flights_etl.repository import flights_etl as repository
from flights_etl.runs.months import month_states
from flights_etl.sensors.monthly_report import decisions

FEB = [day.isoformat() for day in month_days(parse_month("2013-02"))]


def _record(instance, run, *event_types):
    """What the run's own events do to its record (status, start and end time), without its event log."""
    for event_type in event_types:
        instance.handle_run_event(run.run_id, DagsterEvent(event_type_value=event_type.value, pipeline_name=run.pipeline_name))
    return instance.get_run_by_id(run.run_id)


def _new_run(instance, partition_set, name):
    """A run as its partition set tags it (without the pipeline's snapshots: this state reads only tags and times)."""
    tags = partition_set.tags_for_partition(partition_set.get_partition(name))
    return instance.add_run(PipelineRun(pipeline_name=partition_set.pipeline_name, run_id=make_new_run_id(),
                                        mode=partition_set.mode, tags=tags))


def _day(instance, day, *event_types):
    return _record(instance, _new_run(instance, daily_set, day), *event_types)


def _loaded(instance, day):
    return _day(instance, day, DagsterEventType.PIPELINE_START, DagsterEventType.PIPELINE_SUCCESS)


def _report(instance, month, *event_types):
    return _record(instance, _new_run(instance, monthly_set, month), *event_types)


def _feb(instance):
    [state] = month_states(instance, daily_set, monthly_set, months=["2013-02"])
    return state


def _evaluate(instance):
    sensor = repository.get_sensor_def("flights_monthly_report_sensor")
    return sensor.evaluate_tick(build_sensor_context(instance=instance, repository_name="flights_etl"))


def test_an_empty_instance_has_every_day_missing_and_no_report_due(instance):
    states = month_states(instance, daily_set, monthly_set)
    assert [state.month for state in states] == [f"2013-{month:02d}" for month in range(1, 13)]
    feb = states[1]
    assert feb.missing_days == FEB and not feb.all_loaded and not feb.needs_report
    assert set(decisions(states).values()) == {"no day loaded yet"}
    assert month_lines(states) == []
    result = _evaluate(instance)
    assert result.run_requests == [] and result.skip_message == "; 12 months with no day loaded"


def test_a_month_waits_for_failed_running_and_missing_days_by_their_latest_run(instance):
    for day in FEB[:9]:
        _loaded(instance, day)
    _day(instance, "2013-02-03", DagsterEventType.PIPELINE_START, DagsterEventType.PIPELINE_FAILURE)  # latest wins
    _day(instance, "2013-02-10", DagsterEventType.PIPELINE_START)
    _loaded(instance, "2013-02-12")
    state = _feb(instance)
    assert state.failed_days == ["2013-02-03"] and state.running_days == ["2013-02-10"]
    assert state.missing_days == ["2013-02-11"] + FEB[12:]
    assert not state.needs_report
    waiting = "2013-02-03 failed; 2013-02-10 running or queued; 2013-02-11, 2013-02-13..2013-02-28 missing"
    assert decisions([state]) == {"2013-02": f"waiting: {waiting}"}
    assert month_lines([state]) == [f"2013-02  no report; days {waiting}"]
    result = _evaluate(instance)
    assert result.run_requests == [] and f"2013-02: waiting: {waiting}" in result.skip_message


def test_a_loaded_month_gets_one_report_per_change_of_its_days(instance):
    for day in FEB:
        _loaded(instance, day)
    state = _feb(instance)
    assert state.all_loaded and state.needs_report and state.built is None
    assert decisions([state]) == {"2013-02": "all days loaded, no report yet: requesting one"}
    assert _feb(instance).change_key == state.change_key  # the same runs: the same key

    result = _evaluate(instance)
    [request] = result.run_requests
    assert request.run_key == state.change_key
    assert request.tags["dagster/partition"] == "2013-02" and request.tags["flights/requested_by"] == "sensor"
    assert request.run_config == monthly_set.run_config_for_partition(monthly_set.get_partition("2013-02"))
    assert json.loads(result.cursor)["2013-02"] == "all days loaded, no report yet: requesting one"

    _loaded(instance, "2013-02-05")  # loaded again: another state, another key
    assert _feb(instance).change_key != state.change_key


def test_a_report_is_up_to_date_until_a_day_is_loaded_again_after_it_started(instance):
    for day in FEB:
        _loaded(instance, day)
    report = _report(instance, "2013-02", DagsterEventType.PIPELINE_START, DagsterEventType.PIPELINE_SUCCESS)
    state = _feb(instance)
    assert state.built.run_id == report.run_id and state.stale_days == [] and not state.needs_report
    assert decisions([state])["2013-02"] == f"report up to date (built {state.built_at})"
    assert _evaluate(instance).run_requests == []

    _loaded(instance, "2013-02-05")
    _loaded(instance, "2013-02-20")
    state = _feb(instance)
    assert state.stale_days == ["2013-02-05", "2013-02-20"] and state.needs_report
    assert month_lines([state]) == [
        f"2013-02  report built {state.built_at} (run {report.run_id[:8]}); STALE: 2 days loaded again since: "
        "2013-02-05, 2013-02-20"]
    [request] = _evaluate(instance).run_requests
    assert request.run_key == state.change_key

    running = _report(instance, "2013-02", DagsterEventType.PIPELINE_START)  # a report run under way
    state = _feb(instance)
    assert state.report_running and not state.needs_report
    assert decisions([state])["2013-02"] == f"report run {running.run_id[:8]} started"
    assert _evaluate(instance).run_requests == []


@pytest.mark.parametrize("latest_report, note", [
    (PipelineRunStatus.FAILURE, "latest report run {id} failure"),
    (PipelineRunStatus.CANCELED, "latest report run {id} canceled"),
])
def test_a_failed_report_is_named_in_the_month_line_and_not_requested_again(instance, latest_report, note):
    for day in FEB:
        _loaded(instance, day)
    event = {PipelineRunStatus.FAILURE: DagsterEventType.PIPELINE_FAILURE,
             PipelineRunStatus.CANCELED: DagsterEventType.PIPELINE_CANCELED}[latest_report]
    report = _report(instance, "2013-02", DagsterEventType.PIPELINE_START, event)
    state = _feb(instance)
    assert state.report.run_id == report.run_id and state.built is None
    assert month_lines([state]) == [f"2013-02  no report; {note.format(id=report.run_id[:8])}"]


def _status(partition, status):
    return PartitionStatus(partition, status, None, None, None)


def test_the_daily_calendar_has_a_column_per_day_and_a_mark_per_status():
    statuses = [_status(day, MISSING) for day in FEB]
    marks = {"2013-02-01": "SUCCESS", "2013-02-02": "FAILURE", "2013-02-03": "CANCELED", "2013-02-04": "STARTED",
             "2013-02-05": "QUEUED", "2013-02-06": "CHANGED", "2013-02-07": "LANDED", "2013-02-08": "FILES_GONE"}
    statuses = [_status(s.partition, marks.get(s.partition, s.status)) for s in statuses]
    lines = calendar_view(statuses).splitlines()
    assert lines[0] == "        " + "1234567890" * 3 + "1  (days)"
    assert lines[1] == "2013-02 " + "#xx~~c+-" + "." * 20  # 28 columns: February 2013
    assert lines[2].startswith("legend: # success") and "c changed since loaded" in lines[2]


def test_the_monthly_calendar_has_a_line_per_year_and_marks_stale_reports(instance):
    for day in FEB:
        _loaded(instance, day)
    _report(instance, "2013-02", DagsterEventType.PIPELINE_START, DagsterEventType.PIPELINE_SUCCESS)
    _loaded(instance, "2013-02-05")
    months = month_states(instance, daily_set, monthly_set)
    statuses = [_status(f"2013-{m:02d}", "SUCCESS" if m == 2 else MISSING) for m in range(1, 13)]
    statuses[0] = _status("2013-01", "FAILURE")
    lines = calendar_view(statuses, months).splitlines()
    assert lines[0] == "     123456789012  (months)"
    assert lines[1] == "2013 xs.........."
    assert lines[2].endswith("s stale report") and "c changed" not in lines[2]
