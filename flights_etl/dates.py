"""Days and months as the partitions name them: ``YYYY-MM-DD`` and ``YYYY-MM``, nothing else."""
import re
from datetime import date, timedelta
from typing import Iterator, List

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` to a date; ValueError otherwise (ISO week dates such as ``2013-W10-1`` too)."""
    if not isinstance(text, str) or not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a real date in YYYY-MM-DD form")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date in YYYY-MM-DD form") from None


def parse_month(text: str) -> date:
    """``YYYY-MM`` to the first day of that month; ValueError otherwise."""
    if not isinstance(text, str) or not _MONTH.fullmatch(text):
        raise ValueError(f"{text!r} is not a month in YYYY-MM form")
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValueError(f"{text!r} is not a month in YYYY-MM form") from None


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    first_of_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def days_between(start: date, end: date) -> Iterator[date]:
    """Every day from ``start`` to ``end``, both included."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def month_days(month: date) -> List[date]:
    """Every day of ``month``'s month."""
    return list(days_between(month_start(month), month_end(month)))


def months_between(start: date, end: date) -> Iterator[date]:
    """The first day of every month that starts within [``start``'s month, ``end``]."""
    month = month_start(start)
    while month <= end:
        yield month
        month = month_end(month) + timedelta(days=1)
