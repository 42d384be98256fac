"""Reading the materializations of a few runs, not of every run ever recorded.

``instance.get_event_records`` filters by asset key, partition or time, not by run, so the
materializations of each partition's latest run (what ``flights-etl status`` shows) would mean
reading and deserializing every materialization in the instance's history: ~3 s at 7,300 runs.
On Dagster's SQL event logs (SQLite's index shard, PostgreSQL) the same table is read here with a
``run_id IN (...)`` on its run id index instead; any other storage falls back to the full read.
"""
from typing import Dict, Iterable, List

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
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        records = instance.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=asset_key), ascending=True
        )
        for record in records:
            if record.event_log_entry.run_id in wanted:
                found.setdefault(record.event_log_entry.run_id, []).append(record.event_log_entry)
        return found
    table = SqlEventLogStorageTable
    with storage.index_connection() as connection:
        for start in range(0, len(wanted), CHUNK):
            query = (
                db.select([table.c.run_id, table.c.event])
                .where(table.c.run_id.in_(wanted[start:start + CHUNK]))
                .where(table.c.asset_key == asset_key.to_string())
                .where(table.c.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION.value)
                .order_by(table.c.id)
            )
            for run_id, event in connection.execute(query).fetchall():
                found.setdefault(run_id, []).append(deserialize_as(event, EventLogEntry))
    return found
