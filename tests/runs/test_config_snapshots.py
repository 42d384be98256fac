"""Config schema snapshots built once per type: the same resolved configs and the same errors as Dagster's."""
from datetime import date

import pytest
from dagster import DagsterInvalidConfigError, Field, Shape, validate_run_config

from flights_etl.dagster_private import ConfigSchemaSnapshot, config_traversal_context, config_validate
from flights_etl.partitions import flights_daily_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.runs import config_snapshots

Traversal = config_traversal_context.TraversalContext


def _resolve(run_config):
    """Dagster's own resolution of a run config for the daily pipeline: (success, value or error messages)."""
    try:
        return True, validate_run_config(flights_daily_pipeline, run_config, mode="local")
    except DagsterInvalidConfigError as error:  # its message lists every problem
        return False, str(error)


@pytest.fixture
def built_once(monkeypatch):
    # restored after the test
    monkeypatch.setattr(config_validate, "config_schema_snapshot_from_config_type",
                        config_validate.config_schema_snapshot_from_config_type)
    monkeypatch.setattr(Traversal, "from_config_type", Traversal.from_config_type)
    monkeypatch.setattr(config_snapshots, "_built", {})
    yield lambda: config_snapshots.snapshot_once()


def _partition_config(day: date) -> dict:
    partition = flights_daily_partition_set.get_partition(day.isoformat())
    return flights_daily_partition_set.run_config_for_partition(partition)


def test_resolved_configs_and_errors_are_dagsters(built_once):
    valid = [_partition_config(date(2013, 1, 7)), _partition_config(date(2013, 12, 31))]
    invalid = [
        {**valid[0], "resources": {"daily_partition": {"config": {"date": 20130107}}}},
        {**valid[0], "solids": {"no_such_solid": {"config": {}}}},
    ]
    theirs = [_resolve(config) for config in valid + invalid]
    built_once()
    ours = [_resolve(config) for config in valid + invalid]
    assert ours == theirs
    assert [success for success, _ in ours] == [True, True, False, False]
    assert len(config_snapshots._built) >= 1  # the snapshots were built once and reused
    assert all(isinstance(entry[1], ConfigSchemaSnapshot) for entry in config_snapshots._built.values())


def test_a_new_type_every_call_does_not_grow_without_bound(built_once):
    built_once()
    for index in range(config_snapshots.MAX_TYPES * 2):
        config_type = Shape({"n": Field(int, default_value=index)})
        outcome = config_validate.validate_config(config_type, {"n": index})
        assert outcome.success
        assert not config_validate.validate_config(config_type, {"n": "x"}).success
    assert len(config_snapshots._built) <= config_snapshots.MAX_TYPES
