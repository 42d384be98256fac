"""A short text summary of what the warehouse holds: rows per day and the most delayed carriers."""
from typing import List

from flights_etl.warehouse import ensure_tables


def warehouse_summary(connection, top: int = 5, min_flights: int = 100) -> str:
    ensure_tables(connection)
    lines: List[str] = []
    total, days, first, last = connection.execute(
        "SELECT count(*), count(DISTINCT partition_date), min(partition_date), max(partition_date) FROM flights"
    ).fetchone()
    lines.append(f"flights: {total} rows over {days} days ({first} .. {last})")
    per_day = connection.execute(
        """SELECT f.partition_date, count(*) AS flights,
                  (SELECT count(*) FROM weather w WHERE w.partition_date = f.partition_date) AS weather_rows
           FROM flights f GROUP BY f.partition_date ORDER BY f.partition_date"""
    ).fetchall()
    lines.append("rows per day (date: flights / weather):")
    lines.extend(f"  {day}: {flights:5d} / {weather:3d}" for day, flights, weather in per_day)
    worst = connection.execute(
        """SELECT carrier, sum(flights) AS flights,
                  sum(dep_delay_mean * flights) / sum(flights) AS mean_dep_delay
           FROM daily_delays WHERE dep_delay_mean IS NOT NULL
           GROUP BY carrier HAVING sum(flights) >= ? ORDER BY mean_dep_delay DESC LIMIT ?""",
        [min_flights, top],
    ).fetchall()
    lines.append(
        f"most delayed carriers (mean departure delay, top {top} of those with >= {min_flights} flights):"
    )
    lines.extend(f"  {carrier}: {delay:6.1f} min over {flights} flights" for carrier, flights, delay in worst)
    return "\n".join(lines)
