"""Per day, origin and carrier: volume, cancellations and delays, beside that day's weather at the origin."""
import numpy as np
import pandas as pd

DELAY_QUANTILE = 0.95


def summarize_daily_delays(flights: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    """One row per (origin, carrier) of the day's flights.

    ``cancelled`` counts flights with no ``dep_time``. Delay means and 95th
    percentiles (linear interpolation) skip missing delays. The weather columns
    are the day's total precipitation, minimum visibility and maximum wind gust
    at the origin; they are empty when the day has no weather observations
    (``weather_hours`` is then 0).
    """
    grouped = flights.groupby(["origin", "carrier"], sort=True)
    per_group = grouped.size()
    delays = grouped[["dep_delay", "arr_delay"]]
    means, p95 = delays.mean(), delays.quantile(DELAY_QUANTILE)
    origins = per_group.index.get_level_values("origin").astype(str)
    # The origin's weather beside each of its rows (a lookup, not a merge: a few ms a day less).
    at_origin = summarize_weather_by_origin(weather).set_index("origin").reindex(origins)
    hours = at_origin["weather_hours"].to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "origin": np.asarray(origins, dtype=object),
            "carrier": np.asarray(per_group.index.get_level_values("carrier").astype(str), dtype=object),
            "flights": per_group.to_numpy(dtype="int64"),
            "cancelled": (per_group - grouped["dep_time"].count()).to_numpy(dtype="int64"),
            "dep_delay_mean": means["dep_delay"].to_numpy(),
            "dep_delay_p95": p95["dep_delay"].to_numpy(),
            "arr_delay_mean": means["arr_delay"].to_numpy(),
            "arr_delay_p95": p95["arr_delay"].to_numpy(),
            "weather_hours": np.nan_to_num(hours, nan=0).astype("int64"),
            "precip_total": at_origin["precip_total"].to_numpy(dtype="float64"),
            "visib_min": at_origin["visib_min"].to_numpy(dtype="float64"),
            "wind_gust_max": at_origin["wind_gust_max"].to_numpy(dtype="float64"),
        }
    )


def summarize_weather_by_origin(weather: pd.DataFrame) -> pd.DataFrame:
    """Per origin: observation count, total precipitation, minimum visibility, maximum wind gust."""
    grouped = weather.groupby("origin", sort=True)
    return pd.DataFrame(
        {
            "weather_hours": grouped.size(),
            "precip_total": grouped["precip"].sum(min_count=1),
            "visib_min": grouped["visib"].min(),
            "wind_gust_max": grouped["wind_gust"].max(),
        }
    ).reset_index().assign(origin=lambda frame: frame["origin"].astype(str))
