"""Files: written so that a reader sees the old bytes or the new, never half of them; folders for sockets."""
import fcntl
import os
import stat
import tempfile
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


class SocketFolder:
    """A private folder for a server's Unix sockets (``path``), claimed by a locked file beside it
    (``path`` + ``.lock``) for as long as this object is open, in this process and every process
    forked meanwhile (they share the lock). ``remove_stale_socket_dirs`` takes away only folders
    whose claim nobody holds: a server killed with SIGKILL (with its parent, or by the OOM killer)
    leaves its folder behind; a frozen, suspended or starting one keeps it."""

    LOCK_SUFFIX = ".lock"

    def __init__(self, prefix: str, base: "str | None" = None):
        base = _socket_base(base)
        while True:
            handle, lock_path = tempfile.mkstemp(prefix=prefix, suffix=self.LOCK_SUFFIX, dir=base)
            fcntl.flock(handle, fcntl.LOCK_EX)  # waits only for a sweep that took it in the instant before
            path = _folder_of(lock_path)
            if _same_file(handle, lock_path):
                try:
                    os.mkdir(path, 0o700)
                    break
                except FileExistsError:  # a folder of that name already (not ours)
                    os.unlink(lock_path)
            os.close(handle)
        self._lock, self.lock_path, self.path = handle, lock_path, path

    @property
    def fd(self) -> int:
        """The claim's open file: a process that inherits it (``pass_fds``) holds the claim too."""
        return self._lock

    def make(self) -> str:
        """The folder, made again if its server removed it as it ended."""
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        return self.path

    def close(self) -> None:
        """Remove the folder (its server's sockets in it) and give up the claim (kept, as the sweep
        keeps it, on a folder holding anything else)."""
        if self._lock is None:
            return
        try:
            _remove_claimed(self.lock_path)
        except OSError:
            pass
        finally:
            os.close(self._lock)
            self._lock = None


def remove_stale_socket_dirs(prefix: str, base: "str | None" = None) -> List[str]:
    """Remove this user's ``SocketFolder(prefix)`` folders that nobody claims any more, and return
    them. A folder with anything but sockets in it stays, claim and all."""
    removed = []
    base = _socket_base(base)
    try:
        names = [name for name in os.listdir(base)
                 if name.startswith(prefix) and name.endswith(SocketFolder.LOCK_SUFFIX)]
    except OSError:
        return removed
    for name in names:
        lock_path = os.path.join(base, name)
        try:
            handle = os.open(lock_path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # gone meanwhile, a symbolic link, not ours to open
            continue
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # its owner lives (perhaps frozen): keep it
                continue
            if not _same_file(handle, lock_path):  # another sweep removed it meanwhile
                continue
            if _remove_claimed(lock_path):
                removed.append(_folder_of(lock_path))
        except OSError:
            continue
        finally:
            os.close(handle)  # releases the lock
    return removed


def _folder_of(lock_path: str) -> str:
    return lock_path[: -len(SocketFolder.LOCK_SUFFIX)]


def _remove_claimed(lock_path: str) -> bool:
    """Remove the folder of the claim at ``lock_path`` (whose lock the caller holds), then the claim;
    False, both kept, when the folder holds anything but sockets."""
    if not remove_socket_folder(_folder_of(lock_path)):
        return False
    os.unlink(lock_path)
    return True


def remove_socket_folder(folder: str) -> bool:
    """Remove ``folder`` if it holds nothing but sockets (never following a symbolic link); True when
    it is gone."""
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        if os.fstat(handle).st_uid != os.getuid():
            return False
        names = os.listdir(handle)
        for name in names:
            if not stat.S_ISSOCK(os.lstat(name, dir_fd=handle).st_mode):
                return False
        for name in names:
            os.unlink(name, dir_fd=handle)
        os.rmdir(folder)
        return True
    except FileNotFoundError:
        return not os.path.lexists(folder)
    except OSError:
        return False
    finally:
        os.close(handle)


def _same_file(handle: int, path: str) -> bool:
    """Whether the open file ``handle`` is still the file at ``path``."""
    try:
        here, there = os.fstat(handle), os.lstat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
