"""Schedules built from the partition sets: each tick runs the newest complete partition.

The daily schedule ticks at 06:00 New York time and runs yesterday's partition; the
monthly one ticks at 07:00 on the 1st and runs last month. A tick whose partition is
not in the set (for example any tick after 2013 while ``partitions.LAST_DAY`` is
set) is skipped with the reason shown in Dagit. To point them at live data, set
``partitions.LAST_DAY = None`` and have the upstream drop land files by 06:00.
"""
from datetime import date, datetime, timedelta
from typing import Optional

import pendulum
from dagster import Partition

from flights_etl.partitions import flights_daily_partition_set, flights_monthly_partition_set

TIMEZONE = "America/New_York"


def previous_day(tick_time: datetime) -> str:
    """The daily partition a tick at ``tick_time`` should run: the day before."""
    return (tick_time.date() - timedelta(days=1)).isoformat()


def previous_month(tick_time: datetime) -> str:
    """The monthly partition a tick at ``tick_time`` should run: the month before."""
    first_of_month = date(tick_time.year, tick_time.month, 1)
    return f"{first_of_month - timedelta(days=1):%Y-%m}"


def _tick_time(context) -> datetime:
    scheduled: Optional[datetime] = context.scheduled_execution_time
    return scheduled if scheduled is not None else pendulum.now(TIMEZONE)


def _select_previous_day(context, _partition_set) -> Partition:
    return Partition(previous_day(_tick_time(context)))


def _select_previous_month(context, _partition_set) -> Partition:
    return Partition(previous_month(_tick_time(context)))


flights_daily_schedule = flights_daily_partition_set.create_schedule_definition(
    schedule_name="flights_daily_schedule",
    cron_schedule="0 6 * * *",
    partition_selector=_select_previous_day,
    execution_timezone=TIMEZONE,
    description="Every day at 06:00 New York time: load yesterday's files.",
)

flights_monthly_schedule = flights_monthly_partition_set.create_schedule_definition(
    schedule_name="flights_monthly_schedule",
    cron_schedule="0 7 1 * *",
    partition_selector=_select_previous_month,
    execution_timezone=TIMEZONE,
    description="On the 1st at 07:00 New York time: build last month's report.",
)
