"""Build the month's ``monthly_report`` rows from the warehouse's flights."""
from dagster import Output, solid

from flights_etl.solids.month_completeness import month_end
from flights_etl.solids.partition_config import MONTH_CONFIG, partition_month
from flights_etl.solids.reporting import partition_materialization
from flights_etl.transforms.monthly_report import summarize_month
from flights_etl.warehouse import replace_partitions


@solid(
    config_schema=MONTH_CONFIG,
    required_resource_keys={"warehouse"},
    description="Per carrier: flights, cancellations, on-time share (arrival delay <= 15 min) and mean delays.",
)
def build_monthly_report(context, month_checked: str) -> str:
    start = partition_month(context)
    with context.resources.warehouse.connect() as connection:
        flights = connection.execute(
            "SELECT carrier, dep_time, dep_delay, arr_delay FROM flights WHERE partition_date BETWEEN ? AND ?",
            [start, month_end(start)],
        ).df()
        report = summarize_month(flights)
        replace_partitions(connection, start, {"monthly_report": report})
    yield partition_materialization("monthly_report", month_checked, report)
    best = report.sort_values("on_time_share", ascending=False).iloc[0]
    yield Output(
        f"{month_checked}: {len(flights)} flights over {len(report)} carriers; "
        f"best on-time share {best['carrier']} ({best['on_time_share']:.1%})"
    )
