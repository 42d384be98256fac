"""A backfill's runs made from one shared plan are the runs Dagster's own create_run_for_pipeline makes."""
import uuid

from dagster import (
    AssetKey,
    DagsterEventType,
    EventRecordsFilter,
    ModeDefinition,
    fs_io_manager,
    in_process_executor,
    multiprocess_executor,
    pipeline,
    reconstructable,
    solid,
)

from flights_etl import dagster_private as private
from flights_etl.partitions import flights_daily_partition_set, flights_monthly_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline
from flights_etl.runs import creation

ORIGIN = reconstructable(flights_daily_pipeline).get_python_origin()


def _config(partition_set, name):
    return partition_set.run_config_for_partition(partition_set.get_partition(name))


def _made(instance, maker, partition_set, name):
    tags = {**partition_set.tags_for_partition(partition_set.get_partition(name)), "extra": "tag"}
    return maker.create(str(uuid.uuid4()), _config(partition_set, name), tags, pipeline_code_origin=ORIGIN)


def _record(instance, run):
    """Everything a run record and its stored events say, but its id and times."""
    stored = instance.get_run_by_id(run.run_id)
    events = [
        (event.dagster_event_type, event.dagster_event.asset_key, event.message, event.level, event.step_key)
        for event in instance.all_logs(run.run_id)
    ]
    return stored._replace(run_id="-", run_config={}, tags={}), events


def test_runs_from_the_shared_plan_equal_dagsters_own(instance, landing_dir, warehouse_path, monkeypatch):
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing_dir)
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse_path)
    maker = creation.RunMaker(instance, flights_daily_pipeline, flights_daily_partition_set.mode)
    assert maker.plans_agree(_config(flights_daily_partition_set, "2013-01-01"),
                             _config(flights_daily_partition_set, "2013-12-31"))
    first = _made(instance, maker, flights_daily_partition_set, "2013-01-01")  # Dagster's own path
    second = _made(instance, maker, flights_daily_partition_set, "2013-01-02")  # the shared plan
    stock = creation.create_run_for_pipeline(
        instance, pipeline_def=flights_daily_pipeline, run_id=str(uuid.uuid4()),
        run_config=_config(flights_daily_partition_set, "2013-01-03"), mode=flights_daily_partition_set.mode,
        tags=flights_daily_partition_set.tags_for_partition(flights_daily_partition_set.get_partition("2013-01-03")),
        pipeline_code_origin=ORIGIN,
    )
    assert _record(instance, second) == _record(instance, first) == _record(instance, stock)
    planned = [event for event in _record(instance, second)[1]]
    assert [event[0] for event in planned] == [DagsterEventType.ASSET_MATERIALIZATION_PLANNED] * 3
    assert second.run_config == _config(flights_daily_partition_set, "2013-01-02")
    assert instance.get_run_by_id(second.run_id).tags["dagster/partition"] == "2013-01-02"
    assert instance.get_run_by_id(second.run_id).tags["extra"] == "tag"
    # Dagit's asset pages count the planned materializations per asset, across runs
    records = instance.get_event_records(private_planned_filter())
    assert sum(1 for record in records if record.event_log_entry.run_id == second.run_id) == 3

    result = private.execute_run(reconstructable(flights_daily_pipeline), instance.get_run_by_id(second.run_id), instance)
    assert result.success
    loads = instance.get_event_records(EventRecordsFilter(
        event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(["warehouse", "flights"])))
    assert [(record.event_log_entry.run_id, record.event_log_entry.dagster_event.partition) for record in loads] == [
        (second.run_id, "2013-01-02")]


def private_planned_filter():
    return EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED)


def test_the_monthly_pipelines_plan_is_shared_too(instance):
    maker = creation.RunMaker(instance, flights_monthly_pipeline, flights_monthly_partition_set.mode)
    assert maker.plans_agree(_config(flights_monthly_partition_set, "2013-01"), _config(flights_monthly_partition_set, "2013-12"))
    runs = [_made(instance, maker, flights_monthly_partition_set, month) for month in ("2013-01", "2013-02")]
    assert _record(instance, runs[0]) == _record(instance, runs[1])


@solid
def _noop(_context):
    return 1


@pipeline(mode_defs=[ModeDefinition(resource_defs={"io_manager": fs_io_manager},
                                    executor_defs=[in_process_executor, multiprocess_executor])])
def _executor_by_config():
    _noop()


def test_plans_that_differ_by_config_make_every_run_the_stock_way(instance):
    in_process, multiprocess = {"execution": {"in_process": {}}}, {"execution": {"multiprocess": {}}}
    maker = creation.RunMaker(instance, _executor_by_config, "default")
    assert not maker.plans_agree(in_process, multiprocess)
    runs = [maker.create(str(uuid.uuid4()), config, {}) for config in (in_process, multiprocess)]
    plans = [instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) for run in runs]
    assert [plan.executor_name for plan in plans] == ["in_process", "multiprocess"]
