"""Fencing: whether a run may still commit its partition, judged from the instance at the commit.

The warehouse asks just before it commits a partition (``warehouse.base.PartitionOwner``), inside
the write's transaction. A run may commit only while the instance has it STARTED: a run that run
monitoring or the watchdog declared dead (FAILURE), that was terminated (CANCELING, CANCELED), or
that already ended, may still be executing somewhere (a frozen process, a network cut) but no
longer owns anything. And never after a newer run of the same partition committed it: the token is
the run's storage id, the order in which the instance created its runs, so a retry or any later run
outranks the run it follows (unless both read the very same files: then the older one's write is a
no-op, see warehouse/base.py). Tokens of runs the instance does not know (a warehouse loaded by
another, or a wiped, instance: another run storage id) are not compared; a newer run deleted from
the instance still outranks.
"""
from typing import Optional

from dagster import DagsterInstance, PipelineRun, PipelineRunStatus

from flights_etl.backfill.dagster_internals import RunsFilter
from flights_etl.warehouse.base import PartitionOwner


class RunOwner(PartitionOwner):
    def __init__(self, instance: DagsterInstance, run: PipelineRun):
        self.instance = instance
        self.run_id = run.run_id
        records = instance.get_run_records(RunsFilter(run_ids=[run.run_id]))
        if not records:
            raise ValueError(f"run {run.run_id} is not in the instance: it cannot own a partition")
        self.token = records[0].storage_id
        # The instance's own id (SQL run storages keep one): a deleted newer run still outranks, a
        # wiped or another instance's runs are not compared.
        storage_id = getattr(instance.run_storage, "get_run_storage_id", None)
        self.scope = storage_id() if storage_id else None

    def why_not_owner(self) -> Optional[str]:
        run = self.instance.get_run_by_id(self.run_id)
        if run is None:
            return "the run is no longer in the instance"
        if run.status != PipelineRunStatus.STARTED:
            return (f"the instance has the run {run.status.value} (declared dead, terminated or ended), "
                    "so it no longer owns the partition")
        return None

    def outranked_by(self, run_id: Optional[str], token: Optional[int], scope: Optional[str]) -> bool:
        if run_id in (None, self.run_id) or token is None or token <= self.token:
            return False
        if scope is not None and self.scope is not None:
            return scope == self.scope
        return self.instance.has_run(run_id)  # no instance id to compare: the run must be one of ours
