"""The code a process runs: the package's version and a fingerprint of its source files.

The launcher sends it with every run; a worker whose own differs fails the run with a clear
error instead of executing other code than the deployment expects.
"""
import hashlib
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

import flights_etl


@lru_cache(maxsize=1)
def code_version() -> str:
    root = os.path.dirname(os.path.abspath(flights_etl.__file__))
    digest = hashlib.sha256()
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if name != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as handle:
                    digest.update(handle.read())
    try:
        release = version("flights-etl")
    except PackageNotFoundError:
        release = "unknown"
    return f"{release}+{digest.hexdigest()[:12]}"
