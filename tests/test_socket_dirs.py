"""Socket folders a server killed with SIGKILL left behind are removed; live, young or foreign ones stay."""
import os
import shutil
import socket
import tempfile
import time

import pytest

from flights_etl.files import remove_stale_socket_dirs, socket_dir

PREFIX, NAME = "flights-test-sockets-", "server.sock"


@pytest.fixture
def base():
    folder = tempfile.mkdtemp(prefix="sd-", dir="/tmp")  # short: a socket path has at most 107 bytes
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _folder(base, socket_state=None, age_s=0.0, extra=None):
    folder = socket_dir(PREFIX, base)
    server = None
    if socket_state is not None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(os.path.join(folder, NAME))
        if socket_state == "listening":
            server.listen(1)
        else:  # the server is gone, its socket file stays
            server.close()
            server = None
    if extra:
        with open(os.path.join(folder, extra), "w") as handle:
            handle.write("x")
    if age_s:
        then = time.time() - age_s
        os.utime(folder, (then, then))
    return folder, server


def test_only_folders_nobody_serves_are_removed(base):
    dead, _ = _folder(base, "dead", age_s=30)
    just_bound, _ = _folder(base, "dead")  # a live server between bind and listen looks the same
    old_empty, _ = _folder(base, age_s=120)
    young_empty, _ = _folder(base)
    live, server = _folder(base, "listening", age_s=120)
    with_more, _ = _folder(base, "dead", extra="notes.txt")
    not_a_socket, _ = _folder(base, age_s=120, extra=NAME)
    other_prefix = tempfile.mkdtemp(prefix="another-", dir=base)
    try:
        assert sorted(remove_stale_socket_dirs(PREFIX, NAME, base)) == sorted([dead, old_empty])
        for kept in (just_bound, young_empty, live, with_more, not_a_socket, other_prefix):
            assert os.path.isdir(kept), kept
        assert os.path.exists(os.path.join(with_more, NAME))  # a folder with anything else is not emptied
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:  # the live server still serves
            client.connect(os.path.join(live, NAME))
        assert remove_stale_socket_dirs(PREFIX, NAME, base) == []
    finally:
        server.close()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_another_users_folder_stays(base):
    theirs, _ = _folder(base, "dead", age_s=120)
    os.chown(theirs, 65534, 65534)
    assert remove_stale_socket_dirs(PREFIX, NAME, base) == []
    assert os.path.isdir(theirs)
