"""The broker (Redis) as both sides use it: its URL, the Celery app, and the runs' claim keys.

A worker claims a run before executing it with ``SET flights:run:<id> <worker> NX EX 20`` and
keeps the key alive while the run executes (its heartbeat). The claim makes a second delivery of
the same task stand down. Whether the worker lives is the run's lease in the instance
(``runs/lease.py``), never this key: a restarted Redis has lost every claim.
"""
from queue import Empty

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

from flights_etl import settings
from flights_etl.runs.lease import HEARTBEAT_S  # noqa: F401  (the claim is renewed with the lease)
from flights_etl.urls import masked  # noqa: F401  (the launcher and the CLI print the broker URL with it)

BROKER_ENV = settings.BROKER_URL
DEFAULT_QUEUE = "flights"
TASK_NAME = "flights_etl.execute_run"
CLAIM_TTL_S = 20  # de-duplicates a second delivery; ownership is the lease in the instance (runs/lease.py)
# A task that is neither acknowledged nor running after this long is delivered again (Redis
# transport); the claim then makes the second delivery stand down if the first one ran it.
VISIBILITY_TIMEOUT_S = 120


def broker_url(configured: str = None) -> str:
    url = configured or settings.read(BROKER_ENV)
    if not url:
        raise ValueError(f"no broker: set ${BROKER_ENV} (e.g. redis://:password@host:6379/0)")
    return url


class _RedisChannel(kombu_redis.Channel):
    """kombu 5.7.0's Redis channel, whose close survives a broker that is gone.

    When the broker drops, Celery's consumer ``collect()``s its connection, then ``close()``s it.
    In ``collect()`` the consuming channel's close begins by reading the reply of its pending BRPOP
    (pending whenever a worker process is free, e.g. ``--concurrency 2`` with one run in flight);
    that read raises a connection error, which kombu ignores, leaving the channel half-closed; then
    kombu drops the transport's connection info. ``close()`` closes that channel again: it restores
    the unacknowledged messages, which needs a new pool built from the connection info, now None:
    ``AttributeError: 'NoneType' object has no attribute 'hostname'``, unrecoverable for Celery,
    and the worker exits. Here a failed read of that reply does not stop the close: the broker is
    gone, and the close carries on (restoring fails as a connection error, which kombu ignores; a
    broker that kept the messages redelivers them after the visibility timeout).
    """

    def close(self):
        if self._in_poll:
            try:
                self._brpop_read()
            except (Empty, *self.connection_errors):
                pass  # the reply is lost with the broker; the close goes on (it resets _in_poll)
        super().close()


class RedisTransport(kombu_redis.Transport):
    Channel = _RedisChannel


def make_app(url: str) -> Celery:
    # redis:// URLs get the channel above. Through kombu's alias rather than Celery's
    # broker_transport, so that logs still name the broker redis://:**@host (a class given as the
    # transport would be printed in the URL's place); rediss:// and sentinel:// are kombu's own.
    TRANSPORT_ALIASES["redis"] = f"{__name__}:RedisTransport"
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
        # A run in flight keeps going when the broker drops (its state is in the Dagster instance,
        # not the broker); Celery 6 would cancel it by default.
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)


def queued_task_ids(redis, queue: str) -> set:
    """Ids of the runs whose tasks the broker still holds for ``queue``: waiting in its lists (one per
    priority step) or delivered and not yet acknowledged (the transport's ``unacked`` hash), by the
    key names of the installed kombu's Redis transport. Raises if the broker cannot be reached."""
    import json

    from kombu.transport.redis import PRIORITY_STEPS, Channel

    keys = [queue] + [f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step]
    messages = [item for key in keys for item in redis.lrange(key, 0, -1)]
    messages += [json.loads(item)[0] for item in redis.hvals(Channel.unacked_key)]  # [message, exchange, routing key]
    ids = set()
    for message in messages:
        try:
            data = json.loads(message) if isinstance(message, (bytes, str)) else message
            ids.add(data["headers"]["id"].split(RESEND_SEPARATOR, 1)[0])  # the run's id, however often sent
        except (ValueError, KeyError, TypeError):
            continue  # not a Celery task message: not ours
    return ids


RESEND_SEPARATOR = ":resend-"


def resend_task_id(run_id: str, attempt: int) -> str:
    """The task id of a run's ``attempt``-th sending again (the first sending's id is the run's)."""
    return f"{run_id}{RESEND_SEPARATOR}{attempt}"


def claim_key(run_id: str) -> str:
    return f"flights:run:{run_id}"
