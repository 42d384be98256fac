"""Check that every day of the month has been loaded before summarizing it."""
from dagster import Failure, Nothing, Output, OutputDefinition, solid

from flights_etl.dates import month_days


def missing_days(loaded_days, month):
    """The days of ``month``'s month that are not in ``loaded_days``, in order."""
    loaded = set(loaded_days)
    return [day for day in month_days(month) if day not in loaded]


@solid(
    required_resource_keys={"warehouse", "monthly_partition"},
    output_defs=[OutputDefinition(Nothing)],
    description="Fail, naming the days, unless every daily partition of the month is in table flights.",
)
def check_month_loaded(context):
    month = context.resources.monthly_partition
    loaded = context.resources.warehouse.loaded_days(month.start, month.end)
    missing = missing_days(loaded, month.start)
    if missing:
        shown = ", ".join(day.isoformat() for day in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise Failure(
            description=(
                f"Month {month.name} is missing {len(missing)} of {len(month_days(month.start))} daily partitions "
                f"in table flights: {shown}. Load them first: `flights-etl backfill --partition-set "
                f"flights_daily_partition_set --from {missing[0]} --to {missing[-1]} --only missing,failed`."
            ),
            metadata={"missing_days": len(missing), "first_missing": missing[0].isoformat()},
        )
    yield Output(None, metadata={"days_loaded": len(loaded)})
