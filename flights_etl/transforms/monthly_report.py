"""Per month and carrier: volume, cancellations, on-time share and mean delays."""
import pandas as pd

ON_TIME_MINUTES = 15
REPORT_INPUT_COLUMNS = ("carrier", "dep_time", "dep_delay", "arr_delay")  # what summarize_month reads


def summarize_month(flights: pd.DataFrame) -> pd.DataFrame:
    """One row per carrier of a month's flights.

    ``cancelled`` counts flights with no ``dep_time``; ``arrived`` those with an
    ``arr_delay``; ``on_time_share`` is the share of arrived flights whose arrival
    delay is at most 15 minutes.
    """
    # Row order decides the last bits of a floating-point mean: fix it, whatever order the
    # warehouse returned the rows in.
    flights = flights.sort_values(list(flights.columns), kind="stable", ignore_index=True)
    arrived = flights["arr_delay"].notna()
    frame = flights.assign(
        is_cancelled=flights["dep_time"].isna(),
        is_arrived=arrived,
        is_on_time=arrived & (flights["arr_delay"] <= ON_TIME_MINUTES),
    )
    grouped = frame.groupby("carrier", sort=True)
    report = pd.DataFrame(
        {
            "flights": grouped.size(),
            "cancelled": grouped["is_cancelled"].sum(),
            "arrived": grouped["is_arrived"].sum(),
            "on_time": grouped["is_on_time"].sum(),
            "dep_delay_mean": grouped["dep_delay"].mean(),
            "arr_delay_mean": grouped["arr_delay"].mean(),
        }
    ).reset_index()
    report["on_time_share"] = (report["on_time"] / report["arrived"]).where(report["arrived"] > 0)
    report["carrier"] = report["carrier"].astype(str)
    return report.astype({"flights": "int64", "cancelled": "int64", "arrived": "int64", "on_time": "int64"})
