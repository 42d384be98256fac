"""The modern-Dagster anchor of ``bench/backfill.py --anchor-dagster1``: one partitioned asset.

Loaded by Dagster 1.x from its own virtual environment (never the project's, which pins 0.15.10),
with the project's root on ``PYTHONPATH`` for the domain code only (no Dagster 0.15 import): each
partition is validated by the project's input contract, summarized by its transform and written
by its warehouse interface in one transaction, exactly as ``bench/floor_load.py`` does. With a
single-run backfill policy, ``dagster asset materialize --partition-range A...B`` executes every
partition of the range in one run: what ``flights-etl backfill`` is measured against.
"""
import os

from dagster import AssetExecutionContext, BackfillPolicy, DailyPartitionsDefinition, Definitions, asset

from flights_etl.dates import parse_day

PARTITIONS = DailyPartitionsDefinition(start_date="2013-01-01", end_date="2014-01-01")


@asset(partitions_def=PARTITIONS, backfill_policy=BackfillPolicy.single_run())
def daily_load(context: AssetExecutionContext) -> None:
    from bench.floor_load import load_days

    keys = context.partition_keys
    load_days(os.environ["FLIGHTS_LANDING_DIR"], os.environ["FLIGHTS_WAREHOUSE"], parse_day(keys[0]), parse_day(keys[-1]))
    context.log.info(f"loaded {len(keys)} days")


defs = Definitions(assets=[daily_load])
