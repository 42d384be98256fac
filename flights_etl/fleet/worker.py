"""``flights-etl worker``: a Celery worker whose processes keep a warm instance and execute runs in-process."""
from typing import List

from celery.signals import worker_process_init

from flights_etl.fleet.broker import TASK_NAME, make_app


def worker_app(broker: str, hostname: str):
    """The Celery app of one worker: its task executes a run in the (warm) worker process."""
    from flights_etl.fleet.execution import WorkerProcess

    app = make_app(broker)
    state = {}

    def warm_up(**_kwargs):
        state["process"] = WorkerProcess(broker, hostname)

    worker_process_init.connect(warm_up, weak=False)

    @app.task(name=TASK_NAME, bind=True)
    def execute_run(_task, run_id: str, launcher_code_version: str) -> str:
        if "process" not in state:
            warm_up()
        return state["process"].execute(run_id, launcher_code_version)

    return app


def worker_name(hostname: str) -> str:
    """The name Celery gives a worker started with ``--hostname hostname``: ``%h`` (host name), ``%n``
    (its name part) and ``%d`` (its domain) expanded, so the project's messages and tags say the same."""
    from celery.utils.nodenames import host_format

    return host_format(hostname)


def run_worker(broker: str, queue: str, concurrency: int, hostname: str, loglevel: str = "INFO") -> None:
    from flights_etl.runs.many_runs import import_step_code

    import_step_code()  # before Celery forks its pool: each pool process shares them instead of importing its own
    argv: List[str] = [
        "worker", f"--concurrency={concurrency}", "--queues", queue, "--hostname", hostname, f"--loglevel={loglevel}",
        "--pool=prefork", "--optimization=fair", "--without-gossip", "--without-mingle",
    ]
    worker_app(broker, hostname).worker_main(argv)
