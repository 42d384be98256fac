"""`status` reads the rows of each partition's latest run only, and gets what the full history says."""
import os

from dagster import AssetKey, DagsterEventType, EventRecordsFilter, reconstructable

from flights_etl import dagster_private as private
from flights_etl.backfill.status import partition_statuses
from flights_etl.instance.materializations import materializations_of_runs, metadata_value_of_runs
from flights_etl.partitions import flights_daily_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.runs import creation
from tests.helpers import daily_run_args


def _run(instance, day):
    run = creation.create_run_for_pipeline(instance, **daily_run_args(day))
    assert private.execute_run(reconstructable(flights_daily_pipeline), run, instance).success
    return run.run_id


def _drop_last_rows(path, rows):
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        handle.writelines(lines[:-rows])
    return len(lines) - 1 - rows


def test_rows_are_those_of_each_partitions_latest_run(instance, landing_dir, warehouse_path, monkeypatch):
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing_dir)
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse_path)
    first = _run(instance, "2013-01-02")
    kept = _drop_last_rows(os.path.join(landing_dir, "flights", "2013-01-02.csv"), 100)  # re-landed, 100 rows fewer
    second = _run(instance, "2013-01-02")
    other = _run(instance, "2013-01-03")

    key = AssetKey(["warehouse", "flights"])
    found = materializations_of_runs(instance, key, [second, other, "no-such-run"])
    assert sorted(found) == sorted([second, other])
    everything = instance.get_event_records(EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=key))
    by_run = {record.event_log_entry.run_id: record.event_log_entry for record in everything}
    assert set(by_run) == {first, second, other}
    for run_id in (second, other):  # the same events the full read gives
        assert [entry.dagster_event for entry in found[run_id]] == [by_run[run_id].dagster_event]
    # Each label's value as the whole deserialized event has it: numbers and flags read from the stored
    # JSON, a markdown preview and a path through deserialization.
    for table in ("flights", "weather", "daily_delays"):
        table_key = AssetKey(["warehouse", table])
        entries = materializations_of_runs(instance, table_key, [first, second, other])
        labels = {entry.label for entry in entries[second][-1].dagster_event.event_specific_data.materialization.metadata_entries}
        assert {"rows", "preview"} <= labels
        for label in labels | {"no-such-label"}:
            expected = {
                run_id: metadata.entry_data.value for run_id, found_entries in entries.items()
                for metadata in found_entries[-1].dagster_event.event_specific_data.materialization.metadata_entries
                if metadata.label == label
            }
            assert metadata_value_of_runs(instance, table_key, [first, second, other, "no-such-run"], label) == expected

    statuses = {s.partition: s for s in partition_statuses(instance, flights_daily_partition_set)}
    assert (statuses["2013-01-02"].run_id, statuses["2013-01-02"].rows) == (second, kept)
    with open(os.path.join(landing_dir, "flights", "2013-01-03.csv")) as handle:
        assert (statuses["2013-01-03"].run_id, statuses["2013-01-03"].rows) == (other, sum(1 for _ in handle) - 1)
    assert statuses["2013-01-04"].status == "MISSING" and statuses["2013-01-04"].rows is None
