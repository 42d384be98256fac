"""Writing a file so that a reader sees the old bytes or the new, never half of them."""
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
