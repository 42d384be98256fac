"""The one backfill driver: create each partition's run, hand it to an executor, report how it ended.

The driver creates the runs as ``dagster pipeline backfill`` does (tags ``dagster/partition``,
``dagster/partition_set``, one ``dagster/backfill`` id, ``flights/creator``, the workspace's code
origin, a backfill record Dagit lists) and turns Ctrl-C and SIGTERM into a clean stop. An
executor (``backfill/executors/``, one module per kind) runs what it is handed and reports each
partition's final outcome:
- ``local_processes``: warm worker processes on this machine (the embedded default, fastest);
- ``run_launcher``: the instance's run launcher (``instance.launch_run``), for a launcher that
  declares ``backfills_through_launcher = True`` (the Celery fleet's does).

An executor has ``start(report)``, ``room()`` (how many more created runs it takes now),
``submit(partition, run_id)`` (may raise ``TryLater``: the partition gets a new run later),
``busy()``, ``collect()`` (waits a moment, reports what ended),
``stop(reason, interrupt_in_flight)`` and ``close()``; ``concurrency`` and ``where`` describe it.
"""
import signal
import threading
import uuid
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence

from dagster import DagsterInstance, PartitionSetDefinition, PipelineDefinition, reconstructable

from flights_etl import dagster_private as private
from flights_etl import workspace
from flights_etl.runs import creation, process
from flights_etl.runs.liveness import CREATOR_TAG


@dataclass(frozen=True)
class PartitionOutcome:
    """How one partition's run ended."""

    partition: str
    run_id: str
    status: str  # SUCCESS, FAILURE or CANCELED (or, after a stop, the status a run was last seen in)
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


class TryLater(Exception):
    """An executor cannot take a run now (the broker is unreachable, say): the driver gives the
    partition a new run once the executor has room again."""


class BackfillStopped(Exception):
    """The backfill stopped before its end; ``reason`` says why (Ctrl-C, SIGTERM, an error)."""

    def __init__(self, reason: str, exit_code: int):
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


def run_backfill(
    backfill: Backfill, executor, on_outcome: Callable[[PartitionOutcome], None], instance: DagsterInstance
) -> List[PartitionOutcome]:
    """Run every partition of ``backfill`` on ``executor``; call ``on_outcome`` as each ends; return all.

    Raises ``BackfillStopped`` after cleaning up when interrupted or when it cannot go on; the
    outcomes reported so far stand.
    """
    return _Driver(backfill, executor, on_outcome, instance).run()


class _Driver:
    def __init__(self, backfill: Backfill, executor, on_outcome, instance: DagsterInstance):
        self.backfill, self.executor, self.on_outcome, self.instance = backfill, executor, on_outcome, instance
        self.outcomes: List[PartitionOutcome] = []
        self.waiting = deque(backfill.partitions)
        self.repo_origin = workspace.repository_origin(backfill.workspace_yaml, backfill.repository_name)
        self.pipeline_origin = workspace.pipeline_origin(self.repo_origin, backfill.pipeline.name)
        self.code_origin = reconstructable(backfill.pipeline).get_python_origin()
        self.partitions = {partition.name: partition for partition in backfill.partition_set.get_partitions()}
        self.base_tags = {**backfill.pipeline.tags, private.BACKFILL_ID_TAG: backfill.backfill_id}
        self.me = process.current()
        self.runs = creation.RunMaker(instance, backfill.pipeline, backfill.partition_set.mode)

    def run(self) -> List[PartitionOutcome]:
        try:
            creation.record_backfill(
                self.instance, self.backfill.backfill_id, self.repo_origin, self.backfill.partition_set.name,
                list(self.backfill.partitions), self.base_tags,
            )
        except Exception as error:
            raise BackfillStopped(f"stopped before any run: {first_line(error)}", 1) from error
        self._share_the_plan()
        executor = self.executor
        with signals_as_flags() as stop:
            try:
                executor.start(self._report)
                while self.waiting or executor.busy():
                    if stop.reason:
                        raise BackfillStopped(stop.reason, stop.exit_code)
                    while self.waiting and executor.room() > 0 and not stop.reason:
                        name = self.waiting.popleft()
                        try:
                            executor.submit(name, self._create_run(name))
                        except TryLater:
                            self.waiting.appendleft(name)
                            break
                    executor.collect()
            except BackfillStopped as stopped:
                executor.stop(stopped.reason, interrupt_in_flight=stop.forward_to_workers or stopped.exit_code == 1)
                raise
            except Exception as error:  # the instance became unwritable, ...
                reason = f"stopped: {first_line(error)}"
                executor.stop(reason, interrupt_in_flight=True)
                raise BackfillStopped(reason, 1) from error
            finally:
                executor.close()
        return self.outcomes

    def _share_the_plan(self) -> None:
        """Build the plan and snapshots once if the first and last partitions' configs give the same plan."""
        names = self.backfill.partitions
        if not names:
            return
        try:
            configs = [self.backfill.partition_set.run_config_for_partition(self.partitions[name])
                       for name in (names[0], names[-1])]
            self.runs.plans_agree(*configs)
        except Exception:  # a config Dagster refuses: every run the stock way, which raises as it always did
            self.runs.shared = False

    def _create_run(self, name: str) -> str:
        partition = self.partitions[name]
        run_id = str(uuid.uuid4())
        tags = {
            **self.base_tags,
            **self.backfill.partition_set.tags_for_partition(partition),
            CREATOR_TAG: self.me.encode(run=run_id),
        }
        run = self.runs.create(
            run_id,
            self.backfill.partition_set.run_config_for_partition(partition),
            tags,
            pipeline_code_origin=self.code_origin,
            external_pipeline_origin=self.pipeline_origin,
        )
        return run.run_id

    def _report(self, outcome: PartitionOutcome) -> None:
        self.outcomes.append(outcome)
        self.on_outcome(outcome)


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


class _Stop:
    """Why the backfill should stop (None while it should go on)."""

    reason: Optional[str] = None
    exit_code = 0
    forward_to_workers = False  # SIGTERM reached the parent only: its workers must be told


@contextmanager
def signals_as_flags() -> Iterator[_Stop]:
    """While the backfill runs, Ctrl-C and SIGTERM only set a flag that the loop checks between steps.

    An exception raised wherever the parent happens to be can land between creating a run and
    handing it to an executor, or inside a finalizer, where Python prints and drops it.
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
