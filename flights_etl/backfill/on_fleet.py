"""``flights-etl backfill`` on an instance whose run launcher is the worker fleet's.

The parent creates each run exactly as on one machine (same tags, code origin, backfill record),
then launches it through the instance (``instance.launch_run``: the Celery run launcher sends it
to the queue) instead of handing it to local processes, keeping up to ``window`` runs launched
and not finished. It follows them in the instance and reports each as it ends, with the same
progress, summary and exit codes. Every few seconds it runs the watchdog's sweep
(``runs/watchdog.py``): a run whose worker's lease expired is marked failed even without a
daemon, a run whose task the broker lost is sent again. A partition's outcome is its final one:
when a failed run is followed by its automatic retry (the daemon's run retries: a run whose
``dagster/parent_run_id`` is the failed one), the backfill follows the retry. Ctrl-C or SIGTERM
terminates what it launched (queued runs are revoked, running ones interrupted by their
workers) and stops; runs it could not see end are reported as they last were (e.g. QUEUED),
never as canceled, and the watchdog settles them later.
"""
import sys
import time
import uuid
from typing import Dict, List, Tuple

from dagster import DagsterEventType, DagsterInstance, PipelineRunStatus

from flights_etl.backfill import dagster_internals as internals
from flights_etl.backfill.runner import (
    Backfill,
    BackfillStopped,
    PartitionOutcome,
    _signals_as_flags,
)
from flights_etl.errors import error_line
from flights_etl.runs import process
from flights_etl.runs.errors import own_message
from flights_etl.runs.liveness import CREATOR_TAG
from flights_etl.runs.tags import MAX_RETRIES_TAG, PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG
from flights_etl.runs.watchdog import describe, sweep

POLL_S = 0.2
HEALTH_CHECK_S = 5.0
FINISH_IN_FLIGHT_S = 60.0
RETRY_WAIT_S = 60.0  # how long a failed run's automatic retry may take to appear (the daemon creates it)
RETRY_DAEMON = "EVENT_LOG_CONSUMER"  # the dagster-daemon part that carries out run retries
DAEMON_FRESH_S = 60.0
ENDED = {
    PipelineRunStatus.SUCCESS: "SUCCESS",
    PipelineRunStatus.FAILURE: "FAILURE",
    PipelineRunStatus.CANCELED: "CANCELED",
}


def uses_fleet(instance: DagsterInstance) -> bool:
    from flights_etl.fleet.launcher import CeleryRunLauncher

    return isinstance(instance.run_launcher, CeleryRunLauncher)


def run_backfill_on_fleet(backfill: Backfill, window: int, on_outcome, instance: DagsterInstance) -> List[PartitionOutcome]:
    return _FleetBackfiller(backfill, window, on_outcome, instance).run()


class _FleetBackfiller:
    def __init__(self, backfill: Backfill, window: int, on_outcome, instance: DagsterInstance):
        from dagster import reconstructable

        self.backfill, self.window, self.on_outcome, self.instance = backfill, max(1, window), on_outcome, instance
        self.launcher = instance.run_launcher
        self.outcomes: List[PartitionOutcome] = []
        self.waiting = list(backfill.partitions)
        self.in_flight: Dict[str, Tuple[str, float]] = {}  # run id -> (partition, launched at)
        self.retry_due: Dict[str, float] = {}  # failed run id -> until when its retry is waited for
        self.repo_origin = internals.repository_origin(backfill.workspace_yaml, backfill.repository_name)
        self.pipeline_origin = internals.pipeline_origin(self.repo_origin, backfill.pipeline.name)
        self.recon = reconstructable(backfill.pipeline)
        self.partitions = {partition.name: partition for partition in backfill.partition_set.get_partitions()}
        self.base_tags = {**backfill.pipeline.tags, internals.BACKFILL_ID_TAG: backfill.backfill_id}
        self.me = process.current()
        self.last_health_check = time.monotonic()

    def run(self) -> List[PartitionOutcome]:
        try:
            internals.record_backfill(
                self.instance, self.backfill.backfill_id, self.repo_origin, self.backfill.partition_set.name,
                list(self.backfill.partitions), self.base_tags,
            )
        except Exception as error:
            raise BackfillStopped(f"stopped before any run: {error_line(error, with_class=True)}", 1) from error
        with _signals_as_flags() as stop:
            try:
                while self.waiting or self.in_flight:
                    if stop.reason:
                        raise BackfillStopped(stop.reason, stop.exit_code)
                    while self.waiting and len(self.in_flight) < self.window and not stop.reason:
                        self._launch(self.waiting.pop(0))
                    self._collect()
                    self._check_health()
                    time.sleep(POLL_S)
            except BackfillStopped as stopped:
                self._stop(stopped.reason)
                raise
            except Exception as error:
                reason = f"stopped: {error_line(error, with_class=True)}"
                self._stop(reason)
                raise BackfillStopped(reason, 1) from error
        return self.outcomes

    def _launch(self, name: str) -> None:
        partition = self.partitions[name]
        run_id = str(uuid.uuid4())
        run = internals.create_run_for_pipeline(
            self.instance,
            pipeline_def=self.backfill.pipeline,
            run_id=run_id,
            run_config=self.backfill.partition_set.run_config_for_partition(partition),
            mode=self.backfill.partition_set.mode,
            tags={**self.base_tags, **self.backfill.partition_set.tags_for_partition(partition),
                  CREATOR_TAG: self.me.encode(run=run_id)},
            pipeline_code_origin=self.recon.get_python_origin(),
            external_pipeline_origin=self.pipeline_origin,
        )
        try:
            self.instance.launch_run(run.run_id, workspace=None)
        except Exception as error:  # the broker is down: Dagster has marked the run failed, with the reason
            self._report(PartitionOutcome(name, run.run_id, "FAILURE", 0.0, error_line(error, with_class=True)))
            raise BackfillStopped(f"stopped: {error_line(error, with_class=True)}", 1) from None
        self.in_flight[run.run_id] = (name, time.monotonic())

    def _collect(self) -> None:
        if not self.in_flight:
            return
        records = self.instance.get_run_records(internals.RunsFilter(run_ids=list(self.in_flight)))
        for record in records:
            run = record.pipeline_run
            if run.status not in ENDED:
                continue
            if run.status == PipelineRunStatus.FAILURE and self._follow_retry(run):
                continue
            name, _launched = self.in_flight.pop(run.run_id)
            self.retry_due.pop(run.run_id, None)
            seconds = (record.end_time - record.start_time) if record.start_time and record.end_time else 0.0
            error = None if run.status == PipelineRunStatus.SUCCESS else first_error_of_run(self.instance, run.run_id)
            self._report(PartitionOutcome(name, run.run_id, ENDED[run.status], seconds, error))

    def _follow_retry(self, run) -> bool:
        """True while the failed ``run``'s outcome is not final: its retry now takes its place in
        flight, or is still expected (waited for up to ``RETRY_WAIT_S``)."""
        children = self.instance.get_runs(internals.RunsFilter(tags={PARENT_RUN_ID_TAG: run.run_id}))
        if children:
            name, launched = self.in_flight.pop(run.run_id)
            self.retry_due.pop(run.run_id, None)
            self.in_flight[children[0].run_id] = (name, launched)
            return True
        if not retry_expected(run.tags) or not self._retries_carried_out():
            return False
        due = self.retry_due.setdefault(run.run_id, time.monotonic() + RETRY_WAIT_S)
        return time.monotonic() < due

    def _retries_carried_out(self) -> bool:
        """Is a dagster-daemon running the run retries (it heartbeats in the instance)?"""
        beat = self.instance.get_daemon_heartbeats().get(RETRY_DAEMON)
        return beat is not None and time.time() - beat.timestamp < DAEMON_FRESH_S

    def _check_health(self) -> None:
        """The watchdog's sweep (what the daemon's run monitoring and watchdog sensor do), so a dead
        worker's run ends and a lost task is sent again even without a daemon."""
        if time.monotonic() - self.last_health_check < HEALTH_CHECK_S or not self.in_flight:
            return
        self.last_health_check = time.monotonic()
        for run, reason in sweep(self.instance, found_by="flights-etl backfill"):
            if run.run_id in self.in_flight:
                print(describe(run, reason), file=sys.stderr, flush=True)

    def _report(self, outcome: PartitionOutcome) -> None:
        self.outcomes.append(outcome)
        self.on_outcome(outcome)

    def _stop(self, reason: str) -> None:
        """Terminate what was launched and not finished; wait for the runs to end."""
        for run_id in list(self.in_flight):
            try:
                self.launcher.terminate(run_id)
            except Exception:  # the instance or broker is gone: `status` finds the runs later
                pass
        deadline = time.monotonic() + FINISH_IN_FLIGHT_S
        while self.in_flight and time.monotonic() < deadline:
            try:
                self._collect()
            except Exception:
                break
            time.sleep(POLL_S)
        for run_id, (name, launched) in list(self.in_flight.items()):
            self._report(PartitionOutcome(name, run_id, self._last_status(run_id), time.monotonic() - launched,
                                          f"backfill {reason}; the run had not ended (the watchdog settles it)"))
        self.in_flight.clear()

    def _last_status(self, run_id: str) -> str:
        """What an unfinished run is, in words: its status if the instance can tell, else UNKNOWN."""
        try:
            run = self.instance.get_run_by_id(run_id)
        except Exception:
            return "UNKNOWN"
        return run.status.value if run is not None else "UNKNOWN"


def retry_expected(tags) -> bool:
    """Whether Dagster's run retries will re-run this failed run (tags ``dagster/max_retries``,
    ``dagster/retry_number``)."""
    try:
        return int(tags.get(MAX_RETRIES_TAG, "0")) > int(tags.get(RETRY_NUMBER_TAG, "0"))
    except ValueError:
        return False


def first_error_of_run(instance: DagsterInstance, run_id: str) -> str:
    """The first failed step and its own message, else the run's failure message."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        return f"{record.dagster_event.step_key}: {own_message(record.dagster_event.event_specific_data.error)}"
    for event_type in (DagsterEventType.PIPELINE_FAILURE, DagsterEventType.PIPELINE_CANCELED):
        records = instance.all_logs(run_id, of_type=event_type)
        if records:
            return records[-1].message or "run failed"
    return "run failed"
