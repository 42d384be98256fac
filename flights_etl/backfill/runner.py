"""Run a backfill's partitions in-process, in parallel workers, each as a normal run of the instance.

The parent creates each run (tags ``dagster/partition``, ``dagster/partition_set`` and
one ``dagster/backfill`` id, plus the workspace's code origin) and hands its id to a
worker process, which executes it with ``execute_run``: no subprocess per partition,
no gRPC server, so a partition costs a fraction of a second instead of ~2 s.

Ctrl-C: no new run is started, runs created but not started are marked CANCELED, and
runs in flight are interrupted by Dagster (marked FAILURE; their DuckDB transaction
rolls back), so every partition is either fully loaded or reported as not loaded.
"""
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from dagster import DagsterInstance, PartitionSetDefinition, PipelineDefinition, PipelineRunStatus, reconstructable

from flights_etl.backfill import dagster_internals as internals


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


CTRL_C_POLL_S = 0.1  # how soon the parent notices Ctrl-C while it waits on runs

UNFINISHED_STATUSES = (
    PipelineRunStatus.NOT_STARTED,
    PipelineRunStatus.STARTING,
    PipelineRunStatus.STARTED,
)

# --- worker side -------------------------------------------------------------------------

_worker: Dict[str, object] = {}


def _init_worker(recon_pipeline) -> None:
    # Ctrl-C is the parent's to handle between runs; during a run Dagster installs its own
    # handler, which interrupts that run cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent shows progress; each run's log lines are in the event log (and Dagit), so the
    # workers' console output would only interleave with the progress bar.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    instance = internals.worker_instance()
    multiprocessing.util.Finalize(instance, instance.dispose, exitpriority=10)  # closes its files
    _worker["instance"] = instance
    _worker["recon"] = recon_pipeline


def _execute(run_id: str):
    """Execute one created run; return (status, seconds, first error) as plain picklable values."""
    instance: DagsterInstance = _worker["instance"]
    started = time.perf_counter()
    try:
        run = instance.get_run_by_id(run_id)
        result = internals.execute_run(_worker["recon"], run, instance)
        status = "SUCCESS" if result.success else "FAILURE"
        error = None if result.success else _first_error(result)
    except Exception as exception:  # a broken run must not take the worker down
        status, error = "FAILURE", f"{type(exception).__name__}: {exception}"
        _mark_failed_if_unfinished(instance, run_id, error)
    finally:
        internals.release_run(instance, run_id)
    return status, time.perf_counter() - started, error


def _mark_failed_if_unfinished(instance: DagsterInstance, run_id: str, error: str) -> None:
    """Never leave a run looking STARTED when Dagster itself could not record its end."""
    try:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in UNFINISHED_STATUSES:
            instance.report_run_failed(run, message=f"flights-etl backfill: {error}")
    except Exception:  # the instance itself is unreachable: the parent reports the failure
        pass


def _first_error(result) -> str:
    for event in result.event_list:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error.cause is not None and "DagsterExecutionStepExecutionError" in error.message:
                error = error.cause
            message = error.message.strip()
            if error.cls_name == "Failure":  # a solid's own clear message: drop the class prefix
                message = message.split(": ", 1)[-1]
            return f"{event.step_key}: {message}"
    for event in result.event_list:
        if event.event_type_value in ("RUN_FAILURE", "PIPELINE_FAILURE"):
            return event.message or "run failed"
    return "run failed"


# --- parent side -------------------------------------------------------------------------


def run_backfill(
    backfill: Backfill,
    max_concurrent: int,
    on_outcome: Callable[[PartitionOutcome], None],
    instance: Optional[DagsterInstance] = None,
) -> List[PartitionOutcome]:
    """Run every partition of ``backfill``; call ``on_outcome`` as each finishes; return all outcomes.

    Raises KeyboardInterrupt after cleaning up when interrupted; outcomes reported so far stand.
    """
    instance = instance or DagsterInstance.get()
    repo_origin = internals.repository_origin(backfill.workspace_yaml, backfill.repository_name)
    pipeline_origin = internals.pipeline_origin(repo_origin, backfill.pipeline.name)
    recon = reconstructable(backfill.pipeline)
    partitions = {partition.name: partition for partition in backfill.partition_set.get_partitions()}
    base_tags = {**backfill.pipeline.tags, internals.BACKFILL_ID_TAG: backfill.backfill_id}
    internals.record_backfill(
        instance, backfill.backfill_id, repo_origin, backfill.partition_set.name, list(backfill.partitions), base_tags
    )

    def create_run(name: str):
        partition = partitions[name]
        return internals.create_run_for_pipeline(
            instance,
            pipeline_def=backfill.pipeline,
            run_config=backfill.partition_set.run_config_for_partition(partition),
            mode=backfill.partition_set.mode,
            tags={**base_tags, **backfill.partition_set.tags_for_partition(partition)},
            pipeline_code_origin=recon.get_python_origin(),
            external_pipeline_origin=pipeline_origin,
        )

    outcomes: List[PartitionOutcome] = []
    waiting = list(backfill.partitions)
    in_flight = {}
    workers = max(1, min(max_concurrent, len(waiting)))
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(recon,))
    with _ctrl_c_as_flag() as ctrl_c:
        try:
            while waiting or in_flight:
                # Keep one run queued per worker beyond those running, so workers never wait on the parent.
                while waiting and len(in_flight) < 2 * workers and not ctrl_c.pressed:
                    name = waiting.pop(0)
                    run = create_run(name)
                    in_flight[pool.submit(_execute, run.run_id)] = (name, run.run_id)
                if ctrl_c.pressed:
                    raise KeyboardInterrupt
                done, _ = wait(list(in_flight), timeout=CTRL_C_POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    name, run_id = in_flight.pop(future)
                    status, seconds, error = future.result()
                    outcome = PartitionOutcome(name, run_id, status, seconds, error)
                    outcomes.append(outcome)
                    on_outcome(outcome)
        except KeyboardInterrupt:
            _stop(instance, pool, in_flight, outcomes, on_outcome)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


class _CtrlC:
    """Whether Ctrl-C has been pressed since the backfill started."""

    pressed = False


@contextmanager
def _ctrl_c_as_flag() -> Iterator[_CtrlC]:
    """While the backfill runs, Ctrl-C only sets a flag that the loop checks between steps.

    A KeyboardInterrupt raised wherever the parent happens to be can land between creating a run
    and handing it to a worker (leaving it NOT_STARTED for good), or inside a finalizer, where
    Python prints and drops it and the backfill would go on as if nothing had been pressed.
    """
    ctrl_c = _CtrlC()
    if threading.current_thread() is not threading.main_thread():
        yield ctrl_c  # only the main thread receives signals
        return

    def press(_signal_number, _frame):
        ctrl_c.pressed = True

    previous = signal.signal(signal.SIGINT, press)
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(instance, pool, in_flight, outcomes, on_outcome) -> None:
    """After Ctrl-C: cancel runs not started, let the interrupted ones record their failure."""
    for future, (name, run_id) in list(in_flight.items()):
        if future.cancel():
            run = instance.get_run_by_id(run_id)
            if run.status == PipelineRunStatus.NOT_STARTED:
                instance.report_run_canceled(run, message="Backfill interrupted (Ctrl-C) before this run started")
            outcome = PartitionOutcome(name, run_id, "CANCELED", 0.0, "interrupted before it started")
            outcomes.append(outcome)
            on_outcome(outcome)
            in_flight.pop(future)
    for future, (name, run_id) in list(in_flight.items()):
        try:
            status, seconds, error = future.result(timeout=60)
        except Exception as exception:  # the worker died with the interrupt
            status, seconds, error = "FAILURE", 0.0, f"interrupted: {exception}"
        run = instance.get_run_by_id(run_id)
        if run.status in UNFINISHED_STATUSES:
            instance.report_run_failed(run, message="Backfill interrupted (Ctrl-C) while this run was in flight")
        outcome = PartitionOutcome(name, run_id, status, seconds, error)
        outcomes.append(outcome)
        on_outcome(outcome)


def default_concurrency() -> int:
    return os.cpu_count() or 1
