"""Every bad input fails its partition's run with a message naming the file (line, column), and loses nothing."""
import os
import shutil
from datetime import date

import pytest

from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from tests.helpers import (
    assert_same_snapshot,
    execute_sql,
    failure_message,
    read_table,
    run_daily,
    run_with_run_config,
    snapshot,
)
from tests.raw_data import flights_on

DAY = "2013-01-10"


def _rewrite_line(path, line_number, transform):
    with open(path) as handle:
        lines = handle.readlines()
    lines[line_number - 1] = transform(lines[line_number - 1])
    with open(path, "w") as handle:
        handle.writelines(lines)


def _set_field(path, line_number, column_index, value):
    def change(line):
        fields = line.rstrip("\n").split(",")
        fields[column_index] = value
        return ",".join(fields) + "\n"

    _rewrite_line(path, line_number, change)


def _break_missing_file(path):
    os.remove(path)


def _break_empty_file(path):
    open(path, "w").close()


def _break_missing_column(path):
    # drop the dep_delay column (index 5) from every line
    with open(path) as handle:
        lines = [line.rstrip("\n").split(",") for line in handle]
    with open(path, "w") as handle:
        handle.writelines(",".join(fields[:5] + fields[6:]) + "\n" for fields in lines)


def _break_extra_column(path):
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        handle.write(lines[0].rstrip("\n") + ",gate\n")
        handle.writelines(line.rstrip("\n") + ",A1\n" for line in lines[1:])


def _break_renamed_column(path):
    _rewrite_line(path, 1, lambda header: header.replace("dep_delay", "departure_delay"))


def _break_non_numeric(path):
    _set_field(path, 7, 5, "late")  # dep_delay on line 7


def _break_wrong_date(path):
    _set_field(path, 12, 2, "11")  # day column on line 12


BAD_INPUTS = {
    "missing file": (_break_missing_file, ["flights/2013-01-10.csv", "not found"]),
    "empty file": (_break_empty_file, ["flights/2013-01-10.csv", "is empty"]),
    "missing column": (_break_missing_column, ["line 1", "missing columns ['dep_delay']"]),
    "extra column": (_break_extra_column, ["line 1", "unexpected columns ['gate']"]),
    "renamed column": (
        _break_renamed_column,
        ["line 1", "missing columns ['dep_delay']", "unexpected columns ['departure_delay']"],
    ),
    "non-numeric value": (_break_non_numeric, ["line 7", "column 'dep_delay'", "'late' is not a number"]),
    "row of another date": (
        _break_wrong_date,
        ["line 12", "row date 2013-01-11", "not the partition date 2013-01-10"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_flights_file_fails_clearly_keeps_rows_and_loads_once_fixed(
    case, landing_dir, landed_master, resources_config, instance, warehouse_location
):
    break_file, expected_phrases = BAD_INPUTS[case]
    assert run_daily(DAY, resources_config, instance).success
    assert run_daily("2013-01-09", resources_config, instance).success
    before = snapshot(warehouse_location)

    path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
    break_file(path)
    result = run_daily(DAY, resources_config, instance)

    assert not result.success
    message = failure_message(result)
    assert path in message
    for phrase in expected_phrases:
        assert phrase in message, message
    failed_steps = [e.step_key for e in result.event_list if e.event_type_value == "STEP_FAILURE"]
    assert failed_steps == ["read_flights"]
    assert_same_snapshot(before, snapshot(warehouse_location))

    shutil.copy(os.path.join(landed_master, "flights", f"{DAY}.csv"), path)
    assert run_daily(DAY, resources_config, instance).success
    assert_same_snapshot(before, snapshot(warehouse_location))


def test_bad_weather_file_fails_naming_line_and_column(landing_dir, resources_config, instance, warehouse_location):
    path = os.path.join(landing_dir, "weather", f"{DAY}.csv")
    _set_field(path, 4, 11, "heavy")  # precip
    result = run_daily(DAY, resources_config, instance)
    assert not result.success
    message = failure_message(result)
    assert path in message and "line 4" in message and "column 'precip'" in message


@pytest.mark.duckdb_only
@pytest.mark.parametrize("text", ["2013-02-30", "2013-W10-1", "20130301", "2013-3-1"])
def test_a_date_that_is_not_a_date_is_a_config_error(text, resources_config, instance, warehouse_location):
    run_config = {"resources": {"daily_partition": {"config": {"date": text}}}}
    result = run_with_run_config(flights_daily_pipeline, run_config, resources_config, instance)
    assert not result.success
    message = failure_message(result)
    assert "Invalid run config at resources.daily_partition.config.date" in message
    assert f"{text!r} is not a real date in YYYY-MM-DD form" in message
    assert snapshot(warehouse_location) == {}  # nothing written, not even a table


@pytest.mark.duckdb_only
def test_a_landing_directory_that_does_not_exist(resources_config, instance, tmp_path, warehouse_location, monkeypatch):
    assert run_daily(DAY, resources_config, instance).success
    before = snapshot(warehouse_location)
    gone = str(tmp_path / "no-such-landing")
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", gone)
    result = run_daily(DAY, resources_config, instance)
    assert not result.success
    message = failure_message(result)
    assert f"the landing directory {gone} does not exist" in message
    assert_same_snapshot(before, snapshot(warehouse_location))


def test_failed_load_inside_the_transaction_keeps_the_previous_rows(resources_config, instance, warehouse_location):
    """A failure after the deletes (the weather insert breaks a NOT NULL column) rolls everything back."""
    assert run_daily(DAY, resources_config, instance).success
    execute_sql(
        warehouse_location,
        "ALTER TABLE weather ADD COLUMN must_be_set VARCHAR DEFAULT 'x'",
        "ALTER TABLE weather ALTER COLUMN must_be_set SET NOT NULL",
        "ALTER TABLE weather ALTER COLUMN must_be_set DROP DEFAULT",
    )
    before = snapshot(warehouse_location)

    result = run_daily(DAY, resources_config, instance)

    assert not result.success
    failed_steps = [e.step_key for e in result.event_list if e.event_type_value == "STEP_FAILURE"]
    assert failed_steps == ["load_partition"]
    assert "must_be_set" in failure_message(result)
    assert_same_snapshot(before, snapshot(warehouse_location))
    assert read_table(warehouse_location, "SELECT count(*) AS n FROM flights").n[0] == len(flights_on(date(2013, 1, 10)))


@pytest.mark.duckdb_only
def test_a_symlink_out_of_the_landing_dir_is_refused_and_never_echoed(landing_dir, resources_config, instance, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
    os.remove(path)
    os.symlink(secret, path)
    result = run_daily(DAY, resources_config, instance)
    assert not result.success
    assert "is a symbolic link: a landing file must be a regular file inside the landing directory" in failure_message(result)
    logged = " ".join(str(record.message) + str(record.dagster_event) for record in instance.all_logs(result.run_id))
    assert "root:x" not in logged and "/bin/bash" not in logged


@pytest.mark.duckdb_only
def test_a_day_file_holding_another_day_fails_before_anything_is_written(landing_dir, resources_config, instance, warehouse_location):
    """What a Launchpad edit could not do (the day is given once) a misplaced file cannot do either."""
    assert run_daily("2013-01-09", resources_config, instance).success
    before = snapshot(warehouse_location)
    shutil.copy(os.path.join(landing_dir, "flights", "2013-01-09.csv"), os.path.join(landing_dir, "flights", f"{DAY}.csv"))
    result = run_daily(DAY, resources_config, instance)
    assert not result.success
    assert "is not the partition date 2013-01-10" in failure_message(result)
    assert_same_snapshot(before, snapshot(warehouse_location))
