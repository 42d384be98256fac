"""Resources classes made once per keys: the same resources object as Dagster's own build, one class."""
import pytest
from dagster import DagsterUnknownResourceError

from flights_etl.dagster_private import scoped_resources_builder as dagster_module
from flights_etl.runs import resource_classes

Builder = dagster_module.ScopedResourcesBuilder


@pytest.fixture
def made_once(monkeypatch):
    original = Builder.build
    monkeypatch.setattr(Builder, "build", original)  # restored after the test
    resource_classes.make_once()
    assert Builder.build is not original
    return original


@pytest.mark.parametrize("contains_generator", [False, True])
def test_the_resources_are_dagsters_with_one_class_per_keys(made_once, contains_generator):
    builder = Builder({"warehouse": "w", "landing": "l", "notifier": "n"}, contains_generator)
    theirs = made_once(builder, {"warehouse", "landing", "missing"})
    ours = builder.build({"warehouse", "landing", "missing"})
    assert ours == theirs and ours._asdict() == theirs._asdict()
    assert type(ours).__name__ == type(theirs).__name__ and type(ours)._fields == type(theirs)._fields
    assert ours.warehouse == "w" and ours.landing == "l"
    for kind in (dagster_module.Resources, dagster_module.IContainsGenerator):
        assert isinstance(ours, kind) == isinstance(theirs, kind)
    with pytest.raises(DagsterUnknownResourceError):
        getattr(ours, "notifier")  # noqa: B009  (not required: unknown, as in Dagster's)
    assert type(builder.build({"warehouse", "landing", "missing"})) is type(ours)  # made once
    assert type(builder.build({"notifier"})) is not type(ours)
    assert builder.build(None) == () == made_once(builder, None)
