"""Kills what a pytest process started once that pytest is gone, however it went (SIGKILL included).

Started by tests/conftest.py, one per pytest process, in a session of its own: ``python -m tests.reaper
PID MARKER PIDFILE``. Until PID ends it remembers, a few times a second, every process that is PID's
descendant, carries MARKER in its environment (pytest puts it in os.environ, so every child inherits
it), is listed in PIDFILE (servers that daemonize, e.g. the postmaster), or descends from one of those
(a daemon's code servers, the postmaster's backends). Then it SIGTERMs, and after a grace SIGKILLs,
whatever of them still lives. A pid counts as the same process only while its start time matches
(pids are reused).
"""
import os
import signal
import sys
import time

POLL_S = 0.5  # a process found later is still found by its marker or its parent
GRACE_S = 3.0


def _start_time(pid: int):
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces, so split after its closing parenthesis.
    return int(stat[stat.rindex(b")") + 2:].split()[19])


def _has_marker(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return marker in handle.read()
    except OSError:
        return False


def _registered(pidfile: str):
    try:
        with open(pidfile) as handle:
            return {int(line) for line in handle if line.strip().isdigit()}
    except OSError:
        return set()


def _stat(pid: int):
    """(parent pid, start time) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[1]), int(fields[19])


def _scan(root: int, marker: bytes, pidfile: str, known: dict, marked: dict) -> None:
    """Add to ``known`` (pid -> start time) every process that belongs to the watched pytest, and
    forget the ones that ended. ``marked`` caches, per (pid, start time), whether a process carries
    the marker: an environment does not change, so each process's is read once."""
    me = os.getpid()
    parents, started = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            stat = _stat(int(entry))
            if stat is not None:
                parents[int(entry)], started[int(entry)] = stat
    for key in [key for key in marked if started.get(key[0]) != key[1]]:
        del marked[key]
    for pid in [pid for pid in known if started.get(pid) != known[pid]]:
        del known[pid]  # ended: nothing to kill
    seeds = set(_registered(pidfile) & parents.keys()) | set(known)
    for pid in parents:
        key = (pid, started[pid])
        if key not in marked:
            marked[key] = _has_marker(pid, marker)
        if marked[key]:
            seeds.add(pid)
    seeds.add(root)
    changed = True
    while changed:  # the closure under "child of"
        changed = False
        for pid, parent in parents.items():
            if parent in seeds and pid not in seeds:
                seeds.add(pid)
                changed = True
    for pid in seeds - {root}:
        if pid not in known and pid in started:
            known[pid] = started[pid]


def _alive(known: dict) -> list:
    return [pid for pid, started in known.items() if _start_time(pid) == started]


def main() -> None:
    root, marker, pidfile = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for pytest must not end the watcher
    root_started = _start_time(root)
    known: dict = {}
    marked: dict = {}
    while _start_time(root) == root_started:
        _scan(root, marker, pidfile, known, marked)
        time.sleep(POLL_S)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline:
            _scan(-1, marker, pidfile, known, marked)  # children started while we were signalling
            alive = _alive(known)
            if not alive:
                break
            for pid in alive:
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass
            time.sleep(POLL_S)
    try:
        os.remove(pidfile)
    except OSError:
        pass


if __name__ == "__main__":
    main()
