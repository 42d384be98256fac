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


def record_executing_process(instance, run_id: str, tags_now) -> None:
    """Tag ``run_id`` with this process (and its worker name), unless its tags already say so.

    A backfill worker calls this before ``execute_run``: a run Dagster marks STARTED then always
    names its process, also when the instance's disk fills right after (the run's end cannot be
    recorded; ``runs.liveness`` later finds it dead by that tag).
    """
    me = process.current()
    tags = {EXECUTOR_TAG: me.encode(run=run_id)}
    worker = settings.read(WORKER_NAME_ENV)
    if worker:
        tags[WORKER_TAG] = worker
    if all(tags_now.get(key) == value for key, value in tags.items()):
        return
    instance.add_run_tags(run_id, tags)  # one write: tags merge by read-modify-write


class RecordingExecutor(Executor):
    def __init__(self, inner: Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    def execute(self, plan_context, execution_plan):
        record_executing_process(plan_context.instance, plan_context.run_id, plan_context.pipeline_run.tags)
        yield from self._inner.execute(plan_context, execution_plan)


@executor(
    name="in_process",
    config_schema=in_process_executor.config_schema,
    requirements=in_process_executor.get_requirements,
)
def recording_in_process_executor(init_context) -> Executor:
    """Dagster's in_process executor, recording the executing process in the run's tags first."""
    return RecordingExecutor(in_process_executor.executor_creation_fn(init_context))
