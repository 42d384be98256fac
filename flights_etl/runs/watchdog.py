"""The watchdog: no run stays stranded in a waiting state that nothing else re-examines.

Dagster 0.15.10's run monitoring looks only at STARTING/STARTED/CANCELING runs and reads the
worker's health; nothing re-examines a QUEUED or NOT_STARTED run. ``sweep`` does, from what the
instance records (statuses, tags, the runs' leases: ``runs/lease.py``) and, on the fleet, what
the broker holds:
- fleet, QUEUED or STARTING, no live lease, and its task neither in the broker's queue nor
  delivered and unacknowledged (the broker lost it: Redis restarted; or the launch died half-way):
  sent again, at most ``MAX_RESENDS`` times, then marked FAILED;
- fleet, NOT_STARTED with no creator tag (a Dagit backfill's run the daemon created and did not
  launch before it died): launched (at most ``MAX_RESENDS`` times); not from a backfill: CANCELED;
- fleet, STARTED or CANCELING whose lease has expired: FAILED (CANCELED) with the reason, as the
  daemon's run monitoring does, so this also holds without a daemon;
- embedded default: NOT_STARTED with no creator tag: CANCELED; and ``runs/liveness.py``'s rules
  (the recorded executing or creating process is gone), on the fleet only for runs no worker leased;
- a failed run that Dagster's run retries read past without retrying it, though it has a retry
  left (a race in Dagster 0.15.10): handed back to them (``runs/retries.py``).
A run must look stranded for ``grace_s()`` (60 s, ``$FLIGHTS_WATCHDOG_GRACE_S``) unchanged before
anything is done; "cannot tell" (the broker unreachable) is never read as lost: the run waits.
The daemon sweeps every 30 s (``flights_run_watchdog_sensor``), so a stranded run is acted on
within ~90 s; ``flights-etl status``/``backfill`` and the fleet backfill sweep as well.
"""
import json
import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import List, Mapping, Optional, Tuple

from dagster import DagsterInstance, PipelineRun, PipelineRunStatus

from flights_etl import settings
from flights_etl.dagster_private import BACKFILL_ID_TAG, RunsFilter
from flights_etl.runs import retries
from flights_etl.runs.kvs import values_of_runs
from flights_etl.runs.lease import Lease, is_live, leases_of, why_expired
from flights_etl.runs.liveness import reap_dead_runs
from flights_etl.runs.statuses import FAILED, RUNNING, UNFINISHED, WAITING
from flights_etl.runs.tags import CREATOR_TAG, EXECUTOR_TAG, PARTITION_TAG, RESENT_TAG

logger = logging.getLogger("flights_etl.watchdog")
GRACE_ENV = settings.WATCHDOG_GRACE_S
DEFAULT_GRACE_S = 60.0
SWEEP_INTERVAL_S = 30  # the sensor's minimum interval
MAX_RESENDS = 3
SUSPECT_PREFIX = "flights/watchdog/"  # kvs: since when a run has looked stranded, unchanged


def grace_s() -> float:
    return settings.number(GRACE_ENV, DEFAULT_GRACE_S, why=" (seconds)")


class Action(Enum):
    RESEND = "sent again"
    FAIL = "marked FAILED"
    CANCEL = "marked CANCELED"


@dataclass(frozen=True)
class Observed:
    """What the sweep knows of one unfinished run."""
    status: PipelineRunStatus
    tags: Mapping[str, str]
    lease: Optional[Lease]
    in_broker: Optional[bool] = None  # fleet: its task is in the broker; None: cannot tell


def stranded_because(run: Observed, now: float, fleet: bool) -> Optional[str]:
    """Why a waiting run looks stranded right now, or None (it may yet move, or cannot be told)."""
    if run.status == PipelineRunStatus.NOT_STARTED:
        if CREATOR_TAG in run.tags or EXECUTOR_TAG in run.tags:
            return None  # runs/liveness.py judges it by that process
        return "it was created but never launched (its creator stopped before launching it)"
    if not fleet or run.status not in WAITING or is_live(run.lease, now):
        return None
    if run.in_broker is None or run.in_broker:
        return None  # cannot tell, or a worker will take it
    lost = "its task is neither in the broker's queue nor delivered to a worker"
    expired = why_expired(run.lease, now)
    return f"{lost}, and {expired}" if expired else f"{lost}, and no worker took it"


def dead_owner(run: Observed, now: float) -> Optional[str]:
    """Why a fleet run that started has no live worker, or None."""
    if run.status not in RUNNING or is_live(run.lease, now):
        return None
    return why_expired(run.lease, now) or "no worker ever took its lease"


def verdict(run: Observed, fleet: bool) -> Action:
    """What to do with a run stranded for the grace period."""
    resent = int(run.tags.get(RESENT_TAG, "0") or 0)
    can_resend = fleet and resent < MAX_RESENDS
    if run.status == PipelineRunStatus.NOT_STARTED:
        return Action.RESEND if can_resend and BACKFILL_ID_TAG in run.tags else Action.CANCEL
    return Action.RESEND if can_resend else Action.FAIL


def due(suspect: Optional[dict], fingerprint: str, now: float, grace: float) -> Tuple[bool, dict]:
    """Whether a run that looks stranded has looked so, unchanged, for the grace period; and the
    record to keep (the clock restarts whenever the run changes)."""
    if not suspect or suspect.get("seen") != fingerprint:
        return grace <= 0, {"since": now, "seen": fingerprint}
    return now - float(suspect.get("since", now)) >= grace, suspect


def _fingerprint(record) -> str:
    run = record.pipeline_run
    return f"{run.status.value}|{record.update_timestamp}|{run.tags.get(RESENT_TAG, '0')}"


def sweep(instance: DagsterInstance, now: Optional[float] = None, found_by: str = "flights watchdog") -> List[Tuple[PipelineRun, str]]:
    """Find and act on every stranded or dead unfinished run; returns (run as it is after the
    action, why) for each (``describe`` words it). Failed runs whose retry Dagster's run retries
    missed are handed back to them (``runs/retries.py``)."""
    done = _sweep_unfinished(instance, time.time() if now is None else now, found_by)
    try:
        retries.look_again(instance, found_by)
    except Exception as error:  # as for one run's trouble: never stops the sweep's caller
        logger.warning("%s: looking for missed run retries: %s: %s", found_by, type(error).__name__, error)
    return done


def _sweep_unfinished(instance: DagsterInstance, now: float, found_by: str) -> List[Tuple[PipelineRun, str]]:
    launcher = instance.run_launcher
    fleet = hasattr(launcher, "task_ids_in_broker")  # the Celery run launcher (fleet/launcher.py)
    unfinished = instance.get_runs(RunsFilter(statuses=list(UNFINISHED)))
    if fleet:  # a leased run is judged by its lease (and tagged for its retry), not by a process
        leased = leases_of(instance, [run.run_id for run in unfinished])
        unfinished = [run for run in unfinished if run.run_id not in leased]
    done = [(instance.get_run_by_id(run.run_id), reason) for run, reason in reap_dead_runs(instance, unfinished, found_by)]
    records = instance.get_run_records(RunsFilter(statuses=list(WAITING + (RUNNING if fleet else ()))))
    if not records:
        return done
    leases = leases_of(instance, [r.pipeline_run.run_id for r in records])
    in_broker = None
    if fleet and any(r.pipeline_run.status in WAITING[1:] and not is_live(leases.get(r.pipeline_run.run_id), now)
                     for r in records):
        in_broker = launcher.task_ids_in_broker()  # after reading the runs: a task taken since is in "unacked"
    grace = grace_s()
    suspects = _suspects(instance, records)
    keep = {}
    for record in records:
        run = record.pipeline_run
        observed = Observed(run.status, run.tags, leases.get(run.run_id),
                            None if in_broker is None else run.run_id in in_broker)
        try:
            if fleet and run.status in RUNNING:
                reason = dead_owner(observed, now)
                if reason is not None:
                    done += _end_dead(instance, launcher, run, reason, found_by)
                continue
            reason = stranded_because(observed, now, fleet)
            if reason is None:
                continue
            act, keep[run.run_id] = due(suspects.get(run.run_id), _fingerprint(record), now, grace)
            if act:
                done += _act(instance, launcher, run.run_id, verdict(observed, fleet), reason, found_by, now, fleet)
        except Exception as error:  # one run's trouble must not stop the others' (nor `status`)
            logger.warning("%s: run %s: %s: %s", found_by, run.run_id, type(error).__name__, error)
    for run_id, value in keep.items():
        if value == suspects.get(run_id):
            continue
        # One key per call: Dagster 0.15.10's kvs_set inserts none of several keys if one exists.
        instance.run_storage.kvs_set({SUSPECT_PREFIX + run_id: json.dumps(value)})
    return done


def _suspects(instance, records) -> dict:
    return values_of_runs(instance, SUSPECT_PREFIX, [r.pipeline_run.run_id for r in records], json.loads)


def _end_dead(instance, launcher, run, reason, found_by):
    health = launcher.check_run_worker_health(run)  # tags it for the daemon's retry, as monitoring would
    fresh = instance.get_run_by_id(run.run_id)
    if health.status.value != "FAILED" or fresh is None or fresh.status not in RUNNING:
        return []
    message = f"{found_by}: marked as not running, because {health.msg}"
    if fresh.status == PipelineRunStatus.CANCELING:
        instance.report_run_canceled(fresh, message=message)
    else:
        instance.report_run_failed(fresh, message=message)
    return [(instance.get_run_by_id(run.run_id), health.msg)]


def _act(instance, launcher, run_id, action, reason, found_by, now, fleet):
    """Carry out ``action`` once the run, read again, is still stranded the same way."""
    fresh = instance.get_run_by_id(run_id)
    if fresh is None or fresh.status not in WAITING:
        return []
    lease = leases_of(instance, [run_id]).get(run_id)
    if is_live(lease, time.time()):
        return []
    if action == Action.RESEND:
        if fleet and launcher.task_ids_in_broker() is None:
            return []  # the broker is unreachable: wait, never read that as lost
        count = int(fresh.tags.get(RESENT_TAG, "0") or 0) + 1
        instance.add_run_tags(run_id, {RESENT_TAG: str(count)})
        if fresh.status == PipelineRunStatus.NOT_STARTED:
            instance.report_engine_event(f"{found_by}: launching it (attempt {count}), because {reason}", fresh)
            instance.launch_run(run_id, workspace=None)
        else:
            launcher.resend(fresh, reason)
        return [(instance.get_run_by_id(run_id), f"{reason} (sent again: {count} of {MAX_RESENDS})")]
    message = f"{found_by}: marked as not running, because {reason}"
    if action == Action.CANCEL:
        instance.report_run_canceled(fresh, message=message)
    else:
        instance.report_run_failed(fresh, message=message)
    return [(instance.get_run_by_id(run_id), reason)]


def describe(run: PipelineRun, reason: str) -> str:
    """One line for what ``sweep`` did to a run (each run it returns is read after the action)."""
    head = f"{run.tags.get(PARTITION_TAG, '?')}: run {run.run_id[:8]}"
    if run.status in FAILED:
        return f"{head} was left unfinished and is marked {run.status.value}: {reason}"
    return f"{head} was stranded and is sent to the fleet again: {reason}"
