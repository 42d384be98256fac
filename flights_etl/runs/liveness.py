"""Runs left unfinished by a process that no longer exists: find them, say why, mark them.

A run is judged only from what its own tags record:
- ``flights/executor`` (written by the pipelines' executor as execution starts): the run is dead
  if it is still NOT_STARTED, STARTING, STARTED or CANCELING and that process is gone;
- ``flights/creator`` (written by ``flights-etl backfill`` when it creates a run): a run never
  started is dead if the backfill that created it is gone (its workers die with it).
Processes are checked on this host only (see ``process.py``); a run executed on another host is
left to Dagster's run monitoring in the daemon. A dead run is marked FAILURE (CANCELED if it
never started) with the reason, which ``--only failed`` then picks up.
"""
import json
import logging
import time
from typing import Iterable, List, Optional, Tuple

from dagster import DagsterInstance, PipelineRun, PipelineRunStatus

from flights_etl.runs.process import ProcessIdentity, ProcessState, state
from flights_etl.runs.statuses import IN_PROGRESS, UNFINISHED
from flights_etl.runs.tags import CREATOR_TAG, EXECUTOR_TAG

logger = logging.getLogger("flights_etl.liveness")
RECORD_RETRY_S = 1.0


def _recorded(run: PipelineRun, tag: str) -> Optional[ProcessIdentity]:
    """The process a tag records for this very run (a re-execution may inherit its parent's tags)."""
    text = run.tags.get(tag)
    if not text:
        return None
    try:
        if json.loads(text).get("run") != run.run_id:
            return None
    except (ValueError, AttributeError):
        return None
    return ProcessIdentity.decode(text)


def why_dead(run: PipelineRun) -> Optional[str]:
    """Why ``run`` can never finish on its own, or None if it may (or is finished, or cannot be told)."""
    if run.status not in UNFINISHED:
        return None
    executor = _recorded(run, EXECUTOR_TAG)
    if executor is not None:
        if state(executor) == ProcessState.GONE:
            return f"the process executing it ({executor.describe()}) is gone"
        return None
    creator = _recorded(run, CREATOR_TAG)
    if run.status == PipelineRunStatus.NOT_STARTED and creator is not None and state(creator) == ProcessState.GONE:
        return f"it never started, and the flights-etl backfill that created it ({creator.describe()}) is gone"
    return None


def reap_dead_runs(instance: DagsterInstance, runs: Iterable[PipelineRun], found_by: str) -> List[Tuple[PipelineRun, str]]:
    """Mark every dead run among ``runs`` as failed (canceled if it never started); return them with the reason."""
    reaped = []
    for run in runs:
        if why_dead(run) is None:
            continue
        fresh = instance.get_run_by_id(run.run_id)  # it may have finished since it was read
        reason = why_dead(fresh) if fresh is not None else None
        if reason is None:
            continue
        message = f"{found_by}: marked as not running, because {reason}"
        if fresh.status == PipelineRunStatus.NOT_STARTED:
            instance.report_run_canceled(fresh, message=message)
        else:
            instance.report_run_failed(fresh, message=message)
        reaped.append((fresh, reason))
    return reaped


def fail_when_reachable(instance: DagsterInstance, run_id: str, message: str, within_s: float) -> bool:
    """Mark a run whose execution ended without recording its end FAILURE (CANCELED if it was being
    canceled), trying again every second
    for up to ``within_s`` while the instance cannot be reached (its database restarting): once it
    answers, the run ends at once instead of looking alive until its owner is declared gone. True
    when the run is ended (by this or by anyone else), False if the instance never answered."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            run = instance.get_run_by_id(run_id)
            if run is not None and run.status == PipelineRunStatus.CANCELING:
                instance.report_run_canceled(run, message=message)
            elif run is not None and run.status in IN_PROGRESS:
                instance.report_run_failed(run, message=message)
            return True
        except Exception as error:  # the instance's database is unreachable for now
            if time.monotonic() >= deadline:
                logger.warning("run %s: could not record its end (%s): %s", run_id, type(error).__name__, error)
                return False
            time.sleep(RECORD_RETRY_S)
