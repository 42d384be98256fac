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
- ``check_run_worker_health``: a run is RUNNING while its worker refreshes the run's claim in
  Redis (every 5 s, expiring after 20 s); once the claim has expired, the worker is gone and the
  run is reported FAILED, so the daemon's run monitoring marks it failed. Such a run is tagged
  for one automatic retry of the whole partition (``dagster/max_retries``,
  ``dagster/retry_strategy: ALL_STEPS``), which the daemon's run retries carry out.
"""
from typing import Optional

from dagster import DagsterEvent, DagsterEventType, Field, StringSource

from flights_etl.backfill.dagster_internals import (
    CheckRunHealthResult,
    ConfigurableClass,
    ConfigurableClassData,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from flights_etl.fleet.broker import DEFAULT_QUEUE, TASK_NAME, broker_url, claim_key, make_app, masked, redis_client
from flights_etl.fleet.version import code_version

RETRY_TAGS = {"dagster/max_retries": "1", "dagster/retry_strategy": "ALL_STEPS"}
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


class CeleryRunLauncher(RunLauncher, ConfigurableClass):
    def __init__(self, broker: Optional[str] = None, queue: str = DEFAULT_QUEUE, retry_lost_runs: bool = True,
                 inst_data: Optional[ConfigurableClassData] = None):
        self._inst_data = inst_data
        self._broker = broker
        self.queue = queue
        self.retry_lost_runs = retry_lost_runs
        self._app = None
        self._redis = None
        super().__init__()

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
            self.app.send_task(
                TASK_NAME, args=[run.run_id, code_version()], task_id=task_id, queue=self.queue,
                retry=True, retry_policy=PUBLISH_RETRY,
            )
        except Exception as error:
            raise RuntimeError(
                f"could not send run {run.run_id} to the Celery broker {masked(self.broker)} (queue {self.queue}): "
                f"{_first_line(error)}"
            ) from None

    def launch_run_by_id(self, run_id: str) -> None:
        """``instance.launch_run`` for a run created outside Dagit and the daemon (``flights-etl backfill``)."""
        self._instance.launch_run(run_id, workspace=None)

    # --- terminating -----------------------------------------------------------------------

    def can_terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        return run is not None and not run.is_finished

    def terminate(self, run_id: str) -> bool:
        from dagster import PipelineRunStatus

        instance = self._instance
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        claimed = self._claimed(run_id)
        if run.status in (PipelineRunStatus.QUEUED, PipelineRunStatus.NOT_STARTED, PipelineRunStatus.STARTING) and not claimed:
            try:
                self.app.control.revoke(run_id)  # its task's id is the run's
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
        try:
            claimed = self._claimed(run.run_id)
        except Exception as error:  # the broker is unreachable: say nothing about the worker
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"broker unreachable: {_first_line(error)}")
        if claimed:
            return CheckRunHealthResult(WorkerStatus.RUNNING, claimed)
        if self.retry_lost_runs and run.parent_run_id is None:
            self._instance.add_run_tags(run.run_id, RETRY_TAGS)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            "its worker stopped heartbeating (no claim in the broker for 20 s): the worker process is gone",
        )

    def _claimed(self, run_id: str) -> Optional[str]:
        value = self.redis.get(claim_key(run_id))
        return value.decode() if value else None

    def dispose(self):
        if self._redis is not None:
            self._redis.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
