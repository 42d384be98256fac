"""Dagit and ``dagster-daemon`` together: start both, wait for Dagit, stop both with their children.

Dagit serves the UI; the daemon turns Dagit backfills into runs and ticks the schedules.
Each runs in its own process group because both spawn ``dagster api grpc`` children that
outlive a plain SIGTERM of their parent: stopping kills the whole group.
``python -m flights_etl.dagit_tools.stack`` (``make dagit``) runs both until Ctrl-C.

Start-up refuses a port already taken, and announces Dagit only once the Dagit answering is the one
it started (its pid and workspace, from ``flights-dagit``'s identity answer); the daemon starts only
then. Both get a TMPDIR of their own, removed on stop: their ``dagster api grpc`` servers put their
socket files there and leave them behind when killed.

Nothing outlives the stack however it ends: Ctrl-C, SIGTERM and SIGHUP (the terminal closed) stop
both; killed (SIGKILL, the OOM killer), the kernel sends each SIGTERM (a parent-death signal), and
their TMPDIR, claimed by them until they exit (``files.SocketFolder``), is removed by the next
stack that starts.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import IO, List, Optional

from dagster import DagsterInstance

from flights_etl import settings
from flights_etl.dagit_tools.server import IDENTITY_PATH
from flights_etl.files import SocketFolder, remove_stale_socket_dirs
from flights_etl.runs.process import signal_me_when_parent_dies

BIN = os.path.dirname(sys.executable)
TMPDIR_PREFIX = "flights-dagit-"


class StackStartError(RuntimeError):
    """Dagit or the daemon could not be started; the message is one line naming the port."""


def check_port_free(host: str, port: int) -> None:
    """Raise StackStartError if something listens on host:port (bound as uvicorn binds it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise StackStartError(
                f"port {port} on {host} is already in use ({error.strerror}): stop what listens there, or choose "
                "another port (make dagit DAGIT_PORT=...)") from None


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
    tmpdir: Optional[str] = None  # TMPDIR of both processes (their grpc sockets), removed by stop()
    _folder: Optional[SocketFolder] = None  # claims tmpdir while this stack or its processes live
    _logs: List[IO] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, ready_timeout_s: float = 120.0) -> "DagitStack":
        """Start Dagit, wait until it is confirmed ours, then the daemon. On any failure, stop what was
        started and raise StackStartError."""
        try:
            self._start(ready_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, ready_timeout_s: float) -> None:
        check_port_free(self.host, self.port)
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
        # The code servers' Unix sockets live below it.
        remove_stale_socket_dirs(TMPDIR_PREFIX, env.get("TMPDIR"))  # of stacks killed before they could stop
        self._folder = SocketFolder(TMPDIR_PREFIX, env.get("TMPDIR"))
        self.tmpdir = self._folder.path
        env["TMPDIR"] = self.tmpdir
        workspace = ["-w", self.workspace]
        self._spawn("dagit", [os.path.join(BIN, "flights-dagit"), *workspace,
                              "-h", self.host, "-p", str(self.port)], env)
        self.wait_ready(ready_timeout_s)
        if self.daemon:  # only now: a daemon beside a Dagit that never came up would launch runs unseen
            self._spawn("daemon", [os.path.join(BIN, "dagster-daemon"), "run", *workspace], env)

    def _spawn(self, name: str, command: List[str], env: dict) -> None:
        output = None
        if self.log_dir is not None:
            output = open(os.path.join(self.log_dir, f"{name}.log"), "w")
            self._logs.append(output)
        self.processes.append(subprocess.Popen(
            command, env=env, cwd=self.cwd, stdout=output, stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
            pass_fds=(self._folder.fd,),  # the TMPDIR's claim, held for as long as the process lives
            preexec_fn=_stop_when_the_stack_dies,
        ))

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until the Dagit answering on the port is the one this stack started."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise StackStartError(
                        f"port {self.port}: {os.path.basename(process.args[0])} exited with {process.returncode} "
                        "during startup" + (f" (see {self.log_dir})" if self.log_dir else ""))
            try:
                with urllib.request.urlopen(f"{self.url}{IDENTITY_PATH}", timeout=2) as response:
                    identity = json.loads(response.read())
            except urllib.error.HTTPError:  # an HTTP server, but not a flights-dagit (stock dagit: 404)
                identity = {}
            except OSError:  # nothing answers yet
                time.sleep(0.3)
                continue
            except ValueError:
                identity = {}
            if identity != self.identity():
                raise StackStartError(f"port {self.port}: the Dagit answering on {self.url} is not the one this "
                                      f"stack started (another process took the port)")
            return
        raise StackStartError(f"port {self.port}: Dagit did not answer on {self.url} within {timeout_s:.0f}s")

    def identity(self) -> dict:
        """What this stack's Dagit answers at IDENTITY_PATH: its pid and workspace file."""
        workspace = os.path.join(self.cwd or os.getcwd(), self.workspace)
        return {"pid": self.processes[0].pid, "workspace": [os.path.realpath(workspace)]}

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM each process group, SIGKILL what is left after ``grace_s``."""
        for process in self.processes:
            signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            signal_group(process.pid, signal.SIGKILL)  # whatever is left of the group, grpc children included
            process.wait()
        for log in self._logs:
            log.close()
        self.processes.clear()
        self._logs.clear()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)  # sockets, and anything else they left
            self.tmpdir = None
        if self._folder is not None:
            self._folder.close()
            self._folder = None

    def __enter__(self) -> "DagitStack":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def _stop_when_the_stack_dies() -> None:
    """In Dagit's and the daemon's process, before exec: SIGTERM when the stack's process ends."""
    signal_me_when_parent_dies(signal.SIGTERM)


def signal_group(pid: int, signum: int) -> None:
    """Signal the process group ``pid`` leads; nothing if it is gone."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Dagit and dagster-daemon until Ctrl-C.")
    parser.add_argument("-w", "--workspace", default="workspace.yaml")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=3000)
    parser.add_argument("--no-daemon", action="store_true", help="Dagit only (no backfills, no schedules).")
    args = parser.parse_args(argv)
    if not settings.read(settings.DAGSTER_HOME):
        parser.error("DAGSTER_HOME is not set (make dagit sets it to .dagster_home/)")
    stack = DagitStack(args.workspace, args.host, args.port, daemon=not args.no_daemon)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop both on SIGTERM as on Ctrl-C
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))  # and when the terminal closes (they are in sessions of their own)
    try:
        stack.start()
        both = "and dagster-daemon running" if stack.daemon else "running (no daemon)"
        print(f"Dagit on {stack.url} {both} for DAGSTER_HOME={settings.read(settings.DAGSTER_HOME)}. "
              f"Ctrl-C stops {'both' if stack.daemon else 'it'}.", flush=True)
        while all(process.poll() is None for process in stack.processes):
            time.sleep(1)
        print("A process exited; stopping the rest.", file=sys.stderr)
        sys.exit(1)
    except StackStartError as error:
        print(f"make dagit: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C must not cut the stop short
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()  # bounded: SIGKILL after its grace period


if __name__ == "__main__":
    main()
