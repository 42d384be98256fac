"""Partition sets: every day and every month of the data, each mapped to its pipeline's run config.

Daily partitions are named ``YYYY-MM-DD``; monthly partitions ``YYYY-MM``. A run's partition is
given once, as the config of its partition resource (``resources.daily_partition.config.date``
or ``resources.monthly_partition.config.month``), which every solid of the run reads.
To run on live data instead of the packaged 2013 files, set ``LAST_DAY = None``:
the sets then reach up to yesterday (and last month) at the time they are evaluated.
"""
from datetime import date, datetime, timedelta
from typing import List, Optional

import pendulum
from dagster import Partition, PartitionSetDefinition

from flights_etl.dates import days_between, month_end, months_between

FIRST_DAY = date(2013, 1, 1)
LAST_DAY: Optional[date] = date(2013, 12, 31)


def last_complete_day(current_time: Optional[datetime]) -> date:
    """The newest day whose data is complete: ``LAST_DAY``, or yesterday when running live."""
    if LAST_DAY is not None:
        return LAST_DAY
    now = current_time or pendulum.now("UTC")
    return now.date() - timedelta(days=1)


def daily_partitions(current_time: Optional[datetime] = None) -> List[Partition]:
    return [Partition(name=day.isoformat(), value=day) for day in days_between(FIRST_DAY, last_complete_day(current_time))]


def monthly_partitions(current_time: Optional[datetime] = None) -> List[Partition]:
    last = last_complete_day(current_time)
    return [  # only whole months
        Partition(name=f"{month:%Y-%m}", value=month) for month in months_between(FIRST_DAY, last) if month_end(month) <= last
    ]


# Keep the console of a backfill readable: step-level DEBUG events stay in the event log and Dagit.
CONSOLE_LOGGING = {"console": {"config": {"log_level": "INFO"}}}


def daily_run_config(partition: Partition) -> dict:
    """Run config of flights_daily_pipeline for one day: the day, once, for every solid."""
    return {"resources": {"daily_partition": {"config": {"date": partition.name}}}, "loggers": CONSOLE_LOGGING}


def monthly_run_config(partition: Partition) -> dict:
    """Run config of flights_monthly_pipeline for one month."""
    return {"resources": {"monthly_partition": {"config": {"month": partition.name}}}, "loggers": CONSOLE_LOGGING}


def daily_tags(partition: Partition) -> dict:
    return {"flights/granularity": "daily", "flights/month": partition.name[:7]}


def monthly_tags(partition: Partition) -> dict:
    return {"flights/granularity": "monthly", "flights/month": partition.name}


flights_daily_partition_set = PartitionSetDefinition(
    name="flights_daily_partition_set",
    pipeline_name="flights_daily_pipeline",
    partition_fn=daily_partitions,
    run_config_fn_for_partition=daily_run_config,
    tags_fn_for_partition=daily_tags,
    mode="local",
)

flights_monthly_partition_set = PartitionSetDefinition(
    name="flights_monthly_partition_set",
    pipeline_name="flights_monthly_pipeline",
    partition_fn=monthly_partitions,
    run_config_fn_for_partition=monthly_run_config,
    tags_fn_for_partition=monthly_tags,
    mode="local",
)
