"""Reading the materializations of a few runs, not of every run ever recorded.

``instance.get_event_records`` filters by asset key, partition or time, not by run, so the
materializations of each partition's latest run (what ``flights-etl status`` shows) would mean
reading and deserializing every materialization in the instance's history: ~3 s at 7,300 runs.
On Dagster's SQL event logs (SQLite's index shard, PostgreSQL) the same table is read here with a
``run_id IN (...)`` on its run id index instead; any other storage falls back to the full read.
"""
import json
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import sqlalchemy as db
from dagster import AssetKey, DagsterEventType, DagsterInstance, EventLogEntry, EventRecordsFilter

from flights_etl.dagster_private import SqlEventLogStorage, SqlEventLogStorageTable, deserialize_as

CHUNK = 500  # run ids per query (SQLite allows 999 parameters)


def materializations_of_runs(
    instance: DagsterInstance, asset_key: AssetKey, run_ids: Iterable[str]
) -> Dict[str, List[EventLogEntry]]:
    """The ``asset_key`` materializations each of ``run_ids`` recorded, oldest first, by run id."""
    wanted = sorted(set(run_ids))
    found: Dict[str, List[EventLogEntry]] = {}
    stored = _stored_events(instance, asset_key, wanted)
    if stored is None:
        wanted_set = set(wanted)
        for entry in _every_materialization(instance, asset_key):
            if entry.run_id in wanted_set:
                found.setdefault(entry.run_id, []).append(entry)
        return found
    for run_id, event in stored:
        found.setdefault(run_id, []).append(deserialize_as(event, EventLogEntry))
    return found


def metadata_value_of_runs(
    instance: DagsterInstance, asset_key: AssetKey, run_ids: Iterable[str], label: str
) -> Dict[str, object]:
    """The value of the ``label`` metadata entry of each run's last ``asset_key`` materialization,
    by run id (runs without one left out). What ``status`` shows of a year (the rows) without
    deserializing each whole event, a third of a millisecond each: the stored JSON is walked along the
    entry's path, and an event stored in any other shape is deserialized after all."""
    wanted = sorted(set(run_ids))
    stored = _stored_events(instance, asset_key, wanted)
    if stored is None:
        return {run_id: value for run_id, entries in materializations_of_runs(instance, asset_key, wanted).items()
                if (value := _value_in_entry(entries[-1], label)) is not _ABSENT}
    last: Dict[str, str] = {}
    for run_id, event in stored:  # oldest first: the last one stays
        last[run_id] = event
    values = {}
    for run_id, event in last.items():
        value = _value_in_json(event, label)
        if value is _UNKNOWN_SHAPE:
            value = _value_in_entry(deserialize_as(event, EventLogEntry), label)
        if value is not _ABSENT:
            values[run_id] = value
    return values


_ABSENT = object()  # the materialization has no entry of that label
_UNKNOWN_SHAPE = object()  # not stored as Dagster 0.15 stores it: deserialize instead


def _value_in_entry(entry: EventLogEntry, label: str):
    for metadata in entry.dagster_event.event_specific_data.materialization.metadata_entries:
        if metadata.label == label:
            return metadata.entry_data.value
    return _ABSENT


def _value_in_json(event: str, label: str):
    try:
        document = json.loads(event)
        materialization = document["dagster_event"]["event_specific_data"]["materialization"]
        if document["__class__"] != "EventLogEntry" or materialization["__class__"] != "AssetMaterialization":
            return _UNKNOWN_SHAPE
        for metadata in materialization["metadata_entries"]:
            if metadata["label"] == label:
                value = metadata["entry_data"]["value"]
                # Only plain numbers and text as stored: anything else is rebuilt by deserialization.
                return value if type(value) in (int, float, str, bool) else _UNKNOWN_SHAPE
        return _ABSENT
    except (ValueError, KeyError, TypeError):
        return _UNKNOWN_SHAPE


def _every_materialization(instance: DagsterInstance, asset_key: AssetKey) -> Iterator[EventLogEntry]:
    records = instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=asset_key), ascending=True
    )
    return (record.event_log_entry for record in records)


def _stored_events(
    instance: DagsterInstance, asset_key: AssetKey, wanted: List[str]
) -> Optional[List[Tuple[str, str]]]:
    """``(run id, serialized event)`` of the ``asset_key`` materializations of ``wanted``, oldest
    first; None when the event log is not one of Dagster's SQL storages."""
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        return None
    table = SqlEventLogStorageTable
    rows = []
    with storage.index_connection() as connection:
        for start in range(0, len(wanted), CHUNK):
            query = (
                db.select([table.c.run_id, table.c.event])
                .where(table.c.run_id.in_(wanted[start:start + CHUNK]))
                .where(table.c.asset_key == asset_key.to_string())
                .where(table.c.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION.value)
                .order_by(table.c.id)
            )
            rows.extend(connection.execute(query).fetchall())
    return rows
