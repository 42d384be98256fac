"""The local executor: a backfill's runs in parallel warm worker processes on this machine.

The driver (``backfill/driver.py``) creates each run and hands its id here; an idle worker
process (``backfill/worker.py``) executes it with ``execute_run``: no subprocess per partition, no
gRPC server, so a partition costs a fraction of a second instead of ~2 s.

Nothing is left looking alive:
- a worker that dies (killed, out of memory) takes only its run down: that run is marked
  FAILURE with the reason, a fresh worker takes its place, and the backfill goes on (it stops
  cleanly if workers keep dying);
- Ctrl-C or SIGTERM: no new run starts, runs created but not started are marked CANCELED, runs in
  flight are interrupted by Dagster (marked FAILURE; their warehouse transaction rolls back);
- workers die with the parent however it ends (see ``worker.py``); a run the parent could not
  mark (``kill -9``, a full disk) is found dead later by ``runs.liveness``.
"""
import gc
import multiprocessing
import os
import signal
import time
from collections import deque
from multiprocessing.connection import wait
from typing import Callable, Deque, List, Optional, Tuple

from dagster import DagsterInstance, PipelineDefinition, PipelineRunStatus, reconstructable

from flights_etl.backfill.driver import BackfillStopped, PartitionOutcome
from flights_etl.backfill.warehouse_writer import WriterProcess, duckdb_target
from flights_etl.backfill.worker import worker_main
from flights_etl.runs.many_runs import import_step_code
from flights_etl.runs.statuses import EXECUTING as UNFINISHED_STATUSES

POLL_S = 0.1  # how soon the parent notices Ctrl-C or SIGTERM while it waits on runs
FINISH_IN_FLIGHT_S = 60.0  # after an interrupt, how long runs in flight get to record their end
WORKER_EXIT_S = 10.0



def max_workers() -> int:
    """More workers than this only queue on the warehouse and the instance, ~190 MB each."""
    return 4 * (os.cpu_count() or 1)


def default_concurrency() -> int:
    return os.cpu_count() or 1


# --- the parent ---------------------------------------------------------------------------


class _Worker:
    """One worker process, its pipe, and the run it is executing (name, run id, start time).

    Forked from the parent once Dagster and the pipeline are imported: a worker starts in
    milliseconds instead of ~2 CPU-s of imports, and shares the parent's memory pages until it
    writes them. The parent's objects are frozen (``LocalProcesses.start``) before any fork, so the child's
    garbage collector never finalizes one of them (an inherited database handle closed by the
    child); the child opens its own instance and warehouse and never uses the parent's.
    """

    def __init__(self, context, recon_pipeline, writer: Optional[WriterProcess] = None):
        gc.freeze()  # what the parent made since the last fork, too
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=worker_main, args=(child_end, recon_pipeline, os.getpid(), writer.client_args if writer else None),
            daemon=True, name="flights-etl-worker",
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


class LocalProcesses:
    """Runs handed over execute in ``size`` warm worker processes; one created run waits per worker."""

    def __init__(self, pipeline: PipelineDefinition, instance: DagsterInstance, concurrency: int, partitions: int):
        self.instance = instance
        self.concurrency = concurrency
        self.size = max(1, min(concurrency, partitions))
        self.where = f"{self.size} at a time"
        self.recon = reconstructable(pipeline)
        self.ready: Deque[Tuple[str, str]] = deque()  # runs created, not yet handed to a worker
        self.workers: List[_Worker] = []
        self.deaths_in_a_row = 0
        self.context = multiprocessing.get_context("fork")
        self.writer: Optional[WriterProcess] = None
        self._report: Callable[[PartitionOutcome], None] = lambda _outcome: None

    def start(self, report: Callable[[PartitionOutcome], None]) -> None:
        self._report = report
        # Frozen for the whole backfill, not just each fork: a collection walks every object it
        # tracks and writes its header, so each page of them would be copied, in every child that
        # collects and in the parent, whose later collections left the earlier children the only
        # holders of the old pages (~30 MiB each; the writer, forked unfrozen, ~50 more).
        import_step_code()  # before any fork: the workers and the writer share them
        gc.collect()
        gc.freeze()
        target = duckdb_target()
        if target is not None:  # one process holds the DuckDB file for every worker (warehouse_writer.py)
            self.writer = WriterProcess(self.context, target)
        self.workers = [self._new_worker() for _ in range(self.size)]

    def _new_worker(self) -> _Worker:
        return _Worker(self.context, self.recon, self.writer)

    def room(self) -> int:
        """Idle workers, plus one run created ahead per worker, so workers never wait on the parent."""
        while len(self.workers) < self.size:  # one died with nothing left to hand it at the time
            self.workers.append(self._new_worker())
        idle = sum(1 for worker in self.workers if worker.assignment is None and worker.process.is_alive())
        return idle + len(self.workers) - len(self.ready)

    def submit(self, name: str, run_id: str) -> None:
        self.ready.append((name, run_id))
        self._dispatch()

    def busy(self) -> bool:
        return bool(self.ready or self._busy())

    def collect(self) -> None:
        self._dispatch()
        self._collect(POLL_S)

    def _busy(self) -> List[_Worker]:
        return [worker for worker in self.workers if worker.assignment is not None]

    def _dispatch(self) -> None:
        for worker in self.workers:
            if not self.ready:
                break
            if worker.assignment is not None or not worker.process.is_alive():
                continue
            name, run_id = self.ready.popleft()
            try:
                worker.connection.send(run_id)
            except (BrokenPipeError, OSError):  # died this instant: the run never reached it
                self.ready.appendleft((name, run_id))
                continue
            worker.assignment = (name, run_id, time.perf_counter())

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
        if self.writer is not None and not self.writer.alive():
            gc.freeze()
            self.writer.start()  # the workers' next write reconnects; the one in flight failed its run with the reason

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
        if self.ready:  # else replaced when the driver has more to hand over (room)
            self.workers.append(self._new_worker())

    # -- stopping --

    def stop(self, reason: str, interrupt_in_flight: bool) -> None:
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

    def close(self) -> None:
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
        try:
            if self.writer is not None:
                self.writer.stop()  # after the workers: it commits what they sent, then checkpoints the file
                self.writer = None
        finally:
            gc.unfreeze()  # the parent goes on as before (its frozen garbage would never be collected)


def _signal(pid: Optional[int], signum: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
