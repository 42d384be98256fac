"""Where a backfill's runs execute: one module per kind, chosen from the instance, never from a launcher's class.

The instance's run launcher decides: one that declares ``backfills_through_launcher = True`` (the
worker fleet's ``CeleryRunLauncher``; a Kubernetes one would do the same) gets the runs
(``run_launcher``); any other leaves them to local worker processes (``local_processes``).
"""
from typing import Optional

from dagster import DagsterInstance, PipelineDefinition

from flights_etl.backfill.executors.local_processes import LocalProcesses, default_concurrency, max_workers
from flights_etl.backfill.executors.run_launcher import DEFAULT_WINDOW, RunLauncherExecutor, backfills_through


class TooManyWorkers(ValueError):
    """More local worker processes asked for than the machine can use."""


def check_concurrency(instance: DagsterInstance, max_concurrent: Optional[int]) -> None:
    """Raise ``TooManyWorkers`` when local worker processes would run and more are asked for than fit."""
    if not backfills_through(instance) and max_concurrent is not None and max_concurrent > max_workers():
        raise TooManyWorkers(
            f"--max-concurrent {max_concurrent} is more than {max_workers()} (4 per core): each worker process takes "
            "~190 MB, and more workers than that only wait on the warehouse"
        )


def executor_for(instance: DagsterInstance, pipeline: PipelineDefinition, partitions: int,
                 max_concurrent: Optional[int] = None):
    """The executor for ``partitions`` runs of ``pipeline`` on ``instance``."""
    check_concurrency(instance, max_concurrent)
    if backfills_through(instance):
        return RunLauncherExecutor(instance, max_concurrent or DEFAULT_WINDOW)
    return LocalProcesses(pipeline, instance, max_concurrent or default_concurrency(), partitions)
