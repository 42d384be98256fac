"""``make stack``: a production-shaped deployment on one machine, for trying it. One Ctrl-C stops it all.

A throwaway PostgreSQL (the instance and the warehouse), a throwaway Redis (the broker), N
``flights-etl worker`` processes, ``dagster-daemon`` and Dagit, all on loopback, with
``deploy/fleet/dagster.yaml`` as the instance's configuration. Every process runs in its own
process group; stopping kills each group, then stops the servers and removes their files.
A worker that exits is restarted (one line says so), after a backoff that doubles from 1 s to
60 s while it keeps exiting within a minute of its start; Dagit or the daemon exiting stops it all.
The environment to point ``flights-etl`` at the stack is written to ``.stack.env`` (mode 600).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

from devtools.postgres import PostgresServer
from devtools.redis import RedisServer
from flights_etl.contract.paths import default_landing_dir
from flights_etl.dagit_tools.stack import DagitStack, StackStartError, check_port_free, signal_group

BIN = os.path.dirname(sys.executable)
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 60.0
STEADY_S = 60.0  # a worker that ran this long before exiting starts its backoff over


def restart_delay(previous_delay_s: Optional[float], ran_for_s: float) -> float:
    """Seconds to wait before restarting a worker that exited after running ``ran_for_s``: a worker
    that keeps exiting soon after its start (bad broker URL, broken deploy) is restarted at most once
    a minute, not in a tight loop; one that had been running a while is restarted after 1 s."""
    if previous_delay_s is None or ran_for_s >= STEADY_S:
        return RESTART_FIRST_DELAY_S
    return min(RESTART_MAX_DELAY_S, previous_delay_s * 2)


class _Worker:
    def __init__(self, name: str):
        self.name = name
        self.process: Optional[subprocess.Popen] = None
        self.log = None
        self.started_at = 0.0
        self.delay_s: Optional[float] = None  # the last restart's backoff
        self.exit_code: Optional[int] = None
        self.restart_at: Optional[float] = None  # set while it waits to be restarted


class Workers:
    """The stack's ``flights-etl worker`` processes, each in its own process group (its pool
    processes with it); ``supervise()`` restarts the ones that exited."""

    def __init__(self, count: int, concurrency: int, env: Dict[str, str], log_dir: str):
        self.concurrency, self.env, self.log_dir = concurrency, env, log_dir
        self.workers = [_Worker(f"worker{index}") for index in range(1, count + 1)]

    def start(self) -> "Workers":
        for worker in self.workers:
            self._spawn(worker)
        return self

    def _spawn(self, worker: _Worker) -> None:
        if worker.log is None:
            worker.log = open(os.path.join(self.log_dir, f"{worker.name}.log"), "a")
        worker.process = subprocess.Popen(
            [os.path.join(BIN, "flights-etl"), "worker", "--concurrency", str(self.concurrency),
             "--hostname", f"{worker.name}@%h"],
            cwd=PROJECT_ROOT, env=self.env, stdout=worker.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        worker.started_at, worker.restart_at = time.monotonic(), None

    def supervise(self) -> List[str]:
        """Restart the workers that exited and whose backoff has passed; one line for each."""
        lines, now = [], time.monotonic()
        for worker in self.workers:
            if worker.restart_at is None:
                code = worker.process.poll()
                if code is None:
                    continue
                signal_group(worker.process.pid, signal.SIGKILL)  # pool processes it may have left behind
                worker.exit_code = code
                worker.delay_s = restart_delay(worker.delay_s, now - worker.started_at)
                worker.restart_at = now + worker.delay_s
            if now >= worker.restart_at:
                self._spawn(worker)
                backoff = f" after {worker.delay_s:.0f} s" if worker.delay_s > RESTART_FIRST_DELAY_S else ""
                lines.append(f"{worker.name} exited with code {worker.exit_code}; restarted{backoff}")
        return lines

    def stop(self, timeout_s: float = 20.0) -> None:
        started = [worker.process for worker in self.workers if worker.process is not None]
        for process in started:
            signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in started:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            signal_group(process.pid, signal.SIGKILL)
            process.wait()
        for worker in self.workers:
            if worker.log is not None:
                worker.log.close()


class Cluster:
    def __init__(self, workers: int, concurrency: int, dagit_port: int, landing_dir: str, workspace: str):
        self.worker_count, self.concurrency, self.dagit_port = workers, concurrency, dagit_port
        self.landing_dir, self.workspace = os.path.abspath(landing_dir), workspace
        self.directory = tempfile.mkdtemp(prefix="flights-stack-")
        self.postgres = PostgresServer()
        self.redis = RedisServer()
        self.dagit = None
        self.workers: Optional[Workers] = None
        self.env: Dict[str, str] = {}

    def start(self) -> "Cluster":
        check_port_free("127.0.0.1", self.dagit_port)  # before any server starts
        self.postgres.start()
        self.redis.start()
        home = os.path.join(self.directory, "dagster_home")
        os.makedirs(home)
        shutil.copy(os.path.join(PROJECT_ROOT, "deploy", "fleet", "dagster.yaml"), os.path.join(home, "dagster.yaml"))
        self.env = {
            **os.environ,
            "DAGSTER_HOME": home,
            "DAGSTER_PG_URL": self.postgres.create_database("dagster"),
            "FLIGHTS_WAREHOUSE": self.postgres.create_database("warehouse"),
            "FLIGHTS_BROKER_URL": self.redis.url(),
            "FLIGHTS_LANDING_DIR": self.landing_dir,
            "FLIGHTS_STEP_STORAGE": os.path.join(self.directory, "step_outputs"),  # every worker reaches it
        }
        self.dagit = DagitStack(self.workspace, port=self.dagit_port, daemon=True, env=self.env, cwd=PROJECT_ROOT,
                                log_dir=self.directory)
        self.dagit.start()  # creates the instance's tables first, then Dagit and the daemon
        self.workers = Workers(self.worker_count, self.concurrency, self.env, self.directory).start()
        return self

    def stop(self) -> None:
        if self.workers is not None:
            self.workers.stop()
        if self.dagit is not None:
            self.dagit.stop()
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="flights-etl worker processes (Celery workers)")
    parser.add_argument("--concurrency", type=int, default=1, help="run-executing processes per worker")
    parser.add_argument("--port", type=int, default=3000, help="Dagit's port")
    parser.add_argument("--landing-dir", default=default_landing_dir())
    parser.add_argument("--workspace", default="workspace.yaml")
    parser.add_argument("--env-file", default=".stack.env")
    args = parser.parse_args(argv)
    cluster = Cluster(args.workers, args.concurrency, args.port, args.landing_dir, args.workspace)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        cluster.start()
        exports = "".join(f"export {name}={cluster.env[name]}\n" for name in (
            "DAGSTER_HOME", "DAGSTER_PG_URL", "FLIGHTS_WAREHOUSE", "FLIGHTS_BROKER_URL", "FLIGHTS_LANDING_DIR",
            "FLIGHTS_STEP_STORAGE"))
        descriptor = os.open(args.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(exports)
        print(
            f"Stack up: Dagit on {cluster.dagit.url}, dagster-daemon, {args.workers} workers x {args.concurrency} "
            f"processes, PostgreSQL 127.0.0.1:{cluster.postgres.port}, Redis 127.0.0.1:{cluster.redis.port}; logs in "
            f"{cluster.directory}.\nIn another shell: `source {args.env_file}`, then e.g. `.venv/bin/flights-etl "
            "backfill --partition-set flights_daily_partition_set --from 2013-01-01 --to 2013-01-31`. Ctrl-C stops everything.",
            flush=True,
        )
        while all(process.poll() is None for process in cluster.dagit.processes):
            for line in cluster.workers.supervise():
                print(line, flush=True)
            time.sleep(1)
        print("Dagit or dagster-daemon exited; stopping the rest.", file=sys.stderr)
    except StackStartError as error:
        print(f"make stack: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        if os.path.exists(args.env_file):
            os.remove(args.env_file)


if __name__ == "__main__":
    main()
