"""A run launched without partition tags (stock `dagster pipeline execute -c day.yaml`, a Launchpad run
without a partition) loads its config's day: it is tagged as that day's run before any step, so
`status` and the monthly report count it as the day's latest run instead of an older tagged one."""
import json
import os
import subprocess
from datetime import date

import pandas as pd
import pytest
from dagster import DagsterInstance

from tests.backfill.cli_helpers import BIN, flights_etl, instance_env
from tests.helpers import read_table

pytestmark = pytest.mark.slow

DAY = "2013-01-15"


def test_an_untagged_run_of_a_day_becomes_its_latest_run(tmp_path, landing_dir):
    env = instance_env(tmp_path, landing_dir, str(tmp_path / "warehouse.duckdb"))
    first = flights_etl(env, "backfill", "--partition-set", "flights_daily_partition_set", "--partitions", DAY)
    assert first.returncode == 0, first.stdout + first.stderr
    path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:  # a corrected file, 100 rows fewer
        handle.writelines(lines[:-100])
    corrected = len(pd.read_csv(path))
    (tmp_path / "day.yaml").write_text(f'resources:\n  daily_partition:\n    config:\n      date: "{DAY}"\n')
    done = subprocess.run(
        [os.path.join(BIN, "dagster"), "pipeline", "execute", "--package-name", "flights_etl.repository",
         "-r", "flights_etl", "-p", "flights_daily_pipeline", "--mode", "local", "-c", str(tmp_path / "day.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = read_table(env["FLIGHTS_WAREHOUSE"], "SELECT count(*) AS n FROM flights WHERE partition_date = ?",
                        [date.fromisoformat(DAY)])
    assert loaded["n"][0] == corrected
    status = flights_etl(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    [entry] = [p for p in json.loads(status.stdout)["partitions"] if p["partition"] == DAY]
    assert (entry["status"], entry["rows"]) == ("SUCCESS", corrected), entry
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        runs = instance.get_runs()
    untagged_at_launch = [run for run in runs if run.tags.get("dagster/backfill") is None]
    assert [run.run_id for run in untagged_at_launch] == [entry["run_id"]]
    assert untagged_at_launch[0].tags["dagster/partition_set"] == "flights_daily_partition_set"
