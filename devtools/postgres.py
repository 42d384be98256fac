"""A throwaway PostgreSQL server: Debian's ``initdb`` and ``pg_ctl`` in a directory of its own, on loopback.

For trying the shared deployment by hand (``make pg``, ``make stack``) and for the tests, which
start their own. Never a system-wide server or a fixed port: the data directory is private, the
port is a free one, the superuser is ``flights`` with a random password, and ``stop()`` removes
everything. As root, the server runs as the ``postgres`` user (PostgreSQL refuses root).
"""
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from glob import glob
from typing import List, Optional

from devtools.ports import free_port

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"  # Debian's account for the server when we are root


class PostgresNotInstalled(RuntimeError):
    pass


def postgres_bin() -> str:
    """Debian's PostgreSQL binaries (the newest major version installed)."""
    found = sorted(glob(PG_BIN_GLOB), key=lambda path: int(path.split("/")[-2]) if path.split("/")[-2].isdigit() else 0)
    if not found or not os.path.exists(os.path.join(found[-1], "initdb")):
        raise PostgresNotInstalled(
            "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin): "
            "`apt-get install postgresql` (make test and make pg do it)"
        )
    return found[-1]


@dataclass
class PostgresServer:
    """One private server. ``start()``, ``create_database(name)`` -> URL, ``stop()``."""

    directory: Optional[str] = None  # default: a new temp directory, removed by stop()
    port: int = 0  # default: a free loopback port
    user: str = "flights"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    settings: List[str] = field(default_factory=list)  # extra ``-c name=value`` for the server
    allow_networks: List[str] = field(default_factory=list)  # CIDRs, besides loopback, allowed to log in
    _owned_directory: bool = False

    def __post_init__(self):
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="flights-pg-")
            self._owned_directory = True
        if not self.port:
            self.port = free_port()

    @property
    def data_dir(self) -> str:
        return os.path.join(self.directory, "data")

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def url(self, database: str = "postgres", host: Optional[str] = None) -> str:
        return f"postgresql://{self.user}:{self.password}@{host or self.host}:{self.port}/{database}"

    def _run(self, command: List[str], **kwargs) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        result = subprocess.run(prefix + command, capture_output=True, text=True, **kwargs)
        if result.returncode != 0:
            raise RuntimeError(f"{os.path.basename(command[0])} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
        return result

    def start(self, listen: str = "127.0.0.1") -> "PostgresServer":
        """Create the cluster if needed and start the server; ``listen`` is its listen_addresses."""
        binaries = postgres_bin()
        os.makedirs(self.directory, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVER_USER, SERVER_USER)
        if not os.path.exists(os.path.join(self.data_dir, "PG_VERSION")):
            password_file = os.path.join(self.directory, "password")
            with open(password_file, "w") as handle:
                handle.write(self.password + "\n")
            if os.geteuid() == 0:
                shutil.chown(password_file, SERVER_USER, SERVER_USER)
            self._run([
                os.path.join(binaries, "initdb"), "-D", self.data_dir, "-U", self.user, f"--pwfile={password_file}",
                "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
            ])
            os.remove(password_file)
            if self.allow_networks:
                with open(os.path.join(self.data_dir, "pg_hba.conf"), "a") as handle:
                    handle.writelines(f"host all all {network} scram-sha-256\n" for network in self.allow_networks)
        options = " ".join([
            f"-p {self.port}", f"-c listen_addresses={listen}", f"-c unix_socket_directories={self.directory}",
            "-c max_connections=200", *(f"-c {setting}" for setting in self.settings),
        ])
        self._run([os.path.join(binaries, "pg_ctl"), "-D", self.data_dir, "-l", os.path.join(self.directory, "server.log"),
                   "-o", options, "-w", "-t", "60", "start"])
        return self

    def stop(self, remove: bool = True) -> None:
        """Stop the server (fast shutdown: open sessions are ended); remove its files unless ``remove=False``."""
        if os.path.exists(os.path.join(self.data_dir, "postmaster.pid")):
            self._run([os.path.join(postgres_bin(), "pg_ctl"), "-D", self.data_dir, "-m", "fast", "-w", "-t", "60", "stop"])
        if remove and self._owned_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create database ``name`` (if missing); return its URL."""
        import psycopg2

        connection = psycopg2.connect(self.url("postgres"), connect_timeout=10)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def main() -> None:
    """``make pg``: a throwaway server for trying the shared deployment by hand, until Ctrl-C."""
    import argparse
    import signal
    import sys
    import time

    parser = argparse.ArgumentParser(description="A throwaway PostgreSQL server on loopback, until Ctrl-C.")
    parser.add_argument("--env-file", default=".pg.env", help="Where to write the two exports as well (mode 600).")
    args = parser.parse_args()
    server = PostgresServer()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.start()
        exports = (
            f"export DAGSTER_PG_URL={server.create_database('dagster')}\n"
            f"export FLIGHTS_WAREHOUSE={server.create_database('warehouse')}\n"
        )
        descriptor = os.open(args.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(exports)
        print(f"PostgreSQL {server.host}:{server.port} (data in {server.directory}, removed on exit). "
              f"In another shell (or `source {args.env_file}`):\n\n{exports}\n"
              "and use deploy/postgres/dagster.yaml as $DAGSTER_HOME/dagster.yaml. Ctrl-C stops and removes it.",
              flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if os.path.exists(args.env_file):
            os.remove(args.env_file)


if __name__ == "__main__":
    main()
