"""The Dagster instance's storages, written as dagster-postgres 0.15.10 writes its own: one storage
per module (``inst_data``/``config_type``/``from_config_value``), named by ``deploy/*/dagster.yaml``.

- ``sqlite_event_log``: the workers' kept-open SQLite event log;
- ``postgres/`` (the postgres extra): dagster-postgres' storages keeping a few connections open
  (``storage: custom: PooledPostgresStorage`` from ``postgres.storage``), laid out as dagster-postgres';
- ``worker``: the ``$DAGSTER_HOME`` instance as a backfill worker writes to it.

Dagster 0.15's ``SqliteEventLogStorage`` and dagster-postgres 0.15.10 pay, per event, for a new
engine or connection; a daily run records about 46 events, so this bookkeeping cost more than the
partition's data work. The files and rows are the ones Dagster writes: Dagit and ``dagster`` read
them as before.
"""
