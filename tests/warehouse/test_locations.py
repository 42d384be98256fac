"""Warehouse locations as users write them: every PostgreSQL URL form, DuckDB paths with ~, anything else refused.

Whatever the form, nothing printed shows the password, and a URL is never taken for a file path.
"""
import os
from datetime import date

import pytest

from flights_etl.fleet import broker
from flights_etl.resources.landing import landing_resource
from flights_etl.urls import masked, url_scheme
from flights_etl.warehouse import WarehouseError, open_warehouse
from flights_etl.warehouse.duckdb_backend import DuckDBWarehouse
from flights_etl.warehouse.postgres_backend import PostgresWarehouse, is_postgres_url, libpq_url
from flights_etl.warehouse.tables import DAILY_TABLES
from tests.raw_data import flights_on
from tests.warehouse.test_warehouse import day_tables

PASSWORD = "s3cr3t-Pa55"

MASKED = {
    f"postgresql://flights:{PASSWORD}@db.example:5432/warehouse": "postgresql://flights@db.example:5432/warehouse",
    f"postgres://flights:{PASSWORD}@db.example/warehouse": "postgres://flights@db.example/warehouse",
    f"postgresql+psycopg2://flights:{PASSWORD}@db.example/warehouse": "postgresql+psycopg2://flights@db.example/warehouse",
    f"PostgreSQL+Psycopg2://flights:{PASSWORD}@db.example/warehouse": "postgresql+psycopg2://flights@db.example/warehouse",
    f"redis://:{PASSWORD}@127.0.0.1:6379/0": "redis://127.0.0.1:6379/0",
    f"rediss://worker:{PASSWORD}@[::1]:6380/1": "rediss://worker@[::1]:6380/1",
    f"postgresql://flights@db.example/warehouse?password={PASSWORD}": "postgresql://flights@db.example/warehouse",
    f"postgresql://flights:{PASSWORD}%2Fx@db.example/warehouse": "postgresql://flights@db.example/warehouse",
    # An unescaped '/' or '#' in the password moves its tail into the path: print the scheme only.
    f"redis://:ab/{PASSWORD}@127.0.0.1:6379/0": "redis://(unparseable URL)",
    f"postgresql://u:ab#{PASSWORD}@h/db": "postgresql://(unparseable URL)",
    f"postgresql://u:{PASSWORD}@h:port/db": "postgresql://(unparseable URL)",
    f"not a scheme://u:{PASSWORD}@h/db": "(unparseable URL)",
}


@pytest.mark.parametrize("url", MASKED)
def test_masked_shows_no_password_whatever_the_form(url):
    assert masked(url) == MASKED[url]
    assert PASSWORD not in masked(url)
    assert broker.masked is masked  # one function for the broker's and the warehouse's URLs


def test_url_scheme():
    assert url_scheme("PostgreSQL+psycopg2://h/db") == "postgresql+psycopg2"
    assert url_scheme("data/warehouse.duckdb") is None
    assert url_scheme("a b://x") == ""


POSTGRES_FORMS = ["postgresql", "postgres", "postgresql+psycopg2", "POSTGRESQL", "Postgres", "PostgreSQL+Psycopg2"]


@pytest.mark.parametrize("scheme", POSTGRES_FORMS)
def test_every_postgres_form_is_recognised_and_normalised_for_psycopg2(scheme):
    url = f"{scheme}://flights:{PASSWORD}@db.example:5433/warehouse"
    assert is_postgres_url(url)
    assert libpq_url(url) == f"postgresql://flights:{PASSWORD}@db.example:5433/warehouse"
    warehouse = open_warehouse(url)
    assert isinstance(warehouse, PostgresWarehouse)
    assert warehouse.location == "postgresql://flights@db.example:5433/warehouse"
    assert PASSWORD not in repr(warehouse)


@pytest.mark.parametrize("scheme", ["postgres", "postgresql+psycopg2", "POSTGRESQL+PSYCOPG2"])
def test_the_other_forms_reach_a_real_server(scheme, postgres_server, landed_master):
    from tests.conftest import new_postgres_database

    url = new_postgres_database(postgres_server)
    assert url.startswith("postgresql://")
    day = date(2013, 1, 3)
    warehouse = open_warehouse(scheme + url[len("postgresql"):])
    counts = warehouse.replace_partition(day, day_tables(landed_master, day))
    assert counts["flights"] == len(flights_on(day))
    assert set(counts) == set(DAILY_TABLES)
    assert warehouse.loaded_days(day, day) == [day]


REFUSED = {
    f"redis://:{PASSWORD}@127.0.0.1:6379/0": "has the scheme redis://",
    f"mysql://flights:{PASSWORD}@db.example/warehouse": "has the scheme mysql://",
    f"S3://bucket/{PASSWORD}/warehouse.duckdb": "has the scheme s3://",
    f"postgresql+asyncpg://flights:{PASSWORD}@db.example/warehouse": "connects with psycopg2",
    f"my db://flights:{PASSWORD}@db.example/warehouse": "has a '://'",
    f"flights:{PASSWORD}@db.example/warehouse": "a URL without its scheme",
    ":memory:": "':memory:'",
    "md:warehouse": "DuckDB does not open as a file",
    "  ": "is empty",
    "~no_such_user_here_x/warehouse.duckdb": "cannot expand ~no_such_user_here_x: no such user",
    f"host=127.0.0.1 user=flights password={PASSWORD} dbname=warehouse": "looks like a PostgreSQL connection string",
    f"//flights:{PASSWORD}@db.example/warehouse": "looks like a PostgreSQL connection string",
}


@pytest.mark.parametrize("location", REFUSED)
def test_other_locations_are_refused_in_one_line_without_the_password(location, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WarehouseError) as refused:
        open_warehouse(location)
    message = str(refused.value)
    assert REFUSED[location] in message, message
    assert PASSWORD not in message and "\n" not in message
    assert os.listdir(tmp_path) == []  # never a file or directory made of the URL


def test_a_duckdb_path_with_tilde_is_expanded(tmp_path, monkeypatch, landed_master):
    monkeypatch.setenv("HOME", str(tmp_path))
    warehouse = open_warehouse("~/warehouses/w.duckdb")
    assert isinstance(warehouse, DuckDBWarehouse)
    assert warehouse.location == str(tmp_path / "warehouses" / "w.duckdb")
    day = date(2013, 1, 4)
    warehouse.replace_partition(day, day_tables(landed_master, day))
    assert os.listdir(tmp_path / "warehouses") == ["w.duckdb"]
    assert open_warehouse(str(tmp_path / "warehouses" / "w.duckdb")).loaded_days(day, day) == [day]


def test_the_landing_directory_comes_from_the_environment(tmp_path, monkeypatch):
    from dagster import build_init_resource_context

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", "~/landing")
    assert landing_resource(build_init_resource_context()).path == str(tmp_path / "landing")
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", f"redis://:{PASSWORD}@127.0.0.1:6379/0")
    with pytest.raises(ValueError) as refused:
        landing_resource(build_init_resource_context())
    assert str(refused.value) == "$FLIGHTS_LANDING_DIR is a URL (redis://127.0.0.1:6379/0), not a directory"


# libpq echoes a password it cannot decode, as written, and a password given in the query string.
ECHOED = {
    "postgresql://flights:S3%41cret%ZZ@127.0.0.1:{port}/warehouse": "S3%41cret%ZZ",
    "postgresql://flights@127.0.0.1:{port}/warehouse?password=S3cr%ZZet": "S3cr%ZZet",
    "postgresql://flights@127.0.0.1:{port}/warehouse?sslpassword=K3y%ZZ": "K3y%ZZ",
}


@pytest.mark.parametrize("url", ECHOED)
def test_a_password_the_driver_echoes_is_scrubbed_in_any_spelling(url):
    from tests.servers import free_port

    with pytest.raises(WarehouseError) as failed:
        open_warehouse(url.format(port=free_port())).loaded_days(date(2013, 1, 1), date(2013, 1, 2))
    message = str(failed.value)
    assert ECHOED[url] not in message and "***" in message, message
