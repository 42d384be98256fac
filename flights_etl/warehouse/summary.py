"""Short text summaries of what the warehouse holds: a range of days, or a month's report."""
from datetime import date
from typing import List, Optional

from flights_etl.warehouse.base import Warehouse

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)


def range_summary(
    warehouse: Warehouse, start: Optional[date] = None, end: Optional[date] = None, top: int = 5, min_flights: int = 100
) -> str:
    """Rows per day over [start, end] (default: everything) with their total, and the carriers
    with the highest mean departure delay over the flights that departed."""
    first, last = start or EARLIEST, end or LATEST
    per_day = warehouse.rows_per_day(first, last)
    span = f"{start} .. {end}" if start and end else "all days"
    if per_day.empty:
        return f"{warehouse.location}: no flights loaded for {span}"
    lines: List[str] = [
        f"flights {span}: {int(per_day['flights'].sum())} rows over {len(per_day)} days "
        f"({per_day['partition_date'].iloc[0]} .. {per_day['partition_date'].iloc[-1]}), "
        f"weather: {int(per_day['weather'].sum())} rows",
        "rows per day (date: flights / weather):",
    ]
    lines.extend(
        f"  {row.partition_date}: {row.flights:5d} / {row.weather:3d}" for row in per_day.itertuples(index=False)
    )
    delays = warehouse.carrier_departure_delays(first, last)
    worst = (
        delays[(delays["flights"] >= min_flights) & delays["dep_delay_mean"].notna()]
        .sort_values(["dep_delay_mean", "carrier"], ascending=[False, True])
        .head(top)
    )
    lines.append(
        f"most delayed carriers (mean departure delay of the flights that departed; top {top} of those "
        f"with >= {min_flights} flights):"
    )
    lines.extend(
        f"  {row.carrier}: {row.dep_delay_mean:6.1f} min over {row.departed} departed of {row.flights} flights"
        for row in worst.itertuples(index=False)
    )
    return "\n".join(lines)


def month_report_text(warehouse: Warehouse, month: date) -> str:
    """The stored monthly_report of ``month``'s month as a table, or why there is none."""
    from tabulate import tabulate

    report = warehouse.monthly_report(month)
    if report.empty:
        return (
            f"no monthly_report for {month:%Y-%m} in {warehouse.location}: build it with "
            f"`flights-etl backfill --partition-set flights_monthly_partition_set --partitions {month:%Y-%m}`"
        )
    rows = [
        (r.carrier, r.flights, r.cancelled, r.arrived, r.on_time,
         "" if r.on_time_share != r.on_time_share else f"{r.on_time_share:.1%}",
         f"{r.dep_delay_mean:.1f}", f"{r.arr_delay_mean:.1f}")
        for r in report.itertuples(index=False)
    ]
    table = tabulate(
        rows,
        headers=["carrier", "flights", "cancelled", "arrived", "on time", "on-time share", "dep delay", "arr delay"],
        disable_numparse=True,
    )
    total = int(report["flights"].sum())
    return f"monthly_report {month:%Y-%m}: {total} flights over {len(report)} carriers\n{table}"
