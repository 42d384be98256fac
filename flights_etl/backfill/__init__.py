"""``flights-etl backfill`` and ``flights-etl status``: fast in-process backfills recorded as normal Dagster runs."""
