"""Schedules built from the partition sets: each tick runs the newest complete partition.

The daily schedule ticks at 06:00 New York time and runs yesterday's partition; the
monthly one ticks at 07:00 on the 1st and runs last month. A tick whose partition is
not in the set (for example any tick after 2013 while the data ends there) is skipped
with the reason shown in Dagit. Runs take the mode of their partition set.
"""
from datetime import date, datetime, timedelta
from typing import Optional

import pendulum
from dagster import Partition, PartitionSetDefinition, ScheduleDefinition

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


def daily_schedule(partition_set: PartitionSetDefinition) -> ScheduleDefinition:
    return partition_set.create_schedule_definition(
        schedule_name="flights_daily_schedule",
        cron_schedule="0 6 * * *",
        partition_selector=_select_previous_day,
        execution_timezone=TIMEZONE,
        description="Every day at 06:00 New York time: load yesterday's files.",
    )


def monthly_schedule(partition_set: PartitionSetDefinition) -> ScheduleDefinition:
    return partition_set.create_schedule_definition(
        schedule_name="flights_monthly_schedule",
        cron_schedule="0 7 1 * *",
        partition_selector=_select_previous_month,
        execution_timezone=TIMEZONE,
        description="On the 1st at 07:00 New York time: build last month's report (the sensor usually has already).",
    )
