"""The broker (Redis) as both sides use it: its URL, the Celery app, and the runs' claim keys.

A worker claims a run before executing it with ``SET flights:run:<id> <worker> NX EX 20`` and
keeps the key alive while the run executes (its heartbeat). The claim makes a second delivery of
the same task stand down; its expiry tells the launcher's health check that the worker is gone.
"""
import os

from celery import Celery

from flights_etl.urls import masked  # noqa: F401  (the launcher and the CLI print the broker URL with it)

BROKER_ENV = "FLIGHTS_BROKER_URL"
DEFAULT_QUEUE = "flights"
TASK_NAME = "flights_etl.execute_run"
CLAIM_TTL_S = 20  # a worker that stops heartbeating for this long is gone
HEARTBEAT_S = 5
# A task that is neither acknowledged nor running after this long is delivered again (Redis
# transport); the claim then makes the second delivery stand down if the first one ran it.
VISIBILITY_TIMEOUT_S = 120


def broker_url(configured: str = None) -> str:
    url = configured or os.environ.get(BROKER_ENV)
    if not url:
        raise ValueError(f"no broker: set ${BROKER_ENV} (e.g. redis://:password@host:6379/0)")
    return url


def make_app(url: str) -> Celery:
    app = Celery("flights_etl", broker=url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # run state lives in the Dagster instance only
        task_acks_late=True,  # a task is acknowledged once its run has ended
        task_reject_on_worker_lost=False,  # a run whose worker died is failed by the health check, not redelivered
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        broker_connection_timeout=5,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S, "socket_connect_timeout": 5},
        worker_hijack_root_logger=False,
    )
    return app


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)


def claim_key(run_id: str) -> str:
    return f"flights:run:{run_id}"
