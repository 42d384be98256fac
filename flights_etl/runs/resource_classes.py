"""Dagster 0.15.10 makes two new classes (a namedtuple of the resource keys and a subclass of it)
every time it gives a step or a resource its resources (``ScopedResourcesBuilder.build``), about
twenty times a run: ~2.5 of a year's ~38 CPU-s. ``make_once`` has it make each class once per
process for the same keys, with Dagster's names, fields and behaviour (an unknown resource raises
``DagsterUnknownResourceError``). Applied by ``many_runs.prepare_process``: the backfill's workers and the fleet's.
"""
from collections import namedtuple
from typing import Dict, Tuple

from dagster import DagsterUnknownResourceError

from flights_etl.dagster_private import scoped_resources_builder as dagster_module

_classes: Dict[Tuple[bool, Tuple[str, ...]], type] = {}


def _unknown(_self, attr):
    raise DagsterUnknownResourceError(attr)


def _resources_class(contains_generator: bool, keys: Tuple[str, ...]) -> type:
    made = _classes.get((contains_generator, keys))
    if made is None:
        name = "_ScopedResourcesContainsGenerator" if contains_generator else "_ScopedResources"
        bases = (namedtuple(name, keys), dagster_module.Resources)
        if contains_generator:
            bases += (dagster_module.IContainsGenerator,)
        made = _classes[(contains_generator, keys)] = type(name, bases, {"__getattr__": _unknown})
    return made


def _build(self, required_resource_keys=None):
    """``ScopedResourcesBuilder.build``, its class made once per keys."""
    available = self.resource_instance_dict
    resources = {key: available[key] for key in (required_resource_keys or ()) if key in available}
    return _resources_class(bool(self.contains_generator), tuple(resources))(**resources)


def make_once() -> None:
    dagster_module.ScopedResourcesBuilder.build = _build
