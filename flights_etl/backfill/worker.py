"""A backfill worker process: executes the runs its parent hands it, one at a time, and never outlives it.

The parent sends a run id over a pipe; the worker executes that run in-process with Dagster's
``execute_run`` and sends back ``(status, seconds, first error)``. It stops when the pipe closes,
and when its parent is gone (noticed by the kernel's parent-death signal and by a watchdog that
polls its parent pid): a run in progress is then interrupted the way Ctrl-C interrupts it
(Dagster marks it FAILURE, its warehouse transaction rolls back) before the worker exits.
SIGTERM does the same.
"""
import ctypes
import os
import signal
import sys
import threading
import time

from dagster import DagsterInstance, PipelineRunStatus

from flights_etl import dagster_private as private
from flights_etl.instance import worker as instance_worker
from flights_etl.runs.errors import own_message
from flights_etl.runs.executor import record_executing_process
from flights_etl.runs.liveness import fail_when_reachable
from flights_etl.runs.many_runs import prepare_process
from flights_etl.runs.process import signal_me_when_parent_dies
from flights_etl.warehouse.writer import use_writer

PARENT_POLL_S = 0.5
RECORD_END_WITHIN_S = 30.0
PR_SET_NAME = 15
PROCESS_NAME = b"flights-worker"  # what ps, top and /proc/<pid>/comm show for a worker


class _State:
    executing = False
    stopping = False


def _interrupt_run(state: _State) -> None:
    """Ask the run in progress to stop, through Dagster's own interrupt handling (its SIGINT handler)."""
    state.stopping = True
    if state.executing:
        os.kill(os.getpid(), signal.SIGINT)


def _die_with_parent(state: _State, parent_pid: int) -> None:
    def when_gone():
        _interrupt_run(state)
        if not state.executing:
            os._exit(0)  # idle: nothing to clean up; the pipe's EOF would also end the loop

    die_with_parent(parent_pid, PROCESS_NAME, when_gone)


def die_with_parent(parent_pid: int, name: bytes, when_gone) -> None:
    """Name this process (``ps``, ``/proc/<pid>/comm``), ask the kernel for SIGTERM when the parent
    exits however it exits, and call ``when_gone`` from a watchdog thread that polls the parent's pid."""
    signal_me_when_parent_dies(signal.SIGTERM)
    try:  # Linux
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, ctypes.c_char_p(name))  # a fork's command line is its parent's
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # gone before the signal was armed
        os._exit(0)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        when_gone()

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def worker_main(connection, recon_pipeline, parent_pid: int, writer=None) -> None:
    """``writer``: (DuckDB path, address, key) of the backfill's warehouse writer, or None."""
    state = _State()
    # Ctrl-C is the parent's to handle between runs; during a run Dagster installs its own
    # handler, which interrupts that run cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_sigterm(_signum, _frame):
        if state.executing:
            _interrupt_run(state)
        else:
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    _die_with_parent(state, parent_pid)
    # The parent shows progress; each run's log lines are in the event log (and Dagit), so the
    # workers' console output would only interleave with the progress bar.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if writer is not None:
        use_writer(*writer)
    prepare_process()
    instance = instance_worker.worker_instance()
    try:
        while not state.stopping:
            try:
                run_id = connection.recv()
            except (EOFError, OSError):
                break
            if run_id is None:
                break
            state.executing = True
            try:
                outcome = _execute(instance, recon_pipeline, run_id)
            finally:
                state.executing = False
            try:
                connection.send(outcome)
            except (BrokenPipeError, OSError):
                break
    finally:
        instance.dispose()
    sys.exit(0)


def _execute(instance: DagsterInstance, recon_pipeline, run_id: str):
    """Execute one created run; return (status, seconds, first error) as plain picklable values."""
    started = time.perf_counter()
    try:
        record_executing_process(instance, run_id, {})  # before Dagster marks it STARTED
        run = instance.get_run_by_id(run_id)
        result = private.execute_run(recon_pipeline, run, instance)
        status = "SUCCESS" if result.success else "FAILURE"
        error = None if result.success else first_error(result)
        if instance.get_run_by_id(run_id).status == PipelineRunStatus.CANCELED:
            status = "CANCELED"
    except KeyboardInterrupt:  # Dagster has recorded the interrupted run's failure
        status, error = "FAILURE", "interrupted while running"
        _mark_failed_if_unfinished(instance, run_id, error)
    except Exception as exception:  # a broken run must not take the worker down
        status, error = "FAILURE", f"{type(exception).__name__}: {exception}"
        _mark_failed_if_unfinished(instance, run_id, error)
    finally:
        instance_worker.release_run(instance, run_id)
    return status, time.perf_counter() - started, error


def _mark_failed_if_unfinished(instance: DagsterInstance, run_id: str, error: str) -> None:
    """Never leave a run looking STARTED when Dagster itself could not record its end: if the
    instance cannot be reached (its database restarting), try again for a while; past that the
    parent, or later ``flights-etl status``, marks it."""
    fail_when_reachable(instance, run_id, f"flights-etl backfill: {error}", within_s=RECORD_END_WITHIN_S)


def first_error(result) -> str:
    """The first failed step and its own message (a solid's Failure without the class prefix)."""
    for event in result.event_list:
        if event.event_type_value == "STEP_FAILURE":
            return f"{event.step_key}: {own_message(event.event_specific_data.error)}"
    for event in result.event_list:
        if event.event_type_value in ("RUN_FAILURE", "PIPELINE_FAILURE"):
            return event.message or "run failed"
    return "run failed"
