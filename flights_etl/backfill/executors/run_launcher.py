"""The run-launcher executor: a backfill's runs launched through the instance's run launcher.

For an instance whose launcher declares ``backfills_through_launcher = True`` (the Celery fleet's
does; a Kubernetes or Docker launcher would declare it the same way, nothing else to write). The
driver (``backfill/driver.py``) creates each run exactly as on one machine; this launches it
(``instance.launch_run``), keeping up to ``window`` runs launched and not finished, follows them
in the instance and reports each as it ends. Every few seconds it runs the watchdog's sweep
(``runs/watchdog.py``, the launcher's ``check_run_worker_health`` where it supports it): a run
whose worker died is marked failed even without a daemon, a run whose task was lost is sent
again. A partition's outcome is its final one: when a failed run is followed by its automatic
retry (the daemon's run retries: a run whose ``dagster/parent_run_id`` is the failed one), the
backfill follows the retry. On a stop it terminates what it launched through the launcher (asking
again while the instance or broker cannot be reached) and waits for the runs to end; runs it
could not see end are reported as they last were (e.g. QUEUED), never as canceled, and the
watchdog settles them later.
"""
import sys
import time
from typing import Callable, Dict, Tuple

from dagster import DagsterEventType, DagsterInstance, PipelineRunStatus

from flights_etl import dagster_private as private
from flights_etl.backfill.driver import BackfillStopped, PartitionOutcome, TryLater, first_line
from flights_etl.runs.errors import own_message
from flights_etl.runs.tags import MAX_RETRIES_TAG, PARENT_RUN_ID_TAG, RETRY_NUMBER_TAG
from flights_etl.runs.watchdog import describe, sweep

POLL_S = 0.2
HEALTH_CHECK_S = 5.0
FINISH_IN_FLIGHT_S = 60.0
RETRY_WAIT_S = 60.0  # how long a failed run's automatic retry may take to appear (the daemon creates it)
RETRY_DAEMON = "EVENT_LOG_CONSUMER"  # the dagster-daemon part that carries out run retries
DAEMON_FRESH_S = 60.0
# A launch that fails for a reason the launcher calls transient (``error.transient``: the broker is
# unreachable) after an earlier launch of the backfill succeeded is tried again with a new run after
# a pause (1 s doubling to 15 s), for up to this long without one launch succeeding; then the
# backfill stops (finish with --only missing,failed). A first launch that fails stops it at once:
# a wrong broker URL is one line, not two minutes of retries.
LAUNCH_RETRY_FOR_S = 120.0
LAUNCH_PAUSE_MAX_S = 15.0
ENDED = {
    PipelineRunStatus.SUCCESS: "SUCCESS",
    PipelineRunStatus.FAILURE: "FAILURE",
    PipelineRunStatus.CANCELED: "CANCELED",
}


DEFAULT_WINDOW = 100  # runs launched and not yet finished, at most
DECLARATION = "backfills_through_launcher"  # a launcher's attribute: True sends backfills through it


def backfills_through(instance: DagsterInstance) -> bool:
    """Does the instance's run launcher declare that backfills go through it?"""
    return bool(getattr(instance.run_launcher, DECLARATION, False))


class RunLauncherExecutor:
    def __init__(self, instance: DagsterInstance, window: int):
        self.instance, self.window = instance, max(1, window)
        self.concurrency = self.window
        self.launcher = instance.run_launcher
        where = getattr(self.launcher, "where", None) or f"through the instance's {type(self.launcher).__name__}"
        self.where = f"{where}, up to {self.window} launched at a time"
        self.in_flight: Dict[str, Tuple[str, float]] = {}  # run id -> (partition, launched at)
        self.retry_due: Dict[str, float] = {}  # failed run id -> until when its retry is waited for
        self.last_health_check = time.monotonic()
        self.launched_any = False
        self.launch_failing_since = None  # monotonic time of the first failed launch in a row
        self.launch_pause = 0.0
        self.paused_until = 0.0
        self._report: Callable[[PartitionOutcome], None] = lambda _outcome: None

    def start(self, report: Callable[[PartitionOutcome], None]) -> None:
        self._report = report

    def room(self) -> int:
        if time.monotonic() < self.paused_until:
            return 0
        return self.window - len(self.in_flight)

    def busy(self) -> bool:
        return bool(self.in_flight)

    def submit(self, name: str, run_id: str) -> None:
        try:
            self.instance.launch_run(run_id, workspace=None)
        except Exception as error:  # Dagster has marked the run failed, with the reason
            now = time.monotonic()
            self.launch_failing_since = self.launch_failing_since or now
            transient = self.launched_any and getattr(error, "transient", False)
            if not transient or now - self.launch_failing_since >= LAUNCH_RETRY_FOR_S:
                self._report(PartitionOutcome(name, run_id, "FAILURE", 0.0, first_line(error)))
                raise BackfillStopped(f"stopped: {first_line(error)}", 1) from None
            self.launch_pause = min(LAUNCH_PAUSE_MAX_S, max(1.0, self.launch_pause * 2))
            self.paused_until = now + self.launch_pause
            print(f"{name}: run {run_id[:8]} could not be launched ({first_line(error)}); it is marked failed and "
                  f"the partition gets a new run in {self.launch_pause:.0f} s", file=sys.stderr, flush=True)
            raise TryLater() from None
        self.launched_any, self.launch_failing_since, self.launch_pause = True, None, 0.0
        self.in_flight[run_id] = (name, time.monotonic())

    def collect(self) -> None:
        self._collect()
        self._check_health()
        time.sleep(POLL_S)

    def close(self) -> None:
        pass

    def _collect(self) -> None:
        if not self.in_flight:
            return
        records = self.instance.get_run_records(private.RunsFilter(run_ids=list(self.in_flight)))
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
        children = self.instance.get_runs(private.RunsFilter(tags={PARENT_RUN_ID_TAG: run.run_id}))
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

    def stop(self, reason: str, interrupt_in_flight: bool = True) -> None:
        """Terminate what was launched and not finished; wait for the runs to end."""
        unterminated = set(self.in_flight)
        deadline = time.monotonic() + FINISH_IN_FLIGHT_S
        while self.in_flight and time.monotonic() < deadline:
            # Asked again while the instance or broker cannot be reached (often why the backfill
            # stops): a run still waiting in the queue is then canceled at once, not waited for.
            unterminated = {run_id for run_id in unterminated if run_id in self.in_flight and not self._terminated(run_id)}
            try:
                self._collect()
            except Exception:
                break
            time.sleep(POLL_S)
        for run_id, (name, launched) in list(self.in_flight.items()):
            self._report(PartitionOutcome(name, run_id, self._last_status(run_id), time.monotonic() - launched,
                                          f"backfill {reason}; the run had not ended (the watchdog settles it)"))
        self.in_flight.clear()

    def _terminated(self, run_id: str) -> bool:
        """Whether the launcher took the request to terminate ``run_id`` (False: ask again)."""
        try:
            self.launcher.terminate(run_id)
        except Exception:  # the instance or broker is gone for now
            return False
        return True

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
