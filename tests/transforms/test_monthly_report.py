"""summarize_month on a small frame with hand-computed answers."""
import pandas as pd

from flights_etl.transforms.monthly_report import summarize_month


def test_on_time_share_counts_only_arrived_flights():
    flights = pd.DataFrame(
        {
            "carrier": ["UA", "UA", "UA", "UA", "DL"],
            "dep_time": pd.array([1, 2, None, 4, 5], dtype="Int64"),
            "dep_delay": [0.0, 30.0, None, 10.0, 100.0],
            "arr_delay": [15.0, 40.0, None, -3.0, None],
        }
    )
    report = summarize_month(flights).set_index("carrier")
    ua = report.loc["UA"]
    assert (ua.flights, ua.cancelled, ua.arrived, ua.on_time) == (4, 1, 3, 2)
    assert ua.on_time_share == 2 / 3
    assert ua.dep_delay_mean == 40 / 3
    dl = report.loc["DL"]
    assert dl.arrived == 0 and pd.isna(dl.on_time_share)
