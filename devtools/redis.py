"""A throwaway Redis server (the worker fleet's broker): Debian's ``redis-server`` in a directory of its own.

A free loopback port (or the addresses given), a random password, no persistence; ``stop()``
ends it and removes its directory. For ``make stack`` and the tests, which start their own.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

from devtools.ports import free_port


class RedisNotInstalled(RuntimeError):
    pass


@dataclass
class RedisServer:
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    directory: Optional[str] = None
    process: Optional[subprocess.Popen] = None

    def __post_init__(self):
        if not self.port:
            self.port = free_port()

    def url(self, host: str = "127.0.0.1", database: int = 0) -> str:
        return f"redis://:{self.password}@{host}:{self.port}/{database}"

    def start(self, bind: str = "127.0.0.1", timeout_s: float = 30.0) -> "RedisServer":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisNotInstalled("redis-server is not installed: `apt-get install redis-server` (make test does it)")
        self.directory = self.directory or tempfile.mkdtemp(prefix="flights-redis-")
        config = os.path.join(self.directory, "redis.conf")
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the password
        with os.fdopen(descriptor, "w") as handle:
            handle.write(
                f"port {self.port}\nbind {bind}\nprotected-mode no\nrequirepass {self.password}\n"
                f"dir {self.directory}\nsave \"\"\nappendonly no\ndaemonize no\n"
                f"logfile {os.path.join(self.directory, 'redis.log')}\n"
            )
        self.process = subprocess.Popen([binary, config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.directory}/redis.log")
            try:
                with socket.create_connection((bind.split()[0], self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"redis-server did not listen on port {self.port} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
