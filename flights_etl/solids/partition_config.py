"""The partition a solid works on, taken from run config and checked before any work is done."""
from datetime import date

from dagster import Failure, Field, MetadataValue

DATE_CONFIG = {
    "date": Field(
        str,
        description="The daily partition to process, as YYYY-MM-DD (filled in by flights_daily_partition_set).",
    )
}
MONTH_CONFIG = {
    "month": Field(
        str,
        description="The monthly partition to process, as YYYY-MM (filled in by flights_monthly_partition_set).",
    )
}


def parse_partition_date(text: str) -> date:
    """``YYYY-MM-DD`` to a date; ValueError with a readable message otherwise."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not a real date in YYYY-MM-DD form") from None


def parse_partition_month(text: str) -> date:
    """``YYYY-MM`` to the first day of that month; ValueError with a readable message otherwise."""
    try:
        if len(text) != 7:
            raise ValueError
        return date.fromisoformat(f"{text}-01")
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not a month in YYYY-MM form") from None


def partition_date(context) -> date:
    """The solid's ``config.date`` as a date, or a Failure that names the bad config value."""
    return _parse_config(context, "date", parse_partition_date)


def partition_month(context) -> date:
    """The solid's ``config.month`` as its first day, or a Failure that names the bad config value."""
    return _parse_config(context, "month", parse_partition_month)


def _parse_config(context, field: str, parse):
    text = context.solid_config[field]
    try:
        return parse(text)
    except ValueError as error:
        where = f"solids.{context.solid.name}.config.{field}"
        raise Failure(
            description=f"Invalid run config at {where}: {error}",
            metadata={"config_path": where, "value": MetadataValue.text(str(text))},
        ) from None
