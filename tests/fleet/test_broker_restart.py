"""The broker (Redis) drops and comes back on the same port while a worker executes a run: the
worker stays up, reconnects, and executes the next run sent after the restart."""
import os
import signal

import pytest
from dagster import PipelineRunStatus, reconstructable

from flights_etl.fleet.broker import TASK_NAME, make_app
from flights_etl.fleet.version import code_version
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from tests.backfill.test_concurrency import _assert_warehouse_exact, _days
from tests.fleet.conftest import instance_of
from tests.fleet.test_terminate_and_faults import _PartitionLock, _run, _waiting_in_load_partition
from tests.helpers import daily_run_args, wait_until
from tests.servers import RedisServer

pytestmark = pytest.mark.slow

IN_FLIGHT, NEXT = "2013-01-12", "2013-01-13"


@pytest.fixture
def own_redis():
    """A Redis of this test's own (the session's is shared): killed and restarted by the test."""
    server = RedisServer().start()
    yield server
    server.stop()


def _restart(server: RedisServer) -> None:
    """kill -9 and start again on the same port with the same password; Redis keeps nothing on disk,
    so every key (queue, unacked messages, bindings, run claims) is gone, as after a broker crash."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    server.start()


def _send(env, day) -> str:
    """Create ``day``'s run in the instance (with its code origin, as every launch path records it: the
    worker loads the run's pipeline from it) and send its task to the queue, as the launcher does."""
    with instance_of(env) as instance:
        run = instance.create_run_for_pipeline(
            **daily_run_args(day), pipeline_code_origin=reconstructable(flights_daily_pipeline).get_python_origin())
    app = make_app(env["FLIGHTS_BROKER_URL"])
    try:
        app.send_task(TASK_NAME, args=[run.run_id, code_version()], task_id=run.run_id, queue="flights")
    finally:
        app.close()
    return run.run_id


def test_worker_survives_a_broker_restart_mid_run(fleet_env, own_redis, start_worker):
    env = {**fleet_env, "FLIGHTS_BROKER_URL": own_redis.url()}
    worker = start_worker(env, "worker1@host1", concurrency=2)
    with _PartitionLock(env["FLIGHTS_WAREHOUSE"], IN_FLIGHT):
        in_flight = _send(env, IN_FLIGHT)
        wait_until("the run waiting on the lock", lambda: _waiting_in_load_partition(env, in_flight), 90, poll_s=0.2)
        _restart(own_redis)
        # The worker notices the lost connection and reconnects while the run still waits.
        wait_until("the worker reconnecting", lambda: worker.log_path.read_text().count("Connected to redis://") >= 2,
                   60, poll_s=0.2)
        assert worker.poll() is None, worker.log_path.read_text()[-3000:]
    ended = wait_until("the in-flight run's end", lambda: _run(env, in_flight).is_finished and _run(env, in_flight),
                       90, poll_s=0.2)
    assert ended.status == PipelineRunStatus.SUCCESS, ended.status
    following = _send(env, NEXT)
    done = wait_until("the run sent after the restart", lambda: _run(env, following).is_finished and _run(env, following),
                      90, poll_s=0.2)
    log = worker.log_path.read_text()
    assert worker.poll() is None, log[-3000:]
    assert "Unrecoverable error" not in log, log[-3000:]
    assert done.status == PipelineRunStatus.SUCCESS
    assert own_redis.password not in log
    _assert_warehouse_exact(env["FLIGHTS_WAREHOUSE"], _days(IN_FLIGHT, NEXT))


def test_a_channel_waiting_on_a_broker_that_is_gone_closes_cleanly(own_redis):
    """What Celery's consumer does when the broker drops, without the worker around it: a channel
    with a message unacknowledged and a BRPOP pending (a free worker process waiting for more),
    a second channel consuming a fanout queue (the worker's remote control), the broker killed,
    then ``collect()`` and ``close()``. kombu 5.7.0's own channel raised AttributeError on the
    close, which Celery treats as unrecoverable."""
    from kombu import Exchange, Queue
    from kombu.utils.eventio import poll

    app = make_app(own_redis.url())
    app.send_task(TASK_NAME, args=["a-run", "v"], queue="flights")
    connection = app.connection_for_read()
    channel = connection.default_channel
    queue = Queue("flights")(channel)
    queue.declare()
    assert queue.get(no_ack=False) is not None  # delivered, not acknowledged
    channel.basic_consume("flights", False, lambda *_: None, "test-consumer")
    control = connection.channel()
    Queue("control", Exchange("control", type="fanout"), auto_delete=True)(control).declare()
    control.basic_consume("control", True, lambda *_: None, "control-consumer")
    cycle = connection.transport.cycle  # as the worker's event loop drives it while it waits for a task:
    cycle.on_poll_init(poll())
    cycle.on_poll_start()
    assert channel._in_poll  # a BRPOP sent, its reply pending
    os.killpg(own_redis.process.pid, signal.SIGKILL)
    own_redis.process.wait(timeout=10)
    connection.collect(socket_timeout=1)
    connection.close()
    app.close()
