"""``CeleryRunLauncher``: every launched run becomes one Celery task on the fleet's queue.

Configured in the instance's ``dagster.yaml`` (see ``deploy/fleet/dagster.yaml``), so every way a
run starts goes through it: the Launchpad, Dagit backfills and the daemon's schedules and
sensors, ``dagster pipeline backfill``, re-execution, and ``flights-etl backfill``. A
``flights-etl worker`` process takes the task and executes the run in-process.

- ``launch_run``: marks the run QUEUED (waiting for a worker, as Dagit shows it) and sends the
  task (run id and this process's code version) to the queue; if the broker cannot be reached
  the launch fails, naming the broker (never its password), and the run is marked failed:
  nothing is left queued half-way. A worker moves it on (dequeued, started). Do not combine
  this launcher with the QueuedRunCoordinator: Celery is the queue.
- ``terminate``: a run still waiting in the queue is revoked and marked CANCELED; a running
  one is marked CANCELING, which its worker turns into Dagster's interrupt (CANCELED, the
  warehouse transaction rolled back).
- ``check_run_worker_health``: a run is RUNNING while its worker renews the run's lease in the
  instance (``runs/lease.py``: every 5 s, expiring after 30 s); once the lease has expired, the
  worker is gone and the run is reported FAILED, so the daemon's run monitoring marks it failed.
  The broker is not consulted: Redis restarting or unreachable says nothing about the worker.
  Such a run is tagged for one automatic retry of the whole partition (``dagster/max_retries``,
  ``dagster/retry_strategy: ALL_STEPS``), which the daemon's run retries carry out.
- ``task_ids_in_broker`` and ``resend``: what the watchdog (``runs/watchdog.py``) uses to find a
  queued run whose task the broker lost, and to send it again.
"""
import time
from typing import Optional

from dagster import DagsterEvent, DagsterEventType, Field, StringSource

from flights_etl.dagster_private import (
    CheckRunHealthResult,
    ConfigurableClass,
    ConfigurableClassData,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from flights_etl.errors import error_line
from flights_etl.fleet.broker import (
    DEFAULT_QUEUE,
    TASK_NAME,
    broker_url,
    make_app,
    masked,
    queued_task_ids,
    redis_client,
    resend_task_id,
)
from flights_etl.fleet.version import code_version
from flights_etl.runs.lease import is_live, lease_of, why_expired
from flights_etl.runs.statuses import WAITING
from flights_etl.runs.tags import MAX_RETRIES_TAG, RESENT_TAG, RETRY_STRATEGY_TAG


class BrokerUnreachable(RuntimeError):
    """The run's task could not be sent (Dagster marks that run failed). ``transient``: a backfill
    gives the partition a new run once the broker answers again (backfill/executors/run_launcher.py)."""

    transient = True


RETRY_TAGS = {MAX_RETRIES_TAG: "1", RETRY_STRATEGY_TAG: "ALL_STEPS"}
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


class CeleryRunLauncher(RunLauncher, ConfigurableClass):
    backfills_through_launcher = True  # `flights-etl backfill` launches its runs here (backfill/executors)

    def __init__(self, broker: Optional[str] = None, queue: str = DEFAULT_QUEUE, retry_lost_runs: bool = True,
                 inst_data: Optional[ConfigurableClassData] = None):
        self._inst_data = inst_data
        self._broker = broker
        self.queue = queue
        self.retry_lost_runs = retry_lost_runs
        self._app = None
        self._redis = None
        super().__init__()

    @property
    def where(self) -> str:
        """Where runs go, in words, for `flights-etl backfill`'s first line."""
        return f"on the worker fleet (queue {self.queue})"

    # --- configuration ---------------------------------------------------------------------

    @property
    def inst_data(self):
        return self._inst_data

    @classmethod
    def config_type(cls):
        return {
            "broker": Field(StringSource, is_required=False,
                            description="Broker URL, e.g. {env: FLIGHTS_BROKER_URL} (the default)."),
            "queue": Field(str, default_value=DEFAULT_QUEUE, description="Celery queue the runs are sent to."),
            "retry_lost_runs": Field(bool, default_value=True,
                                     description="Retry once (whole partition) a run whose worker died."),
        }

    @staticmethod
    def from_config_value(inst_data, config_value):
        return CeleryRunLauncher(inst_data=inst_data, **config_value)

    @property
    def broker(self) -> str:
        return broker_url(self._broker)

    @property
    def app(self):
        if self._app is None:
            self._app = make_app(self.broker)
        return self._app

    @property
    def redis(self):
        if self._redis is None:
            self._redis = redis_client(self.broker)
        return self._redis

    # --- launching -------------------------------------------------------------------------

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.pipeline_run
        task_id = run.run_id  # one task per run: revoking a run's task needs nothing but the run
        # QUEUED while it waits for a worker (as Dagit shows it, and terminates it), not STARTING:
        # run monitoring gives a STARTING run only a bounded time, and a long backfill queues long.
        self._instance.report_dagster_event(
            DagsterEvent(
                event_type_value=DagsterEventType.PIPELINE_ENQUEUED.value,
                pipeline_name=run.pipeline_name,
                message=f"Sent to the fleet: Celery queue {self.queue} at {masked(self.broker)}, task {task_id}",
            ),
            run_id=run.run_id,
        )
        try:
            self._send(run.run_id)
        except Exception as error:
            raise BrokerUnreachable(
                f"could not send run {run.run_id} to the Celery broker {masked(self.broker)} (queue {self.queue}): "
                f"{error_line(error, with_class=True)}"
            ) from None

    def _send(self, run_id: str, task_id: Optional[str] = None) -> None:
        self.app.send_task(
            TASK_NAME, args=[run_id, code_version()], task_id=task_id or run_id, queue=self.queue,
            retry=True, retry_policy=PUBLISH_RETRY,
        )

    def resend(self, run, reason: str) -> None:
        """Send a run's task again (the watchdog: the broker lost it). Safe: a worker stands down
        on a run that is leased by another worker or no longer waiting to start. Each sending has a
        task id of its own (``<run id>:resend-N``): a worker discards for good a task id it was told
        to revoke (a backfill stopped mid-outage revokes what it launched), so the run's own id would
        never be executed again."""
        self._send(run.run_id, task_id=resend_task_id(run.run_id, int(run.tags.get(RESENT_TAG, "0") or 0) + 1))
        self._instance.report_engine_event(
            f"flights watchdog: sent to the fleet again ({masked(self.broker)}, queue {self.queue}), because {reason}", run)

    def task_ids_in_broker(self) -> Optional[set]:
        """Ids of the tasks the broker holds (queued or delivered, unacknowledged); None if it cannot be reached."""
        try:
            return queued_task_ids(self.redis, self.queue)
        except Exception:
            return None

    def launch_run_by_id(self, run_id: str) -> None:
        """``instance.launch_run`` for a run created outside Dagit and the daemon (``flights-etl backfill``)."""
        self._instance.launch_run(run_id, workspace=None)

    # --- terminating -----------------------------------------------------------------------

    def can_terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        return run is not None and not run.is_finished

    def terminate(self, run_id: str) -> bool:

        instance = self._instance
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        claimed = is_live(lease_of(instance, run_id), time.time())
        if run.status in WAITING and not claimed:
            try:
                self.redis.ping()  # an unreachable broker would make the revoke retry for seconds
                resent = int(run.tags.get(RESENT_TAG, "0") or 0)
                # its task's id is the run's, and each sending again has its own
                self.app.control.revoke([run_id] + [resend_task_id(run_id, n) for n in range(1, resent + 2)])
            except Exception:  # the worker stands down anyway: the run is CANCELED when it arrives
                pass
            instance.report_run_canceled(run, message="Terminated while waiting in the fleet's queue: task revoked")
            return True
        instance.report_run_canceling(run, message="Termination requested: its worker interrupts it")
        return True

    # --- health ----------------------------------------------------------------------------

    @property
    def supports_check_run_worker_health(self):
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        now = time.time()
        try:
            lease = lease_of(self._instance, run.run_id)
        except Exception as error:
            # Dagster 0.15.10's run monitoring fails a run on UNKNOWN: not knowing is not dying, so
            # the run counts as running until its lease can be read (the next check, 5 s later).
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"lease unreadable for now: {error_line(error, with_class=True)}")
        if is_live(lease, now):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"leased by {lease.owner}")
        reason = why_expired(lease, now) or "no worker ever took its lease"
        if self.retry_lost_runs and run.parent_run_id is None:
            self._instance.add_run_tags(run.run_id, RETRY_TAGS)
        return CheckRunHealthResult(WorkerStatus.FAILED, reason)

    def dispose(self):
        if self._redis is not None:
            self._redis.close()
