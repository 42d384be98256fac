"""Dagit and ``dagster-daemon`` together: start both, wait for Dagit, stop both with their children.

Dagit serves the UI; the daemon turns Dagit backfills into runs and ticks the schedules.
Each runs in its own process group because both spawn ``dagster api grpc`` children that
outlive a plain SIGTERM of their parent: stopping kills the whole group.
``python -m flights_etl.dagit_tools.stack`` (``make dagit``) runs both until Ctrl-C.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from typing import IO, List, Optional

from dagster import DagsterInstance

BIN = os.path.dirname(sys.executable)


@dataclass
class DagitStack:
    """Dagit (and optionally the daemon) for one workspace, instance and port."""

    workspace: str
    host: str = "127.0.0.1"
    port: int = 3000
    daemon: bool = True
    env: Optional[dict] = None  # environment of both processes; DAGSTER_HOME picks the instance
    cwd: Optional[str] = None
    log_dir: Optional[str] = None  # where dagit.log and daemon.log go; None: inherit the terminal
    processes: List[subprocess.Popen] = field(default_factory=list)
    _logs: List[IO] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, ready_timeout_s: float = 120.0) -> "DagitStack":
        env = dict(self.env if self.env is not None else os.environ)
        # Create the storage once, before two processes race to migrate it (with the processes'
        # environment: a PostgreSQL instance takes its URL from it).
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            DagsterInstance.from_config(env["DAGSTER_HOME"]).dispose()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        workspace = ["-w", self.workspace]
        self._spawn("dagit", [os.path.join(BIN, "flights-dagit"), *workspace,
                              "-h", self.host, "-p", str(self.port)], env)
        if self.daemon:
            self._spawn("daemon", [os.path.join(BIN, "dagster-daemon"), "run", *workspace], env)
        self.wait_ready(ready_timeout_s)
        return self

    def _spawn(self, name: str, command: List[str], env: dict) -> None:
        output = None
        if self.log_dir is not None:
            output = open(os.path.join(self.log_dir, f"{name}.log"), "w")
            self._logs.append(output)
        self.processes.append(subprocess.Popen(
            command, env=env, cwd=self.cwd, stdout=output, stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        ))

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[:3]} exited with {process.returncode} during startup")
            try:
                with urllib.request.urlopen(f"{self.url}/dagit_info", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"Dagit did not answer on {self.url} within {timeout_s:.0f}s")

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM each process group, SIGKILL what is left after ``grace_s``."""
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # whatever is left of the group, grpc children included
            process.wait()
        for log in self._logs:
            log.close()
        self.processes.clear()
        self._logs.clear()

    def __enter__(self) -> "DagitStack":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Dagit and dagster-daemon until Ctrl-C.")
    parser.add_argument("-w", "--workspace", default="workspace.yaml")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=3000)
    parser.add_argument("--no-daemon", action="store_true", help="Dagit only (no backfills, no schedules).")
    args = parser.parse_args(argv)
    if not os.environ.get("DAGSTER_HOME"):
        parser.error("DAGSTER_HOME is not set (make dagit sets it to .dagster_home/)")
    stack = DagitStack(args.workspace, args.host, args.port, daemon=not args.no_daemon)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop both on SIGTERM as on Ctrl-C
    try:
        stack.start()
        print(f"Dagit on {stack.url} and dagster-daemon running for DAGSTER_HOME={os.environ['DAGSTER_HOME']}. "
              "Ctrl-C stops both.", flush=True)
        while all(process.poll() is None for process in stack.processes):
            time.sleep(1)
        print("A process exited; stopping the other.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
