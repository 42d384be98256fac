"""Identify a process well enough to tell, later and from another process, whether it still runs.

A pid alone is not enough: pids are reused, and a run's record may be read on another machine.
An identity is the host name, the kernel's boot id, the pid and the process's start time (clock
ticks since boot, from ``/proc``); on the same host and boot, the process lives if a process with
that pid and start time exists and is not a zombie. On another host nothing can be said here.
"""
import ctypes
import json
import os
import socket
from dataclasses import asdict, dataclass
from enum import Enum
from functools import lru_cache
from typing import List, Optional


class ProcessState(Enum):
    ALIVE = "alive"
    GONE = "gone"
    ELSEWHERE = "on another host"  # cannot be checked from here


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    boot: str
    pid: int
    start: int

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def encode(self, **extra) -> str:
        return json.dumps({**asdict(self), **extra}, sort_keys=True)

    @staticmethod
    def decode(text: Optional[str]) -> Optional["ProcessIdentity"]:
        try:
            data = json.loads(text)
            return ProcessIdentity(str(data["host"]), str(data["boot"]), int(data["pid"]), int(data["start"]))
        except (TypeError, ValueError, KeyError):
            return None


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def _stat(pid: int):
    """(state, start ticks) of ``pid`` from /proc, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])  # fields 3 and 22 of proc(5), counted after the command name


def current() -> ProcessIdentity:
    """This process's identity (computed per call: a forked child is another process)."""
    pid = os.getpid()
    stat = _stat(pid)
    return ProcessIdentity(socket.gethostname(), _boot_id(), pid, stat[1] if stat else 0)


def state(identity: ProcessIdentity) -> ProcessState:
    if identity.host != socket.gethostname():
        return ProcessState.ELSEWHERE
    if identity.boot != _boot_id():
        return ProcessState.GONE  # the machine restarted since
    stat = _stat(identity.pid)
    if stat is None or stat[1] != identity.start or stat[0] in ("Z", "X"):
        return ProcessState.GONE
    return ProcessState.ALIVE


PR_SET_PDEATHSIG = 1


def signal_me_when_parent_dies(signum: int) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent exits, however it exits
    (Linux; elsewhere nothing). It survives ``exec``: a ``preexec_fn`` can arm it for a program."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum)
    except (OSError, AttributeError):
        pass


def children(pid: int) -> List[int]:
    """The pids of ``pid``'s children, from ``/proc`` (Linux; elsewhere none)."""
    found: List[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:  # a child is listed under the thread that started it
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found
