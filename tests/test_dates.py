"""The calendar the partitions are named by (flights_etl/dates.py)."""
from datetime import date

import pytest

from flights_etl.dates import days_between, month_days, month_end, month_start, months_between, parse_day, parse_month


def test_days_and_months_parse_only_in_their_one_form():
    assert parse_day("2013-02-28") == date(2013, 2, 28)
    assert parse_month("2013-02") == date(2013, 2, 1)
    for text in ("2013-02-29", "2013-2-01", "2013-W10-1", "20130201", " 2013-02-01", None):
        with pytest.raises(ValueError, match="is not a real date in YYYY-MM-DD form"):
            parse_day(text)
    for text in ("2013-13", "2013-2", "2013-02-01", 201302):
        with pytest.raises(ValueError, match="is not a month in YYYY-MM form"):
            parse_month(text)


def test_month_ends_leap_years_and_december():
    assert month_end(date(2013, 2, 10)) == date(2013, 2, 28)
    assert month_end(date(2012, 2, 1)) == date(2012, 2, 29)
    assert month_end(date(2013, 12, 5)) == date(2013, 12, 31)
    assert month_start(date(2013, 12, 5)) == date(2013, 12, 1)
    assert len(month_days(date(2013, 4, 30))) == 30 and month_days(date(2013, 4, 30))[0] == date(2013, 4, 1)


def test_ranges_include_both_ends_and_cross_the_year():
    assert list(days_between(date(2013, 12, 30), date(2014, 1, 2))) == [
        date(2013, 12, 30), date(2013, 12, 31), date(2014, 1, 1), date(2014, 1, 2)]
    assert list(days_between(date(2013, 1, 2), date(2013, 1, 1))) == []
    assert list(months_between(date(2013, 11, 15), date(2014, 1, 1))) == [
        date(2013, 11, 1), date(2013, 12, 1), date(2014, 1, 1)]
    assert sum(len(month_days(month)) for month in months_between(date(2013, 1, 1), date(2013, 12, 31))) == 365
