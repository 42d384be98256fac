"""Partition sets: every day and every month of the data, each mapped to its pipeline's run config.

Daily partitions are named ``YYYY-MM-DD``; monthly partitions ``YYYY-MM``. A run's partition is
given once, as the config of its partition resource (``resources.daily_partition.config.date``
or ``resources.monthly_partition.config.month``), which every solid of the run reads.

Where the data ends is read from ``$FLIGHTS_LAST_DAY`` each time the sets are evaluated (never
at import): a day ``YYYY-MM-DD`` (default ``2013-12-31``, the packaged data's last day), or
``yesterday`` for live data. The mode of the runs the sets, schedules and sensors launch is a
property of the repository (``repository.py``: ``flights_etl`` runs ``local``,
``flights_etl_prod`` runs ``prod``), chosen by the workspace.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import List, Optional

import pendulum
from dagster import Partition, PartitionSetDefinition

from flights_etl import settings
from flights_etl.dates import days_between, month_end, months_between, parse_day
from flights_etl.runs.tags import GRANULARITY_TAG, MONTH_TAG

DAILY_SET = "flights_daily_partition_set"
MONTHLY_SET = "flights_monthly_partition_set"
FIRST_DAY = date(2013, 1, 1)
PACKAGED_LAST_DAY = date(2013, 12, 31)
LAST_DAY_ENV = settings.LAST_DAY
LIVE = "yesterday"


class InvalidLastDay(ValueError):
    """``$FLIGHTS_LAST_DAY`` is neither a date nor ``yesterday``, or is before the data's first day."""


def last_complete_day(current_time: Optional[datetime] = None) -> date:
    """The newest day whose data is complete: ``$FLIGHTS_LAST_DAY``, or yesterday when it says so."""
    setting = settings.text(LAST_DAY_ENV)
    if not setting:
        return PACKAGED_LAST_DAY
    if setting == LIVE:
        now = current_time or pendulum.now("UTC")
        last = now.date() - timedelta(days=1)
    else:
        try:
            last = parse_day(setting)
        except ValueError:
            raise InvalidLastDay(f"${LAST_DAY_ENV}={setting!r}: expected a day as YYYY-MM-DD, or '{LIVE}'") from None
    if last < FIRST_DAY:  # else every partition set would be silently empty
        when = f" is {last}," if setting == LIVE else " is"
        raise InvalidLastDay(f"${LAST_DAY_ENV}={setting!r}{when} before the data's first day {FIRST_DAY}: no partition to run")
    return last


def daily_partitions(current_time: Optional[datetime] = None) -> List[Partition]:
    last = last_complete_day(current_time)
    return [Partition(name=day.isoformat(), value=day) for day in days_between(FIRST_DAY, last)]


def monthly_partitions(current_time: Optional[datetime] = None) -> List[Partition]:
    last = last_complete_day(current_time)
    whole = [month for month in months_between(FIRST_DAY, last) if month_end(month) <= last]
    return [Partition(name=f"{month:%Y-%m}", value=month) for month in whole]


# Keep the console of a backfill readable: step-level DEBUG events stay in the event log and Dagit.
CONSOLE_LOGGING = {"console": {"config": {"log_level": "INFO"}}}


def daily_run_config(partition: Partition) -> dict:
    """Run config of flights_daily_pipeline for one day: the day, once, for every solid."""
    return {"resources": {"daily_partition": {"config": {"date": partition.name}}}, "loggers": CONSOLE_LOGGING}


def monthly_run_config(partition: Partition) -> dict:
    """Run config of flights_monthly_pipeline for one month."""
    return {"resources": {"monthly_partition": {"config": {"month": partition.name}}}, "loggers": CONSOLE_LOGGING}


def daily_tags(partition: Partition) -> dict:
    return {GRANULARITY_TAG: "daily", MONTH_TAG: partition.name[:7]}


def monthly_tags(partition: Partition) -> dict:
    return {GRANULARITY_TAG: "monthly", MONTH_TAG: partition.name}


@dataclass(frozen=True)
class SetTraits:
    """What tooling (``flights-etl backfill``/``status``) may know of a partition set, declared where
    the set is defined: tooling never names a pipeline or a set."""

    days: bool = False  # partitions are days, YYYY-MM-DD
    months_of: Optional[str] = None  # partitions are months built from this daily set's days
    rows_table: Optional[str] = None  # warehouse table whose `rows` materialization `status` shows
    landing: bool = False  # a day's run reads that day's landing files (`status`, `--only changed` compare them)


_TRAITS_ATTR = "flights_traits"


def with_traits(partition_set: PartitionSetDefinition, traits: SetTraits) -> PartitionSetDefinition:
    setattr(partition_set, _TRAITS_ATTR, traits)
    return partition_set


def traits_of(partition_set: PartitionSetDefinition) -> SetTraits:
    return getattr(partition_set, _TRAITS_ATTR, SetTraits())


def daily_partition_set(mode: str = "local") -> PartitionSetDefinition:
    return with_traits(PartitionSetDefinition(
        name=DAILY_SET,
        pipeline_name="flights_daily_pipeline",
        partition_fn=daily_partitions,
        run_config_fn_for_partition=daily_run_config,
        tags_fn_for_partition=daily_tags,
        mode=mode,
    ), SetTraits(days=True, rows_table="flights", landing=True))


def monthly_partition_set(mode: str = "local") -> PartitionSetDefinition:
    return with_traits(PartitionSetDefinition(
        name=MONTHLY_SET,
        pipeline_name="flights_monthly_pipeline",
        partition_fn=monthly_partitions,
        run_config_fn_for_partition=monthly_run_config,
        tags_fn_for_partition=monthly_tags,
        mode=mode,
    ), SetTraits(months_of="flights_daily_partition_set", rows_table="monthly_report"))


# The embedded default's sets (mode local), as the repository flights_etl holds them.
flights_daily_partition_set = daily_partition_set("local")
flights_monthly_partition_set = monthly_partition_set("local")
