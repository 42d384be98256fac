"""Shared fixtures: landed files from the packaged data, temp warehouses, temp Dagster instances."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import date

import pytest
from dagster import DagsterInstance

from flights_etl.upstream.land import land_days
from tests.servers import PostgresServer

# Days landed once per test session; tests copy what they change.
LANDED_FROM = date(2013, 1, 1)
LANDED_TO = date(2013, 2, 28)
GAP_DAY = date(2013, 12, 31)  # the packaged weather has no rows for this day
DST_DAYS = (date(2013, 3, 10), date(2013, 11, 3))  # New York's clock changes: 23 and 25 hours
BACKENDS = ["duckdb", "postgres"]
INSTANCE_YAML = """telemetry:
  enabled: false
instance_class:
  module: flights_etl.instance.dagster_instance
  class: FlightsInstance
compute_logs:
  module: dagster.core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
"""
REAPER_MARKER_ENV = "FLIGHTS_TEST_REAPER"
# Fixtures that start a server (or a fleet on one): tests using them are marked "server" (make test-quick skips them).
SERVER_FIXTURES = {"postgres_server", "redis_server", "fleet_env", "start_worker"}


def pytest_configure(config):
    """Start the reaper (tests/reaper.py) before anything else: whatever this pytest starts dies with it,
    even when it is SIGKILLed (CI's time limit, a closed terminal) before its fixtures can stop anything."""
    marker = f"{os.getpid()}-{uuid.uuid4().hex}"
    descriptor, pidfile = tempfile.mkstemp(prefix="flights-test-reaper-", suffix=".pids")
    os.close(descriptor)
    os.environ[REAPER_MARKER_ENV] = f"{marker}|{pidfile}"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.Popen([sys.executable, "-m", "tests.reaper", str(os.getpid()), marker, pidfile], cwd=root,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def register_with_reaper(pid: int) -> None:
    """For a process that leaves this pytest's tree and environment (a daemonized server): the reaper kills it too."""
    _marker, pidfile = os.environ[REAPER_MARKER_ENV].split("|", 1)
    with open(pidfile, "a") as handle:
        handle.write(f"{pid}\n")


def register_postmaster(server: PostgresServer) -> None:
    """pg_ctl daemonizes the postmaster (and it rewrites its environment for ps): the reaper is told its pid."""
    with open(os.path.join(server.data_dir, "postmaster.pid")) as handle:
        register_with_reaper(int(handle.readline()))


def pytest_collection_modifyitems(config, items):
    """Every test that starts a server is marked "server", whether it asks for one directly, through the
    fleet fixtures, or through the PostgreSQL side of ``warehouse_location``. A test marked "duckdb_only"
    (its behaviour ends before the warehouse is touched) loses its PostgreSQL side."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_postgres = any(isinstance(value, str) and value == "postgres" for value in params.values())
        if on_postgres and item.get_closest_marker("duckdb_only"):
            dropped.append(item)
            continue
        if on_postgres or SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def _landing_sensor_off(monkeypatch):
    """The landing sensor is on by default and would load every landed day in any test that starts a
    daemon; tests of it turn it on (``FLIGHTS_LANDING_MAX_RUNS`` > 0) in the environment they give it."""
    monkeypatch.setenv("FLIGHTS_LANDING_MAX_RUNS", "0")


@pytest.fixture(autouse=True)
def _sigterm_as_it_was():
    """Dagster's in-process execution maps SIGTERM to SIGINT's handler for good; where SIGINT is
    ignored (``make test &`` in a script, nohup) that makes SIGTERM ignored in every process the
    later tests start. Put it back after each test."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.fixture(scope="session")
def landed_master(tmp_path_factory):
    landing_dir = str(tmp_path_factory.mktemp("landing_master"))
    land_days(landing_dir, LANDED_FROM, LANDED_TO)
    land_days(landing_dir, date(2013, 7, 4), date(2013, 7, 4))
    for day in DST_DAYS:
        land_days(landing_dir, day, day)
    land_days(landing_dir, GAP_DAY, GAP_DAY)
    return landing_dir


@pytest.fixture
def landing_dir(landed_master, tmp_path):
    """A private copy of the landed files that a test may break and fix."""
    target = str(tmp_path / "landing")
    shutil.copytree(landed_master, target)
    return target


@pytest.fixture
def warehouse_path(tmp_path):
    """A DuckDB warehouse file (for tests of the embedded default only)."""
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server for the whole session: Debian's initdb/pg_ctl in a temp directory of
    its own (the server's user must reach it), a free loopback port; stopped and removed at the end."""
    server = PostgresServer().start()
    register_postmaster(server)
    yield server
    server.stop()


def new_postgres_database(server: PostgresServer) -> str:
    return server.create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=BACKENDS)
def warehouse_location(request, tmp_path):
    """The warehouse on each backend in turn: a DuckDB file, then a new database of the test PostgreSQL server."""
    if request.param == "duckdb":
        return str(tmp_path / "warehouse.duckdb")
    return new_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def instance(tmp_path):
    """A real SQLite-backed Dagster instance in a temp DAGSTER_HOME. Its steps' stdout and stderr are
    not captured (Dagster's default starts two `tail` processes per step); no test reads them."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    with DagsterInstance.from_config(str(home)) as dagster_instance:
        yield dagster_instance


@pytest.fixture
def resources_config(warehouse_location, landing_dir, monkeypatch):
    """The test's warehouse and landing directory, given as the deployment gives them (environment
    variables: run config cannot name them); returns the resources' run config that remains."""
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse_location)
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing_dir)
    return {"warehouse": {"config": {"lock_timeout_s": 10.0}}}
