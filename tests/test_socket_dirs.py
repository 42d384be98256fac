"""Socket folders are removed once nobody claims them (their owner and its children dead), never
while their owner lives, even frozen; nothing else is touched."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

from flights_etl.files import SocketFolder, remove_stale_socket_dirs

PREFIX = "flights-test-sockets-"
# A process that claims a folder, serves a socket in it and says where, then waits.
OWNER = f"""
import os, socket, sys, time
from flights_etl.files import SocketFolder
folder = SocketFolder({PREFIX!r}, sys.argv[1])
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(os.path.join(folder.path, "server.sock"))
server.listen(1)
print(folder.path, flush=True)
time.sleep(600)
"""


@pytest.fixture
def base():
    folder = tempfile.mkdtemp(prefix="sd-", dir="/tmp")  # short: a socket path has at most 107 bytes
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def owner(base):
    """Start an owner process; yields (process, its folder); kills it afterwards."""
    started = []

    def start():
        process = subprocess.Popen([sys.executable, "-c", OWNER, base], stdout=subprocess.PIPE, text=True)
        started.append(process)
        return process, process.stdout.readline().strip()

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


def test_a_frozen_owners_folder_stays_and_a_killed_ones_goes(base, owner):
    process, folder = owner()
    os.kill(process.pid, signal.SIGSTOP)  # frozen: its socket still takes connections into its backlog
    assert remove_stale_socket_dirs(PREFIX, base) == []
    assert os.path.exists(os.path.join(folder, "server.sock"))
    process.kill()
    process.wait()
    assert remove_stale_socket_dirs(PREFIX, base) == [folder]
    assert os.listdir(base) == []


def test_a_claimed_folder_stays_without_its_socket_and_after_a_dead_socket(base):
    claimed = SocketFolder(PREFIX, base)  # as a server starting: no socket yet, however long
    try:
        assert remove_stale_socket_dirs(PREFIX, base) == []
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(os.path.join(claimed.path, "server.sock"))  # bound, not listening: refuses, as a dead one
        dead.close()
        assert remove_stale_socket_dirs(PREFIX, base) == []
        assert os.path.isdir(claimed.path)
    finally:
        claimed.close()
    assert os.listdir(base) == []  # close() removed the folder, its socket and the claim


def test_only_unclaimed_folders_of_sockets_are_removed(base, owner):
    process, with_more = owner()
    with open(os.path.join(with_more, "notes.txt"), "w") as handle:
        handle.write("not a socket")
    process.kill()
    process.wait()
    unclaimed_empty = SocketFolder(PREFIX, base)
    os.close(unclaimed_empty._lock)  # as its owner's death would
    unclaimed_empty._lock = None
    hand_made = os.path.join(base, PREFIX + "notes")  # a folder of the same prefix without a claim
    os.mkdir(hand_made)
    elsewhere = tempfile.mkdtemp(prefix="target-", dir=base)
    os.symlink(elsewhere, os.path.join(base, PREFIX + "link"))  # a claimed-looking link points away
    os.symlink(os.path.join(elsewhere, "x"), os.path.join(base, PREFIX + "link.lock"))
    assert remove_stale_socket_dirs(PREFIX, base) == [unclaimed_empty.path]
    assert os.path.exists(os.path.join(with_more, "notes.txt"))
    assert os.path.exists(with_more + ".lock")  # still its claim: nothing half removed
    assert os.path.isdir(hand_made) and os.path.isdir(elsewhere)
    assert not os.path.lexists(unclaimed_empty.lock_path)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file to another user")
def test_another_users_claim_stays(base):
    theirs = SocketFolder(PREFIX, base)
    os.close(theirs._lock)
    theirs._lock = None
    os.chown(theirs.lock_path, 65534, 65534)
    assert remove_stale_socket_dirs(PREFIX, base) == []
    assert os.path.isdir(theirs.path)
