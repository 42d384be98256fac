"""Run the project's command lines as a user would, against a temp instance and warehouse."""
import os
import subprocess
import sys

from dagster import DagsterInstance

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def flights_etl(env, *args, timeout=600):
    return subprocess.run(
        [os.path.join(BIN, "flights-etl"), *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def start_flights_etl(env, *args):
    return subprocess.Popen(
        [os.path.join(BIN, "flights-etl"), *args],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _stock_backfill_command(start, end):
    return [
        os.path.join(BIN, "dagster"), "pipeline", "backfill", "-w", "workspace.yaml",
        "-p", "flights_daily_pipeline", "--partition-set", "flights_daily_partition_set",
        "--from", start, "--to", end, "--noprompt",
    ]


def start_stock_backfill(env, start, end):
    return subprocess.Popen(
        _stock_backfill_command(start, end),
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stock_backfill(env, start, end) -> subprocess.CompletedProcess:
    """`dagster pipeline backfill` as a user runs it, then `flights-etl status --wait`: the stock
    command can return before its last runs finish."""
    result = subprocess.run(
        _stock_backfill_command(start, end), cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode == 0:
        waited = flights_etl(env, "status", "--wait", "--no-list", timeout=660)
        assert waited.returncode == 0, waited.stderr
    return result


SHIPPED_YAML = os.path.join(PROJECT_ROOT, ".dagster_home", "dagster.yaml")  # what `make run` uses


def instance_env(tmp_path, landing_dir, warehouse_path, dagster_yaml=None,
                 home_name="dagster_home"):
    home = tmp_path / home_name
    home.mkdir()
    if dagster_yaml is None:
        with open(SHIPPED_YAML) as handle:
            dagster_yaml = handle.read()
    (home / "dagster.yaml").write_text(dagster_yaml)
    # Create the instance's SQLite storage once: Dagster 0.15's first-time schema setup races
    # when several processes initialize a brand-new DAGSTER_HOME at the same moment.
    with DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FLIGHTS_LANDING_DIR": landing_dir,
        "FLIGHTS_WAREHOUSE": warehouse_path,
    }


def postgres_instance_env(tmp_path, landing_dir, warehouse, postgres_server):
    """``instance_env`` with the instance on PostgreSQL: deploy/postgres/dagster.yaml and a new database."""
    from unittest import mock

    from tests.conftest import new_postgres_database

    pg_url = new_postgres_database(postgres_server)
    with open(os.path.join(PROJECT_ROOT, "deploy", "postgres", "dagster.yaml")) as handle:
        dagster_yaml = handle.read()
    with mock.patch.dict(os.environ, {"DAGSTER_PG_URL": pg_url}):
        env = instance_env(tmp_path, landing_dir, warehouse, dagster_yaml=dagster_yaml, home_name="dagster_home_pg")
    return {**env, "DAGSTER_PG_URL": pg_url}
