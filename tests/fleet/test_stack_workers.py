"""`make stack` keeps its workers up: one that exits is restarted, with a backoff, and said so."""
import os
import signal
import time

import pytest

from devtools.cluster import RESTART_MAX_DELAY_S, STEADY_S, Workers, restart_delay
from flights_etl.fleet.broker import make_app
from tests.backfill.test_process_death import _group_members  # the live processes of a process group
from tests.helpers import wait_until


def test_restart_delay_doubles_while_a_worker_keeps_exiting_and_starts_over_once_it_ran_a_while():
    assert restart_delay(None, ran_for_s=0.5) == 1
    delays, delay = [], None
    for _ in range(8):
        delay = restart_delay(delay, ran_for_s=3)
        delays.append(delay)
    assert delays == [1, 2, 4, 8, 16, 32, RESTART_MAX_DELAY_S, RESTART_MAX_DELAY_S]
    assert restart_delay(RESTART_MAX_DELAY_S, ran_for_s=STEADY_S) == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] != "Z"


def _ready_count(path) -> int:
    return path.read_text().count(" ready.") if path.exists() else 0


def _answering(env):
    app = make_app(env["FLIGHTS_BROKER_URL"])
    try:
        return sorted(name.split("@")[0] for reply in app.control.ping(timeout=2) for name in reply)
    finally:
        app.close()


@pytest.mark.slow
def test_a_killed_worker_is_restarted_with_backoff_and_the_rest_keep_running(fleet_env, tmp_path):
    env = fleet_env
    workers = Workers(2, 1, env, str(tmp_path)).start()
    everything = set()
    try:
        first, second = workers.workers
        logs = {worker.name: tmp_path / f"{worker.name}.log" for worker in workers.workers}
        wait_until("both workers ready", lambda: all(_ready_count(log) == 1 for log in logs.values()), 90)
        survivor = first.process.pid
        victim = second.process.pid
        everything.update(_group_members(survivor) + _group_members(victim))
        os.killpg(victim, signal.SIGKILL)
        [line] = wait_until("the restart", workers.supervise, 30, poll_s=0.2)
        assert line == "worker2 exited with code -9; restarted"
        assert second.process.pid != victim and second.process.poll() is None
        wait_until("worker2 ready again", lambda: _ready_count(logs["worker2"]) == 2, 90)
        assert not any(_alive(pid) for pid in _group_members(victim))
        assert first.process.pid == survivor and first.process.poll() is None  # the stack stayed up
        assert wait_until("both workers answering the broker", lambda: _answering(env) == ["worker1", "worker2"], 60)

        # Killed again within a minute of its start: restarted after a longer backoff.
        everything.update(_group_members(second.process.pid))
        killed_at = time.monotonic()
        os.killpg(second.process.pid, signal.SIGKILL)
        [line] = wait_until("the second restart", workers.supervise, 30, poll_s=0.2)
        assert line == "worker2 exited with code -9; restarted after 2 s"
        assert time.monotonic() - killed_at >= 2
        wait_until("worker2 ready once more", lambda: _ready_count(logs["worker2"]) == 3, 90)
        everything.update(_group_members(second.process.pid))
    finally:
        workers.stop()
    assert everything and not [pid for pid in everything if _alive(pid)]
