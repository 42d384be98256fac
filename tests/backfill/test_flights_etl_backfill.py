"""`flights-etl backfill`: real runs in a temp instance, tags, --only from real run records, exit codes."""
import os
import re
import shutil
from datetime import date

import pytest
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from tests.backfill.cli_helpers import flights_etl, instance_env
from tests.helpers import read_table
from tests.raw_data import flights_on

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
BAD_DAY = "2013-01-03"


@pytest.fixture
def env(tmp_path, landing_dir, warehouse_path):
    return instance_env(tmp_path, landing_dir, warehouse_path)


def _runs(env):
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        return instance.get_runs(filters=RunsFilter(pipeline_name="flights_daily_pipeline"))


def _flights_per_day(warehouse_path):
    frame = read_table(
        warehouse_path,
        "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n FROM flights GROUP BY 1 ORDER BY 1",
    )
    return dict(zip(frame.day, frame.n))


def _break(landing_dir, day):
    path = os.path.join(landing_dir, "flights", f"{day}.csv")
    with open(path) as handle:
        lines = handle.readlines()
    lines[4] = lines[4].replace(",", ",x", 1)  # 'month' column of line 5 becomes non-numeric
    with open(path, "w") as handle:
        handle.writelines(lines)
    return path


def test_backfill_records_tagged_runs_and_loads_the_days(env, warehouse_path):
    result = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-04", "--max-concurrent", "2")
    assert result.returncode == 0, result.stdout + result.stderr

    runs = _runs(env)
    assert sorted(run.tags["dagster/partition"] for run in runs) == [f"2013-01-0{d}" for d in range(1, 5)]
    assert {run.tags["dagster/partition_set"] for run in runs} == {"flights_daily_partition_set"}
    assert len({run.tags["dagster/backfill"] for run in runs}) == 1
    assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
    assert {run.mode for run in runs} == {"local"}
    assert all(run.external_pipeline_origin is not None for run in runs)  # Dagit can re-execute them

    expected = {f"2013-01-0{d}": len(flights_on(date(2013, 1, d))) for d in range(1, 5)}
    assert _flights_per_day(warehouse_path) == expected
    # off a terminal: one plain progress line per partition, then the summary
    assert "[4/4]" in result.stderr and "\r" not in result.stderr
    assert re.search(r"^SUCCESS\s+4$", result.stdout, re.M)


def test_failed_partition_exits_nonzero_others_load_and_only_failed_reruns_it(env, landing_dir, landed_master, warehouse_path):
    bad_path = _break(landing_dir, BAD_DAY)
    first = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-05")
    assert first.returncode == 1
    assert re.search(rf"^{BAD_DAY}\s+FAILURE\s", first.stdout, re.M)
    assert f"read_flights: {bad_path}, line 5, column 'month'" in first.stdout
    loaded = _flights_per_day(warehouse_path)
    assert BAD_DAY not in loaded and len(loaded) == 4

    dry = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-07", "--only", "failed", "--dry-run")
    assert dry.returncode == 0
    assert dry.stdout.strip().splitlines()[1:] == [BAD_DAY]
    missing = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-07", "--only", "missing,failed", "--dry-run")
    assert missing.stdout.strip().splitlines()[1:] == [BAD_DAY, "2013-01-06", "2013-01-07"]

    shutil.copy(os.path.join(landed_master, "flights", f"{BAD_DAY}.csv"), bad_path)
    runs_before = {run.run_id for run in _runs(env)}
    rerun = flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-07", "--only", "failed")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    new_runs = [run for run in _runs(env) if run.run_id not in runs_before]
    assert [run.tags["dagster/partition"] for run in new_runs] == [BAD_DAY]
    assert _flights_per_day(warehouse_path)[BAD_DAY] == len(flights_on(date(2013, 1, 3)))


def test_status_reports_latest_runs_missing_days_and_rows(env, landing_dir, warehouse_path):
    import json

    _break(landing_dir, BAD_DAY)
    flights_etl(env, "backfill", *SET, "--from", "2013-01-01", "--to", "2013-01-04")
    result = flights_etl(env, "status", *SET, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    # 63 days landed (tests/conftest.py): the 59 without a run are LANDED (not loaded), not MISSING
    assert document["counts"] == {"FAILURE": 1, "LANDED": 59, "MISSING": 302, "SUCCESS": 3}
    assert len(document["missing"]) == 302 and document["missing"][0] == "2013-03-01"
    by_name = {entry["partition"]: entry for entry in document["partitions"]}
    assert by_name["2013-01-02"]["rows"] == len(flights_on(date(2013, 1, 2)))
    assert by_name[BAD_DAY]["status"] == "FAILURE" and by_name[BAD_DAY]["rows"] is None
    assert by_name["2013-01-02"]["run_id"] and by_name["2013-01-02"]["end_time"].startswith("20")

    text = flights_etl(env, "status", *SET).stdout  # by default: the calendar and the counts
    assert "2013-01 ##x#" + "+" * 27 + "\n" in text
    assert "FAILURE: 1  LANDED: 59  MISSING: 302  SUCCESS: 3" in text
    assert "2013-01-02 " not in text and len(text.splitlines()) < 25

    listed = flights_etl(env, "status", *SET, "--from", "2013-01-01", "--to", "2013-01-06").stdout
    assert re.search(r"^2013-01-02\s+SUCCESS\s+\w{8}\s+\S+\s+943$", listed, re.M)
    assert re.search(r"^2013-01-06\s+LANDED\s*$", listed, re.M) and "2013-01-07" not in listed.split("legend")[0]
    # the counts of the range asked for, not of the year: its two days without a run have landed files
    assert "2013-01-01 .. 2013-01-06: FAILURE: 1  LANDED: 2  SUCCESS: 3\n" in listed and "302" not in listed
    assert "missing:" not in listed


def test_bad_requests_are_usage_errors(env):
    result = flights_etl(env, "backfill", *SET, "--from", "2013-01-05", "--to", "2013-01-01")
    assert result.returncode == 2 and "--to 2013-01-01 is before --from 2013-01-05" in result.stderr
    result = flights_etl(env, "backfill", "--partition-set", "nope", "--all")
    assert result.returncode == 2 and "known: flights_daily_partition_set, flights_monthly_partition_set" in result.stderr
    result = flights_etl(env, "backfill", *SET)
    assert result.returncode == 2 and "Give exactly one of" in result.stderr
    result = flights_etl(env, "backfill", *SET, "--partitions", "")
    assert result.returncode == 2 and "--partitions names no partition" in result.stderr
    result = flights_etl(env, "backfill", *SET, "--all", "--max-concurrent", "99999")
    assert result.returncode == 2 and f"--max-concurrent 99999 is more than {4 * os.cpu_count()} (4 per core)" in result.stderr
    gone = {**env, "DAGSTER_HOME": env["DAGSTER_HOME"] + "-missing"}
    result = flights_etl(gone, "status")
    assert result.returncode == 2 and f"DAGSTER_HOME={gone['DAGSTER_HOME']} is not a directory" in result.stderr


def test_summary_of_a_corrupt_warehouse_is_one_clear_line(env, tmp_path):
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"not a database" * 100)
    result = flights_etl(env, "summary", "--warehouse", str(corrupt))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot open the DuckDB warehouse {corrupt}: ")
