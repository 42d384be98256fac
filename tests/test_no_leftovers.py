"""A pytest killed from outside (SIGKILL: CI's time limit, a closed terminal) leaves no process behind:
its reaper (tests/reaper.py) ends the servers, the daemon and the daemon's code server it started."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.backfill.cli_helpers import BIN, PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.server]


def _processes() -> dict:
    """pid -> (parent pid, start time, command line) of every live, non-zombie process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != b"Z":
            found[int(entry)] = (int(fields[1]), int(fields[19]), command)
    return found


def _tree(roots, processes) -> set:
    tree = set(roots) & processes.keys()
    grown = True
    while grown:
        grown = False
        for pid, (parent, _started, _command) in processes.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    return tree


def test_a_killed_pytest_leaves_no_server_daemon_or_code_server(tmp_path):
    ready = tmp_path / "ready.json"
    directories = []
    inner = subprocess.Popen(
        [os.path.join(BIN, "pytest"), "-q", "-p", "no:cacheprovider", "-o", "python_files=process_tree_target.py",
         "tests/process_tree_target.py"],
        cwd=PROJECT_ROOT, env={**os.environ, "LEFTOVERS_READY_FILE": str(ready)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:  # the servers are up, and the daemon has started its code server
            assert inner.poll() is None, f"the inner pytest exited with {inner.returncode}"
            assert time.monotonic() < deadline, "the inner pytest's servers did not come up"
            if ready.exists():
                pids = json.loads(ready.read_text())
                directories = pids.pop("directories")
                processes = _processes()
                tree = _tree([inner.pid, *pids.values()], processes)
                daemon_tree = _tree([pids["daemon"]], processes)
                if any("api grpc" in processes[pid][2] for pid in daemon_tree):
                    break
            time.sleep(0.3)
        started = {pid: processes[pid][1] for pid in tree - {inner.pid}}
        # The servers and the daemon live in sessions of their own: nothing but the reaper would end them.
        assert {pids["postmaster"], pids["redis"], pids["daemon"]} <= started.keys()
        assert len(started) >= 6  # + postgres backends, the code server, the reaper

        inner.kill()  # SIGKILL: no fixture teardown, no atexit
        inner.wait()
        deadline = time.monotonic() + 60
        while True:
            processes = _processes()
            left = {pid: processes[pid][2] for pid, when in started.items()
                    if pid in processes and processes[pid][1] == when}
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert left == {}
    finally:
        if inner.poll() is None:
            os.killpg(inner.pid, signal.SIGKILL)
            inner.wait()
        for directory in directories:  # the killed pytest's servers' files: it never got to remove them
            shutil.rmtree(directory, ignore_errors=True)
