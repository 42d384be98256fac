"""Dagster 0.15.10 checks a run's config against a snapshot of the pipeline's whole config schema
that it builds anew for every run, twice (``validate_config``, then the traversal that fills in
defaults), though a config type never changes once made. ``snapshot_once`` has each process
build the snapshot of a config type once and reuse it, as ``resource_classes.make_once`` does for
the resources classes; the checks themselves, their errors and the resolved config are Dagster's.
Applied by ``many_runs.prepare_process``: the backfill's workers and the fleet's.
"""
from typing import Dict, Tuple

from flights_etl.dagster_private import (
    ConfigSchemaSnapshot,
    config_traversal_context,
    config_validate,
    iterate_config_types,
    snap_from_config_type,
)

MAX_TYPES = 256  # a config schema given as a dict is a new type at every call: bounded, never a leak
_built: Dict[int, Tuple[object, ConfigSchemaSnapshot, object, dict]] = {}


def _parts(config_type):
    """(the type, its schema snapshot, its own snap, every type it holds by key), built once per type."""
    entry = _built.get(id(config_type))
    if entry is None or entry[0] is not config_type:  # the entry keeps its type alive: an id is never reused
        if len(_built) >= MAX_TYPES:
            _built.clear()
        every_type = {inner.key: inner for inner in iterate_config_types(config_type)}
        snapshot = ConfigSchemaSnapshot({key: snap_from_config_type(inner) for key, inner in every_type.items()})
        entry = _built[id(config_type)] = (config_type, snapshot, snap_from_config_type(config_type), every_type)
    return entry


def _schema_snapshot(config_type) -> ConfigSchemaSnapshot:
    return _parts(config_type)[1]


def _traversal_from_config_type(config_type, stack, traversal_type):
    """``TraversalContext.from_config_type`` with the snapshots built once."""
    _type, snapshot, type_snap, every_type = _parts(config_type)
    return config_traversal_context.TraversalContext(
        config_schema_snapshot=snapshot,
        config_type_snap=type_snap,
        config_type=config_type,
        stack=stack,
        traversal_type=traversal_type,
        all_config_types=every_type,
    )


def snapshot_once() -> None:
    config_validate.config_schema_snapshot_from_config_type = _schema_snapshot
    config_traversal_context.TraversalContext.from_config_type = staticmethod(_traversal_from_config_type)
