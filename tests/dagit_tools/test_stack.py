"""`make dagit`'s process: Dagit and the daemon both come up, and Ctrl-C stops them with their grpc children."""
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.backfill.cli_helpers import PROJECT_ROOT
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


def test_ctrl_c_stops_dagit_daemon_and_their_children(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "FLIGHTS_WAREHOUSE": str(tmp_path / "w.duckdb")}
    port = free_port()
    groups = set()
    stack = subprocess.Popen(
        [sys.executable, "-m", "flights_etl.dagit_tools.stack", "-w", "workspace.yaml", "-p", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        _wait_for_dagit(f"http://127.0.0.1:{port}")
        time.sleep(3)  # let both start their `dagster api grpc` code servers
        children = [pid for pid, (parent, _group) in _process_groups().items() if parent == stack.pid]
        commands = [open(f"/proc/{pid}/cmdline").read().replace("\0", " ") for pid in children]
        assert len(children) == 2 and any("flights-dagit" in c for c in commands) and any("dagster-daemon" in c for c in commands), commands
        groups.update(children)  # each child leads its own process group
        assert sum(1 for _pid, (_parent, group) in _process_groups().items() if group in groups) >= 4  # + grpc servers

        stack.send_signal(signal.SIGINT)  # what Ctrl-C delivers to `make dagit`'s foreground process
        output, _ = stack.communicate(timeout=60)
        assert "Ctrl-C stops both" in output
        assert [pid for pid, (_parent, group) in _process_groups().items() if group in groups] == []
    finally:
        for group in groups | {stack.pid}:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
