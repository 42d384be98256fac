"""Loading the repository does not import pandas or Arrow (steps do, when they run): `status`, Dagit,
the daemon and sensor ticks skip ~0.25 s of imports. A backfill's parent imports them before it
forks its workers, which then share them."""
import json
import os
import subprocess
import sys

from dagster import reconstructable

from flights_etl import dagster_private as private
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.runs import creation
from tests.backfill.cli_helpers import PROJECT_ROOT
from tests.helpers import daily_run_args

STEP_ONLY = ("pandas", "numpy", "pyarrow")


def _loaded_after(code: str, env=None) -> dict:
    """Which of ``STEP_ONLY`` a fresh interpreter has imported after running ``code``."""
    probe = code + f"\nimport json, sys\nprint(json.dumps({{name: name in sys.modules for name in {STEP_ONLY!r}}}))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_repository_imports_no_step_library():
    load = ("from flights_etl.repository import flights_etl, flights_etl_prod\n"
            "flights_etl.load_all_definitions()\nflights_etl_prod.load_all_definitions()")
    assert _loaded_after(load) == dict.fromkeys(STEP_ONLY, False)


def test_status_of_a_loaded_day_imports_no_step_library(instance, landing_dir, warehouse_path, monkeypatch):
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing_dir)
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse_path)
    run = creation.create_run_for_pipeline(instance, **daily_run_args("2013-01-02"))
    assert private.execute_run(reconstructable(flights_daily_pipeline), run, instance).success
    env = {**os.environ, "DAGSTER_HOME": instance.root_directory}
    status = ("from flights_etl.cli import main\n"
              "main(['status', '--from', '2013-01-01', '--to', '2013-01-03'], standalone_mode=False)")
    assert _loaded_after(status, env) == dict.fromkeys(STEP_ONLY, False)
    # and it read what it shows: the day's run, its rows and its files against the warehouse
    shown = subprocess.run([sys.executable, "-c", status], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    with open(os.path.join(landing_dir, "flights", "2013-01-02.csv")) as handle:
        rows = sum(1 for _ in handle) - 1
    line = next(line for line in shown.stdout.splitlines() if line.startswith("2013-01-02"))
    assert line.split()[1:3] == ["SUCCESS", run.run_id[:8]] and line.split()[-1] == str(rows)
    # the loaded day matches its files (the source digest read from the warehouse), the others only landed
    assert "2013-01-01 .. 2013-01-03: LANDED: 2  SUCCESS: 1" in shown.stdout


def test_a_backfill_parent_imports_the_step_code_before_it_forks():
    imported = _loaded_after(
        "import sys\nfrom flights_etl.runs.many_runs import import_step_code\nimport_step_code()\n"
        "assert {'flights_etl.transforms.daily_delays', 'flights_etl.transforms.monthly_report',"
        " 'flights_etl.contract.validation', 'pyarrow.parquet'} <= set(sys.modules)"
    )
    assert imported == dict.fromkeys(STEP_ONLY, True)


def test_a_fleet_worker_imports_the_step_code_before_celery_forks_its_pool():
    # Celery forks its pool processes inside worker_main: the step code must be imported by then.
    at_fork = _loaded_after(
        "import json, sys\nfrom flights_etl.fleet import worker\n"
        "class App:\n"
        "    def worker_main(self, argv):\n"
        "        print(json.dumps({name: name in sys.modules for name in ('pandas', 'pyarrow')}))\n"
        "        sys.exit(0)\n"
        "worker.worker_app = lambda broker, hostname: App()\n"
        "worker.run_worker('redis://127.0.0.1:1/0', 'flights', 2, 'w1')"
    )
    assert at_fork == {"pandas": True, "pyarrow": True}


def test_a_frame_output_of_another_type_fails_its_step_naming_the_type():
    from dagster import OutputDefinition, execute_pipeline, pipeline, solid

    from flights_etl.solids.types import DataFrame

    @solid(output_defs=[OutputDefinition(DataFrame)])
    def not_a_frame(_context):
        return {"rows": 1}

    @pipeline
    def wrong_type():
        not_a_frame()

    result = execute_pipeline(wrong_type, raise_on_error=False)
    failure = next(event for event in result.event_list if event.event_type_value == "STEP_FAILURE")
    assert 'expected type "DataFrame". Description: Value of type dict is not a pandas DataFrame.' in \
        failure.event_specific_data.error.message
