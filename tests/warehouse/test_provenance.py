"""Provenance: every load records the files it was built from (path, size, SHA-256, a weather gap as
such), in the warehouse with the data and in the run's materializations, on both backends.

Real in-process runs of the daily pipeline on a real instance; the expected facts are computed from
the files themselves.
"""
import hashlib
import os
from datetime import date

from dagster import AssetKey, DagsterEventType, EventRecordsFilter

from flights_etl.contract.fingerprints import files_digest
from flights_etl.warehouse import open_warehouse
from tests.conftest import GAP_DAY
from tests.helpers import run_daily

DAY = date(2013, 1, 12)


def _facts(path):
    with open(path, "rb") as handle:
        data = handle.read()
    return os.path.abspath(path), len(data), hashlib.sha256(data).hexdigest()


def _files_of(location, day):
    files = open_warehouse(location).loaded_files()
    rows = files[files["partition_key"].astype(str).str[:10] == day.isoformat()]
    return {row.dataset: row for row in rows.itertuples()}


def _materialized(instance, table, run_id):
    records = instance.get_event_records(EventRecordsFilter(
        event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(["warehouse", table])))
    [record] = [r for r in records if r.event_log_entry.run_id == run_id]
    materialization = record.event_log_entry.dagster_event.event_specific_data.materialization
    return {entry.label: entry.entry_data for entry in materialization.metadata_entries}


def test_a_load_records_its_files_and_a_reload_replaces_them(instance, landing_dir, warehouse_location, resources_config):
    flights_path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
    weather_path = os.path.join(landing_dir, "weather", f"{DAY}.csv")
    first = run_daily(DAY.isoformat(), resources_config, instance)
    assert first.success
    files = _files_of(warehouse_location, DAY)
    for dataset, path in (("flights", flights_path), ("weather", weather_path)):
        assert (files[dataset].path, files[dataset].size, files[dataset].sha256) == _facts(path)
        assert files[dataset].gap is None
    loads = open_warehouse(warehouse_location).last_loads()
    assert loads["source"].tolist() == [files_digest([_facts(flights_path)[2], _facts(weather_path)[2]])]
    # read without a frame (status, the landing sensor): the same digest, by partition name
    assert open_warehouse(warehouse_location).last_sources() == {DAY.isoformat(): loads["source"][0]}
    metadata = _materialized(instance, "flights", first.run_id)
    assert metadata["source_sha256"].text == _facts(flights_path)[2]
    assert metadata["source_file"].path == _facts(flights_path)[0]
    assert _materialized(instance, "weather", first.run_id)["source_size"].value == _facts(weather_path)[1]

    with open(flights_path) as handle:  # re-landed with 100 flights fewer, reloaded
        lines = handle.readlines()
    with open(flights_path, "w") as handle:
        handle.writelines(lines[:-100])
    assert run_daily(DAY.isoformat(), resources_config, instance).success
    files = _files_of(warehouse_location, DAY)
    assert sorted(files) == ["flights", "weather"] and files["flights"].sha256 == _facts(flights_path)[2]
    assert files["flights"].size == _facts(flights_path)[1]


def test_a_weather_gap_is_recorded_as_such(instance, landing_dir, warehouse_location, resources_config):
    result = run_daily(GAP_DAY.isoformat(), resources_config, instance)
    assert result.success
    files = _files_of(warehouse_location, GAP_DAY)
    assert files["weather"].gap == "is missing" and files["weather"].sha256 is None
    assert files["weather"].path == os.path.abspath(os.path.join(landing_dir, "weather", f"{GAP_DAY}.csv"))
    assert files["flights"].sha256 == _facts(os.path.join(landing_dir, "flights", f"{GAP_DAY}.csv"))[2]
    assert _materialized(instance, "weather", result.run_id)["source_gap"].text == "is missing"
