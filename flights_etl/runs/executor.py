"""The pipelines' executor: Dagster's in-process executor that first records which process runs the run.

Every way a run starts (``flights-etl backfill`` workers, Dagit and the daemon through the run
launcher, ``dagster pipeline backfill``, tests) ends in an executor; recording the executing
process there, as the run tag ``flights/executor``, lets ``runs.liveness`` tell a run whose
process died from one still running.
"""

from dagster import Executor, executor, in_process_executor

from flights_etl import settings
from flights_etl.runs import process
from flights_etl.runs.tags import EXECUTOR_TAG, WORKER_TAG

WORKER_NAME_ENV = settings.WORKER_NAME


class RecordingExecutor(Executor):
    def __init__(self, inner: Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    def execute(self, plan_context, execution_plan):
        me = process.current()
        tags = {EXECUTOR_TAG: me.encode(run=plan_context.run_id)}
        worker = settings.read(WORKER_NAME_ENV)
        if worker:
            tags[WORKER_TAG] = worker
        plan_context.instance.add_run_tags(plan_context.run_id, tags)  # one write: tags merge by read-modify-write
        yield from self._inner.execute(plan_context, execution_plan)


@executor(
    name="in_process",
    config_schema=in_process_executor.config_schema,
    requirements=in_process_executor.get_requirements,
)
def recording_in_process_executor(init_context) -> Executor:
    """Dagster's in_process executor, recording the executing process in the run's tags first."""
    return RecordingExecutor(in_process_executor.executor_creation_fn(init_context))
