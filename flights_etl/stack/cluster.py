"""``make stack``: a production-shaped deployment on one machine, for trying it. One Ctrl-C stops it all.

A throwaway PostgreSQL (the instance and the warehouse), a throwaway Redis (the broker), N
``flights-etl worker`` processes, ``dagster-daemon`` and Dagit, all on loopback, with
``deploy/fleet/dagster.yaml`` as the instance's configuration. Every process runs in its own
process group; stopping kills each group, then stops the servers and removes their files.
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
from typing import Dict, List

from flights_etl.dagit_tools.stack import DagitStack, StackStartError, check_port_free
from flights_etl.stack.postgres import PostgresServer
from flights_etl.stack.redis import RedisServer

BIN = os.path.dirname(sys.executable)
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Cluster:
    def __init__(self, workers: int, concurrency: int, dagit_port: int, landing_dir: str, workspace: str):
        self.workers, self.concurrency, self.dagit_port = workers, concurrency, dagit_port
        self.landing_dir, self.workspace = os.path.abspath(landing_dir), workspace
        self.directory = tempfile.mkdtemp(prefix="flights-stack-")
        self.postgres = PostgresServer()
        self.redis = RedisServer()
        self.dagit = None
        self.processes: List[subprocess.Popen] = []
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
        for index in range(1, self.workers + 1):
            log = open(os.path.join(self.directory, f"worker{index}.log"), "w")
            self.processes.append(subprocess.Popen(
                [os.path.join(BIN, "flights-etl"), "worker", "--concurrency", str(self.concurrency),
                 "--hostname", f"worker{index}@%h"],
                cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ))
        return self

    def stop(self) -> None:
        for process in self.processes:
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process.pid, signal.SIGKILL)
        if self.dagit is not None:
            self.dagit.stop()
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="flights-etl worker processes (Celery workers)")
    parser.add_argument("--concurrency", type=int, default=1, help="run-executing processes per worker")
    parser.add_argument("--port", type=int, default=3000, help="Dagit's port")
    parser.add_argument("--landing-dir", default=os.environ.get("FLIGHTS_LANDING_DIR", "data/landing"))
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
        while all(process.poll() is None for process in cluster.processes + cluster.dagit.processes):
            time.sleep(1)
        print("A process of the stack exited; stopping the rest.", file=sys.stderr)
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
