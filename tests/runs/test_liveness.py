"""The dead-run rule (runs/liveness.py): a run is dead only when the process its own tags record is
surely gone on this host; such runs are marked FAILURE (CANCELED if never started) with the reason.
Real runs in a temp instance; "gone" is a real identity whose start time no live process has."""
import dataclasses
import os

import pytest
from dagster import PipelineRunStatus
from dagster.core.utils import make_new_run_id

from flights_etl.runs import process
from flights_etl.runs.executor import EXECUTOR_TAG
from flights_etl.runs.liveness import CREATOR_TAG, reap_dead_runs, why_dead
from tests.helpers import daily_run_args

ALIVE = process.current()
GONE = dataclasses.replace(ALIVE, start=ALIVE.start + 1)  # this pid, another start: an ended process
ELSEWHERE = dataclasses.replace(ALIVE, host="another-host")


def _run(instance, status, tag=None, identity=None, for_run=None):
    run_id = make_new_run_id()
    args = daily_run_args("2013-01-05")
    if tag is not None:
        args["tags"] = {**args["tags"], tag: identity.encode(run=for_run or run_id)}
    return instance.create_run_for_pipeline(**args, run_id=run_id, status=status)


def test_process_states():
    assert process.state(ALIVE) == process.ProcessState.ALIVE
    assert process.state(GONE) == process.ProcessState.GONE
    assert process.state(ELSEWHERE) == process.ProcessState.ELSEWHERE
    assert process.state(dataclasses.replace(ALIVE, boot="an-earlier-boot")) == process.ProcessState.GONE
    assert process.ProcessIdentity.decode(ALIVE.encode(run="r")) == ALIVE
    assert process.ProcessIdentity.decode("not json") is None


@pytest.mark.parametrize("status", [PipelineRunStatus.NOT_STARTED, PipelineRunStatus.STARTING,
                                    PipelineRunStatus.STARTED, PipelineRunStatus.CANCELING])
def test_an_unfinished_run_whose_executor_is_gone_is_dead(instance, status):
    run = _run(instance, status, EXECUTOR_TAG, GONE)
    assert why_dead(run) == f"the process executing it (pid {os.getpid()} on {ALIVE.host}) is gone"


@pytest.mark.parametrize("identity", [ALIVE, ELSEWHERE])
def test_a_run_whose_executor_lives_or_cannot_be_checked_is_not_dead(instance, identity):
    assert why_dead(_run(instance, PipelineRunStatus.STARTED, EXECUTOR_TAG, identity)) is None


@pytest.mark.parametrize("status", [PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED])
def test_a_finished_run_is_never_dead(instance, status):
    assert why_dead(_run(instance, status, EXECUTOR_TAG, GONE)) is None


def test_a_tag_inherited_from_another_run_says_nothing(instance):
    """A re-execution copies its parent's tags: a tag recorded for another run id is not this run's process."""
    assert why_dead(_run(instance, PipelineRunStatus.STARTED, EXECUTOR_TAG, GONE, for_run=make_new_run_id())) is None
    assert why_dead(_run(instance, PipelineRunStatus.NOT_STARTED, CREATOR_TAG, GONE, for_run=make_new_run_id())) is None


def test_a_run_never_started_is_dead_when_its_creator_is_gone_and_only_then(instance):
    never_started = _run(instance, PipelineRunStatus.NOT_STARTED, CREATOR_TAG, GONE)
    assert why_dead(never_started) == (
        f"it never started, and the flights-etl backfill that created it (pid {os.getpid()} on {ALIVE.host}) is gone")
    assert why_dead(_run(instance, PipelineRunStatus.NOT_STARTED, CREATOR_TAG, ALIVE)) is None
    # Once started, its executor answers for it, not the backfill that created it.
    assert why_dead(_run(instance, PipelineRunStatus.STARTED, CREATOR_TAG, GONE)) is None
    assert why_dead(_run(instance, PipelineRunStatus.NOT_STARTED)) is None  # nothing recorded: cannot be told


def test_reaping_fails_or_cancels_the_dead_with_the_reason_and_leaves_the_rest(instance):
    started = _run(instance, PipelineRunStatus.STARTED, EXECUTOR_TAG, GONE)
    never_started = _run(instance, PipelineRunStatus.NOT_STARTED, CREATOR_TAG, GONE)
    alive = _run(instance, PipelineRunStatus.STARTED, EXECUTOR_TAG, ALIVE)
    reaped = reap_dead_runs(instance, [started, never_started, alive], found_by="the test")
    assert {run.run_id for run, _reason in reaped} == {started.run_id, never_started.run_id}
    assert instance.get_run_by_id(started.run_id).status == PipelineRunStatus.FAILURE
    assert instance.get_run_by_id(never_started.run_id).status == PipelineRunStatus.CANCELED
    assert instance.get_run_by_id(alive.run_id).status == PipelineRunStatus.STARTED
    messages = [event.message for event in instance.all_logs(started.run_id) if event.message]
    assert any(message.startswith("the test: marked as not running, because the process executing it") for message in messages)
    # Reaping again finds nothing: the runs read before are checked afresh.
    assert reap_dead_runs(instance, [started, never_started, alive], found_by="the test") == []
