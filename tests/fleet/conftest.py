"""The worker fleet under test: the session's PostgreSQL, a Redis started for the session, real
`flights-etl worker` processes (each in its own process group, killed at teardown)."""
import os
import shutil
import signal
import subprocess
import time

import pytest
from dagster import DagsterInstance

from tests.backfill.cli_helpers import BIN, PROJECT_ROOT
from tests.conftest import new_postgres_database
from tests.servers import RedisServer

FLEET_YAML = os.path.join(PROJECT_ROOT, "deploy", "fleet", "dagster.yaml")


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


def make_home(directory, env) -> str:
    """A DAGSTER_HOME with the fleet's dagster.yaml (one per "host")."""
    os.makedirs(directory, exist_ok=True)
    shutil.copy(FLEET_YAML, os.path.join(directory, "dagster.yaml"))
    return str(directory)


@pytest.fixture
def fleet_env(tmp_path, landing_dir, postgres_server, redis_server):
    """Instance and warehouse on PostgreSQL, broker on Redis (emptied first), step outputs shared."""
    import redis

    redis.Redis.from_url(redis_server.url()).flushdb()
    env = {
        **os.environ,
        "DAGSTER_PG_URL": new_postgres_database(postgres_server),
        "FLIGHTS_WAREHOUSE": new_postgres_database(postgres_server),
        "FLIGHTS_BROKER_URL": redis_server.url(),
        "FLIGHTS_LANDING_DIR": landing_dir,
        "FLIGHTS_STEP_STORAGE": str(tmp_path / "shared_step_outputs"),
    }
    env["DAGSTER_HOME"] = make_home(tmp_path / "dagster_home", env)
    with _environment(env):
        DagsterInstance.from_config(env["DAGSTER_HOME"]).dispose()  # tables created once, up front
    return env


class _environment:
    def __init__(self, env):
        self.env, self.saved = env, None

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.update(self.env)

    def __exit__(self, *_exc):
        os.environ.clear()
        os.environ.update(self.saved)


def instance_of(env) -> DagsterInstance:
    with _environment(env):
        return DagsterInstance.from_config(env["DAGSTER_HOME"])


@pytest.fixture
def start_worker(tmp_path):
    """start_worker(env, name, concurrency=1, prefix=()) -> the worker's Popen (its own process group)."""
    workers = []

    def start(env, name, concurrency=1, prefix=(), extra_env=None):
        log = open(tmp_path / f"{name}.log", "w")
        worker = subprocess.Popen(
            [*prefix, os.path.join(BIN, "flights-etl"), "worker", "--concurrency", str(concurrency), "--hostname", name],
            cwd=PROJECT_ROOT, env={**env, **(extra_env or {})}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        worker.log_path = tmp_path / f"{name}.log"
        workers.append((worker, log))
        wait_until_ready(worker)
        return worker

    yield start
    for worker, log in workers:
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait(timeout=30)
        log.close()


def wait_until_ready(worker, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode}: {worker.log_path.read_text()[-2000:]}")
        if " ready." in worker.log_path.read_text():
            return
        time.sleep(0.2)
    raise TimeoutError(f"worker not ready within {timeout_s} s: {worker.log_path.read_text()[-2000:]}")
