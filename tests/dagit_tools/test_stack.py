"""`make dagit`'s process: Dagit and the daemon both come up, and Ctrl-C stops them with their grpc children."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from tests.backfill.cli_helpers import PROJECT_ROOT
from tests.helpers import wait_until
from tests.ui.dagit import free_port

pytestmark = pytest.mark.slow


def _process_groups() -> dict:
    """pid -> (parent pid, process group) of every live process, from /proc."""
    groups = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                groups[int(entry)] = (int(fields[1]), int(fields[2]))
    return groups


def _wait_for_dagit(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/dagit_info", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(url)


def _home_env(tmp_path, name="dagster_home") -> dict:
    home = tmp_path / name
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {**os.environ, "DAGSTER_HOME": str(home), "FLIGHTS_WAREHOUSE": str(tmp_path / f"{name}.duckdb")}


def _files_under(directory) -> list:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.mark.parametrize("signals", [[signal.SIGINT], [signal.SIGINT, signal.SIGINT], [signal.SIGHUP], [signal.SIGKILL]],
                         ids=["ctrl-c", "ctrl-c-twice", "terminal-closed", "killed"])
def test_however_the_stack_ends_dagit_daemon_and_their_children_end(tmp_path, signals):
    """Ctrl-C (SIGINT, also twice) and a closed terminal (SIGHUP) stop both; killed, the stack's
    processes get a parent-death SIGTERM, and their TMPDIR goes with the next stack's start."""
    from flights_etl.dagit_tools.stack import TMPDIR_PREFIX
    from flights_etl.files import remove_stale_socket_dirs

    env = _home_env(tmp_path)
    # The stack's TMPDIR: the grpc servers' socket files go below it. A short path of its own: a
    # unix socket's path has at most 107 bytes, which pytest-xdist's tmp_path (popen-gw0/...) exceeds,
    # and the code servers would never start.
    temp = pathlib.Path(tempfile.mkdtemp(prefix="fs-", dir="/tmp"))
    env["TMPDIR"] = str(temp)
    port = free_port()
    groups = set()
    output = tmp_path / "stack.log"  # a file: what a killed stack's children still write needs no reader
    with output.open("w") as log:
        stack = subprocess.Popen(
            [sys.executable, "-m", "flights_etl.dagit_tools.stack", "-w", "workspace.yaml", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for_dagit(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30  # the daemon is started once Dagit answers
        while True:
            children = [pid for pid, (parent, _group) in _process_groups().items() if parent == stack.pid]
            if len(children) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        commands = [open(f"/proc/{pid}/cmdline").read().replace("\0", " ") for pid in children]
        assert len(children) == 2 and any("flights-dagit" in c for c in commands) and any("dagster-daemon" in c for c in commands), commands
        groups.update(children)  # each child leads its own process group
        # both start their `dagster api grpc` code servers, in their groups
        wait_until("the code servers", lambda: sum(1 for _pid, (_parent, group) in _process_groups().items()
                                                   if group in groups) >= 4, 120, poll_s=0.5)

        assert _files_under(temp) != []  # the code servers' sockets, while they run

        for number, signum in enumerate(signals):  # SIGINT: what Ctrl-C delivers to `make dagit`'s foreground process
            if number:
                time.sleep(0.7)  # the second while the first stops both
            stack.send_signal(signum)
        stack.wait(timeout=60)
        killed = signals == [signal.SIGKILL]
        if killed:  # nothing could clean up: the processes end on their own
            wait_until("Dagit, the daemon and their code servers to end", lambda: not [
                pid for pid, (_parent, group) in _process_groups().items() if group in groups], 30, poll_s=0.2)
        assert "Ctrl-C stops both" in output.read_text() and "Traceback" not in output.read_text()
        if killed:
            assert _files_under(temp) != []  # their folder is left...
            remove_stale_socket_dirs(TMPDIR_PREFIX, str(temp))  # ...until the next stack starts
        assert [pid for pid, (_parent, group) in _process_groups().items() if group in groups] == []
        assert _files_under(temp) == []  # no socket file (nor anything else) left behind
    finally:
        for group in groups | {stack.pid}:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(temp, ignore_errors=True)


def test_flights_dagit_ends_its_code_servers_and_nothing_it_did_not_start(tmp_path):
    """SIGTERM ends flights-dagit and the code server it started; a program started before it in
    its process group (a shell's `sidecar & exec flights-dagit`, a container's entrypoint) lives on."""
    env = _home_env(tmp_path)
    temp = pathlib.Path(tempfile.mkdtemp(prefix="fs-", dir="/tmp"))  # short: the code server's socket goes below it
    env["TMPDIR"] = str(temp)
    port = free_port()
    dagit = os.path.join(os.path.dirname(sys.executable), "flights-dagit")
    with (tmp_path / "dagit.log").open("w") as log:
        shell = subprocess.Popen(
            ["sh", "-c", f"sleep 300 & exec {dagit} -w workspace.yaml -p {port}"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    group = shell.pid
    try:
        _wait_for_dagit(f"http://127.0.0.1:{port}")

        def members():
            return {pid: open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
                    for pid, (_parent, pgid) in _process_groups().items() if pgid == group and pid != shell.pid}

        wait_until("the code server", lambda: any("api grpc" in command for command in members().values()), 120)
        sidecar = [pid for pid, command in members().items() if command.startswith("sleep 300")]
        assert len(sidecar) == 1
        shell.send_signal(signal.SIGTERM)  # the shell's pid is flights-dagit's now
        shell.wait(timeout=60)
        wait_until("the code server to end", lambda: not any("api grpc" in c for c in members().values()), 30,
                   poll_s=0.2)
        assert list(members()) == sidecar  # still running
    finally:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.parametrize("daemon", [True, False])
def test_port_where_another_dagit_answers_fails_with_one_line(tmp_path, daemon):
    """`make dagit` on a taken port: exit 1, one line naming the port, no daemon ever started, and the
    Dagit already there keeps running."""
    from dagster import DagsterInstance

    from tests.servers import DagitStack

    port = free_port()
    with DagitStack("workspace.yaml", port=port, daemon=False, env=_home_env(tmp_path, "first"), cwd=PROJECT_ROOT,
                    log_dir=str(tmp_path)) as first:
        env = _home_env(tmp_path, "second")
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "flights_etl.dagit_tools.stack", "-w", "workspace.yaml", "-p", str(port),
             *([] if daemon else ["--no-daemon"])],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        assert second.returncode == 1
        assert "Dagit on" not in second.stdout
        [line] = second.stderr.strip().splitlines()
        assert f"port {port}" in line and "in use" in line, line
        assert time.monotonic() - started < 30  # refused up front, not after a start-up timeout
        with urllib.request.urlopen(f"{first.url}/dagit_info", timeout=5) as response:
            assert response.status == 200
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            assert instance.get_runs() == [] and not instance.get_daemon_heartbeats()


def test_make_stack_on_a_taken_port_starts_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "TMPDIR": str(tmp_path)}
        result = subprocess.run(
            [sys.executable, "-m", "devtools.cluster", "--port", str(port), "--env-file",
             str(tmp_path / ".stack.env")],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"port {port}" in line and "in use" in line, line
    assert "Stack up" not in result.stdout
    assert _files_under(tmp_path) == []  # no PostgreSQL or Redis directory was made, no env file


def test_a_server_that_is_not_our_dagit_is_refused(tmp_path):
    """Someone else answers on the port once Dagit is spawned (the race after the port check): refused."""
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    from tests.servers import DagitStack, StackStartError

    class StockDagit(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/dagit_info" else 404)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = HTTPServer(("127.0.0.1", 0), StockDagit)
    Thread(target=server.serve_forever, daemon=True).start()
    ours = subprocess.Popen(["sleep", "60"])
    try:
        stack = DagitStack("workspace.yaml", port=server.server_address[1], cwd=PROJECT_ROOT, processes=[ours])
        with pytest.raises(StackStartError, match=f"port {server.server_address[1]}: .* not the one"):
            stack.wait_ready(20)
    finally:
        ours.kill()
        ours.wait()
        server.shutdown()
        server.server_close()
