"""Partition sets: every day and every month of the data, each mapped to its pipeline's run config.

Daily partitions are named ``YYYY-MM-DD``; monthly partitions ``YYYY-MM``.
To run on live data instead of the packaged 2013 files, set ``LAST_DAY = None``:
the sets then reach up to yesterday (and last month) at the time they are evaluated.
"""
from datetime import date, datetime, timedelta
from typing import List, Optional

import pendulum
from dagster import Partition, PartitionSetDefinition

FIRST_DAY = date(2013, 1, 1)
LAST_DAY: Optional[date] = date(2013, 12, 31)

# Solids of flights_daily_pipeline that need the partition date in their config.
DAILY_DATE_SOLIDS = ("read_flights", "read_weather", "load_partition")
# Solids of flights_monthly_pipeline that need the partition month in their config.
MONTHLY_MONTH_SOLIDS = ("check_month_loaded", "build_monthly_report")


def last_complete_day(current_time: Optional[datetime]) -> date:
    """The newest day whose data is complete: ``LAST_DAY``, or yesterday when running live."""
    if LAST_DAY is not None:
        return LAST_DAY
    now = current_time or pendulum.now("UTC")
    return now.date() - timedelta(days=1)


def daily_partitions(current_time: Optional[datetime] = None) -> List[Partition]:
    last = last_complete_day(current_time)
    return [
        Partition(name=(FIRST_DAY + timedelta(days=offset)).isoformat(), value=FIRST_DAY + timedelta(days=offset))
        for offset in range((last - FIRST_DAY).days + 1)
    ]


def monthly_partitions(current_time: Optional[datetime] = None) -> List[Partition]:
    last = last_complete_day(current_time)
    months = []
    month = FIRST_DAY.replace(day=1)
    while month <= last:
        month_last_day = date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)
        if month_last_day <= last:  # only whole months
            months.append(Partition(name=f"{month:%Y-%m}", value=month))
        month = month_last_day + timedelta(days=1)
    return months


# Keep the console of a backfill readable: step-level DEBUG events stay in the event log and Dagit.
CONSOLE_LOGGING = {"console": {"config": {"log_level": "INFO"}}}


def daily_run_config(partition: Partition) -> dict:
    """Run config of flights_daily_pipeline for one day: the date goes to every solid that needs it."""
    return {
        "solids": {solid: {"config": {"date": partition.name}} for solid in DAILY_DATE_SOLIDS},
        "loggers": CONSOLE_LOGGING,
    }


def monthly_run_config(partition: Partition) -> dict:
    """Run config of flights_monthly_pipeline for one month."""
    return {
        "solids": {solid: {"config": {"month": partition.name}} for solid in MONTHLY_MONTH_SOLIDS},
        "loggers": CONSOLE_LOGGING,
    }


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
