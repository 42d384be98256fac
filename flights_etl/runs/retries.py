"""No failed run tagged for a retry is left without it.

Dagster 0.15.10's run retries (the daemon's event log consumer) read each ``RUN_FAILURE`` event
once, then move their cursor past it. The instance stores a run's failure event *before* it sets
the run's status to FAILURE; a consumer that reads the event in between sees a run that has not
failed, retries nothing and never looks again. A retry the consumer could not create (its code
location unreachable for a moment) is not tried again either. Either way the partition stays
failed with nobody at it, though its tags promise a retry (the fleet's launcher tags a run whose
worker died).

``missed`` finds, among the ``RECENT_FAILURES`` latest failure events, the failed runs Dagster's
own rule would still retry (``filter_runs_to_should_retry``: failed, retries left, no retry yet)
whose failure event the consumer's cursor has passed; ``look_again`` moves that cursor back to
just before the earliest of them, so the consumer reads them again and retries each once (a run
that already has a retry is skipped by the same rule). A run is handed back at most
``MAX_HAND_BACKS`` times: a retry that fails the same way each time (its job renamed, its code
location broken: the consumer says why in the run's log) is not asked for again every sweep.
The watchdog (``runs/watchdog.py``) does this on every sweep.
"""
import logging
from typing import Dict, List, Optional, Tuple

from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter, PipelineRun

from flights_etl.dagster_private import RunsFilter, event_log_consumer_cursor_key, filter_runs_to_should_retry
from flights_etl.runs.kvs import values_of_runs
from flights_etl.runs.statuses import FAILED
from flights_etl.runs.tags import MAX_RETRIES_TAG

logger = logging.getLogger("flights_etl.watchdog")
CURSOR_KEY = event_log_consumer_cursor_key(DagsterEventType.RUN_FAILURE)
RECENT_FAILURES = 200  # how many of the latest failure events are looked at
MAX_HAND_BACKS = 3
HANDED_BACK_PREFIX = "flights/retries/handed-back/"  # kvs: how many times a run was handed back


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
    return _missed(instance)[0]


def _missed(instance: DagsterInstance) -> Tuple[Dict[str, int], Dict[str, int]]:
    """``missed``, and how many times each of those runs was handed back already."""
    if not instance.run_retries_enabled:
        return {}, {}
    cursor = consumer_cursor(instance)  # before the runs: a retry created since is then seen
    if cursor is None:
        return {}, {}
    first_failure: Dict[str, int] = {}
    for record in instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.RUN_FAILURE),
                                             limit=RECENT_FAILURES, ascending=False):
        if record.storage_id <= cursor:
            first_failure[record.event_log_entry.run_id] = record.storage_id
    if not first_failure:
        return {}, {}
    default = instance.run_retries_max_retries or 0
    failed: List[PipelineRun] = [
        run for run in instance.get_runs(RunsFilter(run_ids=list(first_failure), statuses=list(FAILED)))
        if _retries_asked(run.tags, default)  # before Dagster's rule, which queries (and complains) per run
    ]
    if not failed:
        return {}, {}
    handed_back = values_of_runs(instance, HANDED_BACK_PREFIX, [run.run_id for run in failed], int)
    due = filter_runs_to_should_retry(failed, instance, default)
    runs = {run.run_id: first_failure[run.run_id] for run, _number in due if handed_back.get(run.run_id, 0) < MAX_HAND_BACKS}
    return runs, handed_back


def _retries_asked(tags, default: int) -> bool:
    try:
        return int(tags.get(MAX_RETRIES_TAG, default)) > 0
    except ValueError:
        return False  # Dagster's rule does not retry it either


def look_again(instance: DagsterInstance, found_by: str) -> List[str]:
    """Have the run retries read the missed failures again; returns the runs' ids."""
    runs, counts = _missed(instance)
    if runs:
        for run_id in runs:  # one key per call: Dagster 0.15.10's SQLite kvs_set inserts none of several if one exists
            instance.run_storage.kvs_set({HANDED_BACK_PREFIX + run_id: str(counts.get(run_id, 0) + 1)})
        instance.run_storage.kvs_set({CURSOR_KEY: str(min(runs.values()) - 1)})
        logger.warning("%s: run retries missed %d failed run(s) (%s); they are read again",
                       found_by, len(runs), ", ".join(run_id[:8] for run_id in sorted(runs)))
    return sorted(runs)
