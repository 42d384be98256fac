"""What a fleet worker process does with a run: claim it, check it, execute it in-process, heartbeat.

Each Celery worker process keeps a warm instance (the shared one its ``$DAGSTER_HOME`` names,
with the backfill workers' cheap storage) and the pipelines it has reconstructed, each from a
run's own code origin (any pipeline of the repository that created the run), and for each task:
1. claims the run in Redis (``SET NX``): a second delivery of the same task stands down;
2. stands down if the run is no longer waiting to start (already executed, canceled);
3. fails the run with a clear error if the launcher's code differs from this worker's;
4. takes the run's lease in the instance (``runs/lease.py``: the ownership every part reads;
   it stands down if another worker holds a live one) and executes the run with Dagster's
   ``execute_run``, while a thread renews the lease and the claim every 5 s (the heartbeat the
   launcher's health check reads, from the instance) and watches for a terminate request
   (status CANCELING), which it turns into Dagster's interrupt: the run ends CANCELED and its
   warehouse transaction rolls back.
"""
import logging
import os
import signal
import socket
import threading
import time

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, PipelineRunStatus

from flights_etl import dagster_private as private
from flights_etl import settings
from flights_etl.fleet.broker import CLAIM_TTL_S, HEARTBEAT_S, claim_key, redis_client
from flights_etl.fleet.version import code_version
from flights_etl.instance import worker as instance_worker
from flights_etl.runs.executor import WORKER_NAME_ENV, WORKER_TAG  # noqa: F401  (WORKER_TAG re-exported)
from flights_etl.runs.lease import Lease, is_live, lease_of, lease_ttl_s, new_lease, write_lease
from flights_etl.runs.liveness import fail_when_reachable
from flights_etl.runs.many_runs import prepare_process
from flights_etl.runs.statuses import WAITING
from flights_etl.warehouse.postgres_backend import cancel_active_statements

logger = logging.getLogger("flights_etl.fleet")
CANCEL_POLL_S = 1.0


class WorkerProcess:
    """One worker process's warm state."""

    def __init__(self, broker: str, hostname: str):
        prepare_process()
        self.instance: DagsterInstance = instance_worker.worker_instance()
        self.redis = redis_client(broker)
        self.hostname = hostname
        os.environ[WORKER_NAME_ENV] = hostname  # the executor records it with the run's process
        self.pipelines = {}  # code origin id -> reconstructed pipeline, kept warm

    def _pipeline(self, run):
        """The run's pipeline, from the run's own code origin; None (and why) if it cannot be loaded here."""
        origin = run.pipeline_code_origin
        if origin is None:
            return None, "the run has no code origin"
        key = origin.get_id()
        if key not in self.pipelines:
            try:
                recon = private.recon_pipeline_from_origin(origin)
                recon.get_definition()  # fails here, with the reason, if this machine lacks the code
            except Exception as error:
                text = str(error).strip()
                return None, f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
            self.pipelines[key] = recon
        return self.pipelines[key], None

    def execute(self, run_id: str, launcher_code_version: str) -> str:
        """Execute one delivered run; returns what happened, in words (for the worker's log)."""
        instance = self.instance
        run = instance.get_run_by_id(run_id)
        if run is None:
            return _log(f"run {run_id} is not in this worker's instance (DAGSTER_HOME={settings.read(settings.DAGSTER_HOME)}): "
                        "the worker and the launcher must share the instance")
        me = f"{self.hostname} pid {os.getpid()}"
        if not self.redis.set(claim_key(run_id), me, nx=True, ex=CLAIM_TTL_S):
            holder = self.redis.get(claim_key(run_id))
            instance.report_engine_event(
                f"flights fleet: task delivered again; {holder.decode() if holder else 'another worker'} has claimed "
                "this run: not executing it twice", run)
            return _log(f"run {run_id}: delivered again, already claimed: stood down")
        owner = f"{me} on {socket.gethostname()}"
        leased = False
        try:
            run = instance.get_run_by_id(run_id)
            current = lease_of(instance, run_id)
            if is_live(current, time.time()) and current.owner != owner:
                # The Redis claim was lost (broker restarted) while another worker runs it: the
                # lease in the instance is the ownership that counts.
                instance.report_engine_event(
                    f"flights fleet: task delivered again; {current.owner} holds this run's lease: not executing it twice", run)
                return _log(f"run {run_id}: delivered again, leased by {current.owner}: stood down")
            if run.status == PipelineRunStatus.CANCELING:
                instance.report_run_canceled(run, message=f"flights fleet: canceled before it started on {self.hostname}")
                return _log(f"run {run_id}: canceled before it started")
            if run.status not in WAITING:
                instance.report_engine_event(
                    f"flights fleet: task delivered again on {self.hostname}; the run is already "
                    f"{run.status.value}: not executing it twice", run)
                return _log(f"run {run_id}: already {run.status.value}: stood down")
            if launcher_code_version != code_version():
                instance.report_run_failed(run, message=(
                    f"flights fleet: worker {self.hostname} runs flights-etl {code_version()}, but the run was launched "
                    f"by flights-etl {launcher_code_version}: deploy the same code on every machine, then re-execute"))
                return _log(f"run {run_id}: code version mismatch: failed")
            recon, why = self._pipeline(run)
            if recon is None:
                instance.report_run_failed(
                    run, message=f"flights fleet: worker {self.hostname} cannot load pipeline {run.pipeline_name}: {why}")
                return _log(f"run {run_id}: cannot load pipeline {run.pipeline_name}")
            write_lease(instance, run_id, new_lease(owner, time.time()))  # before the run leaves the queue
            leased = True
            if run.status == PipelineRunStatus.QUEUED:  # taken from the queue: dequeued, then STARTING
                for event_type, message in ((DagsterEventType.PIPELINE_DEQUEUED, f"Taken from the fleet's queue by {me}"),
                                            (DagsterEventType.PIPELINE_STARTING, None)):
                    instance.report_dagster_event(
                        DagsterEvent(event_type_value=event_type.value, pipeline_name=run.pipeline_name, message=message),
                        run_id=run_id,
                    )
                run = instance.get_run_by_id(run_id)
            watcher = _Watcher(instance, self.redis, run_id, me, owner)
            watcher.start()
            started = time.perf_counter()
            failed = None
            try:
                result = private.execute_run(recon, run, instance)
            except KeyboardInterrupt:
                result = None
            except Exception as error:  # never leave the run looking alive
                result = None
                logger.exception("run %s", run_id)
                failed = f"flights fleet: execution on {self.hostname} failed: {type(error).__name__}: {error}"
            finally:
                watcher.stop()
                instance_worker.release_run(instance, run_id)
            # Dagster could not record the run's end (say, the instance's database restarting): record
            # it once the instance answers again, for as long as the lease would have kept the run ours.
            fail_when_reachable(instance, run_id, failed or f"flights fleet: execution on {self.hostname} ended "
                                "without a status", within_s=lease_ttl_s())
            final = instance.get_run_by_id(run_id).status
            return _log(f"run {run_id} ({run.tags.get('dagster/partition', '')}): "
                        f"{'success' if result is not None and result.success else final.value} "
                        f"in {time.perf_counter() - started:.2f}s on {self.hostname}")
        finally:
            if leased:
                _end_lease(instance, run_id, owner)
            _release_claim(self.redis, run_id, me)


class _Watcher(threading.Thread):
    """Renews the run's lease and claim (the heartbeat) and turns a terminate request into an interrupt."""

    def __init__(self, instance: DagsterInstance, redis, run_id: str, me: str, owner: str):
        super().__init__(name=f"heartbeat-{run_id[:8]}", daemon=True)
        self.instance, self.redis, self.run_id, self.me, self.owner = instance, redis, run_id, me, owner
        self._stopped = threading.Event()

    def run(self):
        last_beat = time.monotonic()
        interrupted = False
        while not self._stopped.wait(CANCEL_POLL_S):
            try:
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    # Until it succeeds it is tried every second: an instance outage shorter than
                    # the lease's TTL costs the run nothing.
                    write_lease(self.instance, self.run_id, new_lease(self.owner, time.time()))
                    last_beat = time.monotonic()
                    try:  # set again, not only refreshed: a restarted Redis has lost it
                        self.redis.set(claim_key(self.run_id), self.me, ex=CLAIM_TTL_S)
                    except Exception as error:
                        logger.warning("claim of run %s: %s", self.run_id, error)
                run = self.instance.get_run_by_id(self.run_id)
                if not interrupted and run is not None and run.status == PipelineRunStatus.CANCELING:
                    interrupted = True
                    os.kill(os.getpid(), signal.SIGINT)  # Dagster's interrupt: the run ends CANCELED
                    cancel_active_statements()  # a statement waiting on the server stops now
            except Exception as error:  # the broker or the instance blinked: try again next second
                logger.warning("heartbeat of run %s: %s", self.run_id, error)

    def stop(self):
        self._stopped.set()
        self.join(timeout=5)


def _end_lease(instance: DagsterInstance, run_id: str, owner: str) -> None:
    """Mark the lease ended (if it is still ours): the run's end, not a death. If the instance is
    unreachable the lease simply expires."""
    try:
        current = lease_of(instance, run_id)
        if current is not None and current.owner == owner:
            write_lease(instance, run_id, Lease(owner, time.time(), time.time(), ended=True))
    except Exception as error:
        logger.warning("lease of run %s: %s", run_id, error)


def _release_claim(redis, run_id: str, me: str) -> None:
    """Drop the claim if it is still ours (so the health check sees the run as ended, not lost)."""
    try:
        key = claim_key(run_id)
        if redis.get(key) == me.encode():
            redis.delete(key)
    except Exception:
        pass


def _log(text: str) -> str:
    logger.info(text)
    return text


def default_hostname() -> str:
    return f"flights@{socket.gethostname()}"
