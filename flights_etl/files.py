"""Files: written so that a reader sees the old bytes or the new, never half of them; folders for sockets."""
import os
import socket
import stat
import tempfile
import time
from typing import List


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path`` (its folder created)."""
    directory = os.path.dirname(path)
    os.makedirs(directory or ".", exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory or ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


MAX_SOCKET_BASE_LENGTH = 60  # leaves room for our folder and a socket's name: a Unix socket path has at most 107 bytes


def socket_dir(prefix: str, base: "str | None" = None) -> str:
    """A new private folder for Unix sockets, under ``base`` (else the temp folder), or under /tmp
    when that path is too long for a socket inside it (pytest's and some CI's temp folders)."""
    return tempfile.mkdtemp(prefix=prefix, dir=_socket_base(base))


def _socket_base(base: "str | None") -> str:
    base = base or tempfile.gettempdir()
    return "/tmp" if len(base) > MAX_SOCKET_BASE_LENGTH else base


def remove_stale_socket_dirs(prefix: str, socket_name: str, base: "str | None" = None,
                             min_age_s: float = 60.0, settle_s: float = 10.0) -> List[str]:
    """Remove this user's ``socket_dir(prefix)`` folders that nobody serves any more, and return them:
    a server killed with SIGKILL (with its parent, or the OOM killer) leaves its folder and socket
    file behind. A folder whose ``socket_name`` refuses connections is stale once ``settle_s`` have
    passed since the socket appeared (between bind and listen a live server's refuses too); one
    without it is left alone until ``min_age_s`` after its last change (its server may be starting);
    anything else in a folder keeps it."""
    removed = []
    base = _socket_base(base)
    try:
        names = [name for name in os.listdir(base) if name.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        folder = os.path.join(base, name)
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        try:
            if set(os.listdir(folder)) - {socket_name}:
                continue
        except OSError:
            continue
        address = os.path.join(folder, socket_name)
        age_s = time.time() - info.st_mtime
        if os.path.lexists(address):
            if age_s < settle_s or not _refuses_connections(address):
                continue
        elif age_s < min_age_s:
            continue
        for remove, path in ((os.unlink, address), (os.rmdir, folder)):
            try:
                remove(path)
            except FileNotFoundError:
                pass
            except OSError:
                break
        else:
            removed.append(folder)
    return removed


def _refuses_connections(address: str) -> bool:
    """Whether nothing listens on the Unix socket ``address`` (a live server, even a frozen one, accepts
    into its backlog)."""
    try:
        if not stat.S_ISSOCK(os.lstat(address).st_mode):
            return False
    except OSError:  # gone meanwhile: its server removed it
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(address)
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False
