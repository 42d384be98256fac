"""No failed run tagged for a retry is left without it.

Dagster 0.15.10's run retries (the daemon's event log consumer) read each ``RUN_FAILURE`` event
once, then move their cursor past it. The instance stores a run's failure event *before* it sets
the run's status to FAILURE; a consumer that reads the event in between sees a run that has not
failed, retries nothing and never looks again. A retry that failed to launch (the code server
unreachable) is also never tried again. Either way the partition stays failed with nobody at it,
though its tags promise a retry (the fleet's launcher tags a run whose worker died).

``missed`` finds the failed runs Dagster's own rule would still retry (``filter_runs_to_should_retry``:
failed, retries left, no retry yet) whose failure event the consumer's cursor has passed;
``look_again`` moves that cursor back to just before the earliest of them, so the consumer reads
them again and retries each once (a run that already has a retry is skipped by the same rule).
The watchdog (``runs/watchdog.py``) does this on every sweep.
"""
import logging
from typing import Dict, List, Optional

from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter, PipelineRun

from flights_etl.dagster_private import RunsFilter, event_log_consumer_cursor_key, filter_runs_to_should_retry
from flights_etl.runs.statuses import FAILED

logger = logging.getLogger("flights_etl.watchdog")
CURSOR_KEY = event_log_consumer_cursor_key(DagsterEventType.RUN_FAILURE)
RECENT_FAILURES = 200  # how many of the latest failure events are looked at


def consumer_cursor(instance: DagsterInstance) -> Optional[int]:
    """The storage id up to which the run retries have read failure events (None: never ran)."""
    value = instance.run_storage.kvs_get({CURSOR_KEY}).get(CURSOR_KEY)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def missed(instance: DagsterInstance) -> Dict[str, int]:
    """Run id -> storage id of its first failure event, for each failed run Dagster's run retries
    should retry and have already read past."""
    if not instance.run_retries_enabled:
        return {}
    cursor = consumer_cursor(instance)  # before the runs: a retry created since is then seen
    if cursor is None:
        return {}
    first_failure: Dict[str, int] = {}
    for record in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.RUN_FAILURE),
                                             limit=RECENT_FAILURES, ascending=False):
        if record.storage_id <= cursor:
            first_failure[record.event_log_entry.run_id] = record.storage_id
    if not first_failure:
        return {}
    failed: List[PipelineRun] = instance.get_runs(RunsFilter(run_ids=list(first_failure), statuses=list(FAILED)))
    due = filter_runs_to_should_retry(failed, instance, instance.run_retries_max_retries or 0)
    return {run.run_id: first_failure[run.run_id] for run, _number in due}


def look_again(instance: DagsterInstance, found_by: str) -> List[str]:
    """Have the run retries read the missed failures again; returns the runs' ids."""
    runs = missed(instance)
    if runs:
        instance.run_storage.kvs_set({CURSOR_KEY: str(min(runs.values()) - 1)})
        logger.warning("%s: run retries missed %d failed run(s) (%s); they are read again",
                       found_by, len(runs), ", ".join(run_id[:8] for run_id in sorted(runs)))
    return sorted(runs)
