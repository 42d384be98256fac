"""summarize_daily_delays on small frames with hand-computed answers."""
import pandas as pd
import pytest

from flights_etl.transforms.daily_delays import summarize_daily_delays


def _flights():
    return pd.DataFrame(
        {
            "origin": ["JFK", "JFK", "JFK", "LGA"],
            "carrier": ["AA", "AA", "AA", "B6"],
            "dep_time": pd.array([500, None, 700, 800], dtype="Int64"),
            "dep_delay": [0.0, None, 20.0, -5.0],
            "arr_delay": [10.0, None, 30.0, None],
        }
    )


def _weather():
    return pd.DataFrame(
        {"origin": ["JFK", "JFK"], "precip": [0.1, 0.2], "visib": [10.0, 2.5], "wind_gust": [None, 30.0]}
    )


def test_counts_cancellations_delays_and_weather():
    summary = summarize_daily_delays(_flights(), _weather()).set_index(["origin", "carrier"])
    aa = summary.loc[("JFK", "AA")]
    assert aa.flights == 3 and aa.cancelled == 1
    assert aa.dep_delay_mean == 10.0
    assert aa.dep_delay_p95 == pytest.approx(0 + 0.95 * 20)  # linear interpolation between 0 and 20
    assert aa.arr_delay_p95 == pytest.approx(10 + 0.95 * 20)
    assert aa.weather_hours == 2 and aa.precip_total == pytest.approx(0.3)
    assert aa.visib_min == 2.5 and aa.wind_gust_max == 30.0
    b6 = summary.loc[("LGA", "B6")]
    assert b6.cancelled == 0 and pd.isna(b6.arr_delay_mean)
    assert b6.weather_hours == 0 and pd.isna(b6.precip_total)


def test_a_day_without_weather_leaves_weather_columns_empty():
    empty = _weather().iloc[0:0]
    summary = summarize_daily_delays(_flights(), empty)
    assert summary.precip_total.isna().all() and (summary.weather_hours == 0).all()
    assert summary.flights.sum() == 4
