"""Per day, origin and carrier: volume, cancellations and delays, beside that day's weather at the origin."""
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
    summary = pd.DataFrame(
        {
            "flights": grouped.size(),
            "cancelled": grouped.size() - grouped["dep_time"].count(),
            "dep_delay_mean": grouped["dep_delay"].mean(),
            "dep_delay_p95": grouped["dep_delay"].quantile(DELAY_QUANTILE),
            "arr_delay_mean": grouped["arr_delay"].mean(),
            "arr_delay_p95": grouped["arr_delay"].quantile(DELAY_QUANTILE),
        }
    ).reset_index()
    at_origin = summarize_weather_by_origin(weather)
    merged = summary.merge(at_origin, on="origin", how="left")
    merged["weather_hours"] = merged["weather_hours"].fillna(0).astype("int64")
    merged["origin"] = merged["origin"].astype(str)
    merged["carrier"] = merged["carrier"].astype(str)
    return merged.astype({"flights": "int64", "cancelled": "int64"})


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
