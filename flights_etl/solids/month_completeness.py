"""Check that every day of the month has been loaded before summarizing it."""
from datetime import date

from dagster import Failure, Output, solid

from flights_etl.landing import days_between
from flights_etl.solids.partition_config import MONTH_CONFIG, partition_month
from flights_etl.warehouse import ensure_tables


def month_end(month_start: date) -> date:
    next_month = date(month_start.year + month_start.month // 12, month_start.month % 12 + 1, 1)
    return date.fromordinal(next_month.toordinal() - 1)


def missing_days(loaded_days, month_start: date):
    """The days of ``month_start``'s month that are not in ``loaded_days``, in order."""
    loaded = set(loaded_days)
    return [day for day in days_between(month_start, month_end(month_start)) if day not in loaded]


@solid(
    config_schema=MONTH_CONFIG,
    required_resource_keys={"warehouse"},
    description="Fail, naming the days, unless every daily partition of the month is in table flights.",
)
def check_month_loaded(context) -> str:
    start = partition_month(context)
    end = month_end(start)
    with context.resources.warehouse.connect() as connection:
        ensure_tables(connection)
        loaded = [
            row[0]
            for row in connection.execute(
                "SELECT DISTINCT partition_date FROM flights WHERE partition_date BETWEEN ? AND ?", [start, end]
            ).fetchall()
        ]
    missing = missing_days(loaded, start)
    if missing:
        shown = ", ".join(day.isoformat() for day in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise Failure(
            description=(
                f"Month {start:%Y-%m} is missing {len(missing)} of {(end - start).days + 1} daily partitions "
                f"in table flights: {shown}. Load them first, e.g. `dagster pipeline backfill -w workspace.yaml "
                f"-p flights_daily_pipeline --partition-set flights_daily_partition_set "
                f"--from {missing[0]} --to {missing[-1]} --noprompt`."
            ),
            metadata={"missing_days": len(missing), "first_missing": missing[0].isoformat()},
        )
    yield Output(f"{start:%Y-%m}", metadata={"days_loaded": len(loaded)})
