"""Shared fixtures: landed files from the packaged data, temp warehouses, temp Dagster instances."""
import shutil
from datetime import date

import pytest
from dagster import DagsterInstance

from flights_etl.upstream.land import land_days

# Days landed once per test session; tests copy what they change.
LANDED_FROM = date(2013, 1, 1)
LANDED_TO = date(2013, 2, 28)
GAP_DAY = date(2013, 12, 31)  # the packaged weather has no rows for this day


@pytest.fixture(scope="session")
def landed_master(tmp_path_factory):
    landing_dir = str(tmp_path_factory.mktemp("landing_master"))
    land_days(landing_dir, LANDED_FROM, LANDED_TO)
    land_days(landing_dir, date(2013, 7, 4), date(2013, 7, 4))
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
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture
def instance(tmp_path):
    """A real SQLite-backed Dagster instance in a temp DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(home)) as dagster_instance:
        yield dagster_instance


@pytest.fixture
def resources_config(warehouse_path, landing_dir):
    return {
        "warehouse": {"config": {"location": warehouse_path, "lock_timeout_s": 10.0}},
        "landing": {"config": {"dir": landing_dir}},
    }
