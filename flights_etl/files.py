"""Files: written so that a reader sees the old bytes or the new, never half of them; folders for sockets."""
import os
import tempfile


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
    base = base or tempfile.gettempdir()
    if len(base) > MAX_SOCKET_BASE_LENGTH:
        base = "/tmp"
    return tempfile.mkdtemp(prefix=prefix, dir=base)
