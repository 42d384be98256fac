"""Fencing: a partition commits only for the run that still owns it, on both backends.

Real runs in a real instance (SQLite in a temp DAGSTER_HOME, or PostgreSQL with the pooled
storage), real warehouses; the rows a refused run tried to write never appear.
"""
import os
from datetime import date
from unittest import mock

import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, PipelineRunStatus, reconstructable

from flights_etl.backfill import dagster_internals as internals
from flights_etl.contract.paths import landing_file
from flights_etl.contract.schema import DATASETS
from flights_etl.contract.validation import read_landing_file
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.runs.fence import RunOwner
from flights_etl.transforms.daily_delays import summarize_daily_delays
from flights_etl.warehouse import Fenced, open_warehouse
from tests.backfill.cli_helpers import postgres_instance_env
from tests.helpers import daily_run_args, read_table
from tests.raw_data import flights_on

DAY = date(2013, 1, 12)


def _tables(landing_dir: str, drop_last: int = 0) -> dict:
    """The day's three tables as a run would load them, from the landing files (optionally fewer flights)."""
    flights = read_landing_file(landing_file(landing_dir, "flights", DAY), DATASETS["flights"], DAY)
    weather = read_landing_file(landing_file(landing_dir, "weather", DAY), DATASETS["weather"], DAY)
    if drop_last:
        flights = flights.iloc[:-drop_last]
    return {"flights": flights, "weather": weather, "daily_delays": summarize_daily_delays(flights, weather)}


def _created(instance: DagsterInstance, day: date = DAY):
    return internals.create_run_for_pipeline(instance, **daily_run_args(day.isoformat()))


def _started(instance: DagsterInstance, run):
    instance.report_dagster_event(
        DagsterEvent(event_type_value=DagsterEventType.PIPELINE_START.value, pipeline_name=run.pipeline_name),
        run_id=run.run_id,
    )
    return instance.get_run_by_id(run.run_id)


def _flights_loaded(location: str) -> int:
    return int(read_table(location, "SELECT count(*) AS n FROM flights WHERE partition_date = ?", [DAY])["n"][0])


def _committed_by(location: str) -> str:
    loads = open_warehouse(location).last_loads()
    return loads.set_index(loads["partition_key"].astype(str).str[:10])["run_id"][DAY.isoformat()]


def test_a_run_outranked_by_a_newer_commit_cannot_commit(instance, landing_dir, warehouse_location):
    """The frozen-worker case: the older run (842 rows read) reaches its commit after its retry (100
    rows fewer, re-landed) committed: refused, and the newer rows stay."""
    older = _started(instance, _created(instance))
    newer = _started(instance, _created(instance))
    warehouse = open_warehouse(warehouse_location)
    full = len(flights_on(DAY))
    warehouse.replace_partition(DAY, _tables(landing_dir, drop_last=100), owner=RunOwner(instance, newer))
    with pytest.raises(Fenced, match=f"a newer run of the partition \\({newer.run_id}\\) has committed it since"):
        warehouse.replace_partition(DAY, _tables(landing_dir), owner=RunOwner(instance, older))
    assert _flights_loaded(warehouse_location) == full - 100
    assert _committed_by(warehouse_location) == newer.run_id
    # the newer run may load again (idempotent re-load by the owner)
    warehouse.replace_partition(DAY, _tables(landing_dir), owner=RunOwner(instance, newer))
    assert _flights_loaded(warehouse_location) == full


def test_a_newer_commit_still_outranks_after_its_run_was_deleted(instance, landing_dir, warehouse_location):
    """Deleting the newer run (Dagit's Delete) must not let the older, stale run commit over its rows."""
    older = _started(instance, _created(instance))
    newer = _started(instance, _created(instance))
    warehouse = open_warehouse(warehouse_location)
    warehouse.replace_partition(DAY, _tables(landing_dir, drop_last=50), owner=RunOwner(instance, newer))
    instance.delete_run(newer.run_id)
    with pytest.raises(Fenced, match="a newer run of the partition"):
        warehouse.replace_partition(DAY, _tables(landing_dir), owner=RunOwner(instance, older))
    assert _flights_loaded(warehouse_location) == len(flights_on(DAY)) - 50


@pytest.mark.parametrize("ending", ["failed", "canceling", "canceled", "succeeded"])
def test_a_run_declared_dead_or_terminated_cannot_commit(instance, landing_dir, warehouse_location, ending):
    run = _started(instance, _created(instance))
    owner = RunOwner(instance, run)  # taken at resource init, while the run was alive
    warehouse = open_warehouse(warehouse_location)
    warehouse.replace_partition(DAY, _tables(landing_dir, drop_last=5), owner=owner)  # it loaded once, alive
    if ending == "failed":
        instance.report_run_failed(run, message="run monitoring: its worker stopped heartbeating")
    elif ending == "canceling":
        instance.report_run_canceling(run, message="terminate requested")
    elif ending == "canceled":
        instance.report_run_canceled(run, message="terminated")
    else:
        instance.report_dagster_event(
            DagsterEvent(event_type_value=DagsterEventType.PIPELINE_SUCCESS.value, pipeline_name=run.pipeline_name),
            run_id=run.run_id,
        )
    status = instance.get_run_by_id(run.run_id).status.value
    with pytest.raises(Fenced, match=f"the instance has the run {status}"):
        warehouse.replace_partition(DAY, _tables(landing_dir), owner=owner)
    assert _flights_loaded(warehouse_location) == len(flights_on(DAY)) - 5  # the transaction rolled back


def test_an_older_commit_or_another_instances_does_not_block_the_owner(instance, tmp_path, landing_dir, warehouse_location):
    for _ in range(4):  # the first instance's committing run gets a larger token than the wiped one's below
        _created(instance)
    first = _started(instance, _created(instance))
    open_warehouse(warehouse_location).replace_partition(DAY, _tables(landing_dir, drop_last=1), owner=RunOwner(instance, first))
    # A wiped instance: its tokens start again (this run's is 1), and the warehouse's last load names a
    # run it does not know, whose token is not comparable.
    other_home = tmp_path / "other_home"
    other_home.mkdir()
    with DagsterInstance.from_config(str(other_home)) as other:
        run = _started(other, _created(other))
        assert RunOwner(other, run).token < RunOwner(instance, first).token
        open_warehouse(warehouse_location).replace_partition(DAY, _tables(landing_dir), owner=RunOwner(other, run))
        assert _committed_by(warehouse_location) == run.run_id
    later = _started(instance, _created(instance))
    open_warehouse(warehouse_location).replace_partition(DAY, _tables(landing_dir), owner=RunOwner(instance, later))
    assert _flights_loaded(warehouse_location) == len(flights_on(DAY))
    assert _committed_by(warehouse_location) == later.run_id


def _rewrite_without_last_rows(landing_dir: str, rows: int) -> bytes:
    """Re-land the day's flights file without its last ``rows`` rows; return the original bytes."""
    path = landing_file(landing_dir, "flights", DAY)
    with open(path, "rb") as handle:
        original = handle.read()
    with open(path, "wb") as handle:
        handle.writelines(original.splitlines(keepends=True)[:-rows])
    return original


def test_a_real_run_superseded_before_its_load_fails_clearly_and_writes_nothing(instance, landing_dir, warehouse_location):
    """Through the pipeline and its warehouse resource: the older run reaches its load after a newer
    run of the day loaded it from other bytes; its load step fails with the fencing message and the
    newer rows stay."""
    with mock.patch.dict(os.environ, {"FLIGHTS_WAREHOUSE": warehouse_location, "FLIGHTS_LANDING_DIR": landing_dir}):
        older = _created(instance)
        newer = _created(instance)
        recon = reconstructable(flights_daily_pipeline)
        original = _rewrite_without_last_rows(landing_dir, 10)
        assert internals.execute_run(recon, newer, instance).success
        with open(landing_file(landing_dir, "flights", DAY), "wb") as handle:
            handle.write(original)  # the older run reads other bytes than the newer run committed
        result = internals.execute_run(recon, instance.get_run_by_id(older.run_id), instance)
    assert not result.success
    failures = [event for event in result.event_list if event.event_type_value == "STEP_FAILURE"]
    assert [event.step_key for event in failures] == ["load_partition"]
    error = failures[0].event_specific_data.error
    assert f"a newer run of the partition ({newer.run_id}) has committed it since, from other files" in (
        error.message + (error.cause.message if error.cause else ""))
    assert instance.get_run_by_id(older.run_id).status == PipelineRunStatus.FAILURE
    assert _flights_loaded(warehouse_location) == len(flights_on(DAY)) - 10
    assert _committed_by(warehouse_location) == newer.run_id


def test_an_older_run_of_the_same_files_succeeds_without_writing(instance, landing_dir, warehouse_location):
    """Overlapping backfills of unchanged files: the older run's write would change nothing, so it is
    dropped and the run succeeds; the partition stays the newer run's."""
    with mock.patch.dict(os.environ, {"FLIGHTS_WAREHOUSE": warehouse_location, "FLIGHTS_LANDING_DIR": landing_dir}):
        older = _created(instance)
        newer = _created(instance)
        recon = reconstructable(flights_daily_pipeline)
        assert internals.execute_run(recon, newer, instance).success
        assert internals.execute_run(recon, instance.get_run_by_id(older.run_id), instance).success
    assert _flights_loaded(warehouse_location) == len(flights_on(DAY))
    assert _committed_by(warehouse_location) == newer.run_id
    assert open_warehouse(warehouse_location).last_loads()["source"].notna().all()


def test_an_ended_run_is_never_brought_back_to_life_on_the_pooled_postgres_instance(
        tmp_path, landing_dir, warehouse_path, postgres_server):
    env = postgres_instance_env(tmp_path, landing_dir, warehouse_path, postgres_server)
    with mock.patch.dict(os.environ, env), DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PooledPostgresRunStorage"
        run = _started(instance, _created(instance))
        instance.report_run_failed(run, message="run monitoring: its worker stopped heartbeating")
        # the frozen worker resumes and reports its end
        instance.report_dagster_event(
            DagsterEvent(event_type_value=DagsterEventType.PIPELINE_SUCCESS.value, pipeline_name=run.pipeline_name),
            run_id=run.run_id,
        )
        assert instance.get_run_by_id(run.run_id).status == PipelineRunStatus.FAILURE
        kinds = [record.dagster_event.event_type_value for record in instance.all_logs(run.run_id)
                 if record.dagster_event is not None]
        assert kinds[-2:] == ["PIPELINE_FAILURE", "PIPELINE_SUCCESS"]  # kept in its log, for the record
