"""Run a backfill's partitions in-process, in parallel worker processes, each as a normal run of the instance.

The parent creates each run (tags ``dagster/partition``, ``dagster/partition_set``, one
``dagster/backfill`` id, ``flights/creator``, plus the workspace's code origin) and hands its id
to a worker process (``worker.py``), which executes it with ``execute_run``: no subprocess per
partition, no gRPC server, so a partition costs a fraction of a second instead of ~2 s.

Nothing is left looking alive:
- a worker that dies (killed, out of memory) takes only its run down: that run is marked
  FAILURE with the reason, a fresh worker takes its place, and the backfill goes on (it stops
  cleanly if workers keep dying);
- Ctrl-C or SIGTERM: no new run starts, runs created but not started are marked CANCELED, runs in
  flight are interrupted by Dagster (marked FAILURE; their warehouse transaction rolls back);
- workers die with the parent however it ends (see ``worker.py``); a run the parent could not
  mark (``kill -9``, a full disk) is found dead later by ``runs.liveness``.
"""
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Callable, Deque, Iterator, List, Optional, Sequence, Tuple

from dagster import DagsterInstance, PartitionSetDefinition, PipelineDefinition, PipelineRunStatus, reconstructable

from flights_etl.backfill import dagster_internals as internals
from flights_etl.backfill.worker import worker_main
from flights_etl.errors import error_line
from flights_etl.runs import process
from flights_etl.runs.liveness import CREATOR_TAG
from flights_etl.runs.statuses import EXECUTING as UNFINISHED_STATUSES

POLL_S = 0.1  # how soon the parent notices Ctrl-C or SIGTERM while it waits on runs
FINISH_IN_FLIGHT_S = 60.0  # after an interrupt, how long runs in flight get to record their end
WORKER_EXIT_S = 10.0

@dataclass(frozen=True)
class PartitionOutcome:
    """How one partition's run ended."""

    partition: str
    run_id: str
    status: str  # SUCCESS, FAILURE or CANCELED
    seconds: float
    error: Optional[str] = None


@dataclass(frozen=True)
class Backfill:
    """What to run: a partition set's partitions, under one backfill id."""

    partition_set: PartitionSetDefinition
    pipeline: PipelineDefinition
    partitions: Sequence[str]
    backfill_id: str
    workspace_yaml: str
    repository_name: str


class BackfillStopped(Exception):
    """The backfill stopped before its end; ``reason`` says why (Ctrl-C, SIGTERM, an error)."""

    def __init__(self, reason: str, exit_code: int):
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


def max_workers() -> int:
    """More workers than this only queue on the warehouse and the instance, ~190 MB each."""
    return 4 * (os.cpu_count() or 1)


def default_concurrency() -> int:
    return os.cpu_count() or 1


# --- the parent ---------------------------------------------------------------------------


class _Worker:
    """One worker process, its pipe, and the run it is executing (name, run id, start time)."""

    def __init__(self, context, recon_pipeline):
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=worker_main, args=(child_end, recon_pipeline, os.getpid()), daemon=True, name="flights-etl-worker"
        )
        self.process.start()
        child_end.close()
        self.assignment: Optional[Tuple[str, str, float]] = None

    def how_it_ended(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"killed by signal {-code} ({name})"
        return f"exited with code {code}"


def run_backfill(
    backfill: Backfill,
    max_concurrent: int,
    on_outcome: Callable[[PartitionOutcome], None],
    instance: Optional[DagsterInstance] = None,
) -> List[PartitionOutcome]:
    """Run every partition of ``backfill``; call ``on_outcome`` as each finishes; return all outcomes.

    Raises ``BackfillStopped`` after cleaning up when interrupted or when it cannot go on;
    the outcomes reported so far stand.
    """
    instance = instance or DagsterInstance.get()
    return _Backfiller(backfill, max_concurrent, on_outcome, instance).run()


class _Backfiller:
    def __init__(self, backfill: Backfill, max_concurrent: int, on_outcome, instance: DagsterInstance):
        self.backfill = backfill
        self.instance = instance
        self.on_outcome = on_outcome
        self.outcomes: List[PartitionOutcome] = []
        self.waiting: Deque[str] = deque(backfill.partitions)
        self.ready: Deque[Tuple[str, str]] = deque()  # runs created, not yet handed to a worker
        self.workers: List[_Worker] = []
        self.size = max(1, min(max_concurrent, len(backfill.partitions)))
        self.deaths_in_a_row = 0
        repo_origin = internals.repository_origin(backfill.workspace_yaml, backfill.repository_name)
        self.repo_origin = repo_origin
        self.pipeline_origin = internals.pipeline_origin(repo_origin, backfill.pipeline.name)
        self.recon = reconstructable(backfill.pipeline)
        self.partitions = {partition.name: partition for partition in backfill.partition_set.get_partitions()}
        self.base_tags = {**backfill.pipeline.tags, internals.BACKFILL_ID_TAG: backfill.backfill_id}
        self.me = process.current()
        self.context = multiprocessing.get_context("spawn")

    # -- the loop --

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
                self.workers = [_Worker(self.context, self.recon) for _ in range(self.size)]
                while self.waiting or self.ready or self._busy():
                    if stop.reason:
                        raise BackfillStopped(stop.reason, stop.exit_code)
                    self._dispatch()
                    self._collect(POLL_S)
            except BackfillStopped as stopped:
                self._stop(stopped.reason, interrupt_in_flight=stop.forward_to_workers or stopped.exit_code == 1)
                raise
            except Exception as error:  # the instance became unwritable, ...
                reason = f"stopped: {error_line(error, with_class=True)}"
                self._stop(reason, interrupt_in_flight=True)
                raise BackfillStopped(reason, 1) from error
            finally:
                self._shut_down_workers()
        return self.outcomes

    def _busy(self) -> List[_Worker]:
        return [worker for worker in self.workers if worker.assignment is not None]

    def _dispatch(self) -> None:
        for worker in self.workers:
            if worker.assignment is not None or not worker.process.is_alive():
                continue
            if not self.ready and self.waiting:
                self.ready.append(self._create_run(self.waiting.popleft()))
            if not self.ready:
                break
            name, run_id = self.ready.popleft()
            try:
                worker.connection.send(run_id)
            except (BrokenPipeError, OSError):  # died this instant: the run never reached it
                self.ready.appendleft((name, run_id))
                continue
            worker.assignment = (name, run_id, time.perf_counter())
        # Keep one run created per idle-to-be worker, so workers never wait on the parent.
        while self.waiting and len(self.ready) < len(self.workers):
            self.ready.append(self._create_run(self.waiting.popleft()))

    def _create_run(self, name: str) -> Tuple[str, str]:
        partition = self.partitions[name]
        run_id = str(uuid.uuid4())
        tags = {
            **self.base_tags,
            **self.backfill.partition_set.tags_for_partition(partition),
            CREATOR_TAG: self.me.encode(run=run_id),
        }
        run = internals.create_run_for_pipeline(
            self.instance,
            pipeline_def=self.backfill.pipeline,
            run_id=run_id,
            run_config=self.backfill.partition_set.run_config_for_partition(partition),
            mode=self.backfill.partition_set.mode,
            tags=tags,
            pipeline_code_origin=self.recon.get_python_origin(),
            external_pipeline_origin=self.pipeline_origin,
        )
        return name, run.run_id

    def _collect(self, timeout: float) -> None:
        """Wait up to ``timeout`` for results or deaths and handle them."""
        watched = {}
        for worker in self.workers:
            watched[worker.connection] = worker
            watched[worker.process.sentinel] = worker
        for ready in wait(list(watched), timeout=timeout):
            worker = watched[ready]
            if ready is worker.connection and worker in self.workers:
                self._receive(worker)
        for worker in list(self.workers):
            if not worker.process.is_alive():
                while worker.assignment is not None and self._receive(worker):
                    pass  # a result sent just before it died still counts
                self._buried(worker)

    def _receive(self, worker: _Worker) -> bool:
        """Handle one result from ``worker`` if there is one; False at the end of its pipe."""
        try:
            if not worker.connection.poll():
                return False
            status, seconds, error = worker.connection.recv()
        except (EOFError, OSError):
            return False  # it died; _buried handles it
        if worker.assignment is None:
            return True
        name, run_id, _started = worker.assignment
        worker.assignment = None
        if status == "SUCCESS":
            self.deaths_in_a_row = 0
        self._report(PartitionOutcome(name, run_id, status, seconds, error))
        return True

    def _buried(self, worker: _Worker) -> None:
        """A worker died: fail its run with the reason, and replace it unless workers keep dying."""
        worker.process.join(timeout=1)
        self.workers.remove(worker)
        worker.connection.close()
        how = worker.how_it_ended()
        self.deaths_in_a_row += 1
        if worker.assignment is not None:
            name, run_id, started = worker.assignment
            reason = f"worker process {worker.process.pid} {how} while running this partition"
            self._mark(run_id, reason, failed=True)
            self._report(PartitionOutcome(name, run_id, "FAILURE", time.perf_counter() - started, reason))
        if self.deaths_in_a_row > max(3, self.size):
            raise BackfillStopped(f"stopped: {self.deaths_in_a_row} worker processes died in a row (last: {how})", 1)
        if self.waiting or self.ready:
            self.workers.append(_Worker(self.context, self.recon))

    def _report(self, outcome: PartitionOutcome) -> None:
        self.outcomes.append(outcome)
        self.on_outcome(outcome)

    # -- stopping --

    def _stop(self, reason: str, interrupt_in_flight: bool) -> None:
        """Cancel what never started, let (or make) the runs in flight end, mark what cannot."""
        while self.ready:
            name, run_id = self.ready.popleft()
            self._mark(run_id, f"backfill {reason} before this run started", failed=False)
            self._report(PartitionOutcome(name, run_id, "CANCELED", 0.0, "not started: backfill " + reason))
        if interrupt_in_flight:
            for worker in self._busy():
                _signal(worker.process.pid, signal.SIGINT)  # Dagster's interrupt, as Ctrl-C gives it
        deadline = time.monotonic() + FINISH_IN_FLIGHT_S
        while self._busy() and time.monotonic() < deadline:
            try:
                self._collect(min(POLL_S, max(0.0, deadline - time.monotonic())))
            except BackfillStopped:
                pass
        for worker in self._busy():  # did not end in time: stop it and say so
            name, run_id, started = worker.assignment
            _signal(worker.process.pid, signal.SIGKILL)
            worker.assignment = None
            self._mark(run_id, f"backfill {reason}; its run did not end within {FINISH_IN_FLIGHT_S:.0f} s", failed=True)
            self._report(PartitionOutcome(name, run_id, "FAILURE", time.perf_counter() - started, "interrupted"))

    def _mark(self, run_id: str, reason: str, failed: bool) -> None:
        """Record a run's end that its own process could not record; never raises."""
        try:
            run = self.instance.get_run_by_id(run_id)
            if run is None or run.status not in UNFINISHED_STATUSES:
                return
            message = f"flights-etl backfill: {reason}"
            if failed or run.status != PipelineRunStatus.NOT_STARTED:
                self.instance.report_run_failed(run, message=message)
            else:
                self.instance.report_run_canceled(run, message=message)
        except Exception:  # the instance cannot be written: `flights-etl status` marks it later (liveness)
            pass

    def _shut_down_workers(self) -> None:
        for worker in self.workers:
            try:
                worker.connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.monotonic() + WORKER_EXIT_S
        for worker in self.workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _signal(worker.process.pid, signal.SIGKILL)
                worker.process.join(timeout=5)
            worker.connection.close()
        self.workers = []


def _signal(pid: Optional[int], signum: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


class _Stop:
    """Why the backfill should stop (None while it should go on)."""

    reason: Optional[str] = None
    exit_code = 0
    forward_to_workers = False  # SIGTERM reached the parent only: its workers must be told


@contextmanager
def _signals_as_flags() -> Iterator[_Stop]:
    """While the backfill runs, Ctrl-C and SIGTERM only set a flag that the loop checks between steps.

    An exception raised wherever the parent happens to be can land between creating a run and
    handing it to a worker, or inside a finalizer, where Python prints and drops it.
    """
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # only the main thread receives signals
        return

    def on_sigint(_signum, _frame):
        stop.reason, stop.exit_code = stop.reason or "interrupted by Ctrl-C", stop.exit_code or 130

    def on_sigterm(_signum, _frame):
        stop.reason, stop.exit_code = stop.reason or "stopped by SIGTERM", stop.exit_code or 143
        stop.forward_to_workers = True

    previous = signal.signal(signal.SIGINT, on_sigint), signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
