"""Build the month's ``monthly_report`` rows from the warehouse's flights."""
from dagster import Nothing, Output, OutputDefinition, solid

from flights_etl.solids.reporting import asset_input, table_metadata, table_output, with_asset_keys
from flights_etl.solids.types import Summary


def _month(resources) -> str:
    return resources.monthly_partition.name


@with_asset_keys(solid(
    # Reads the month's flights from the warehouse: Dagit draws warehouse/flights -> monthly_report.
    input_defs=[asset_input("month_checked", ["warehouse", "flights"], Nothing)],
    output_defs=[table_output("monthly_report", _month), OutputDefinition(Summary)],
    required_resource_keys={"warehouse", "monthly_partition"},
    description="Per carrier: flights, cancellations, on-time share (arrival delay <= 15 min) and mean delays.",
))
def build_monthly_report(context) -> str:
    from flights_etl.transforms.monthly_report import REPORT_INPUT_COLUMNS, summarize_month  # pandas: when run

    month = context.resources.monthly_partition
    warehouse = context.resources.warehouse
    flights = warehouse.month_flights(month.start, REPORT_INPUT_COLUMNS)
    report = summarize_month(flights)
    warehouse.replace_month(month.start, report)
    yield Output(len(report), "monthly_report_table", metadata=table_metadata(report))
    best = report.sort_values("on_time_share", ascending=False).iloc[0]
    yield Output(
        f"{month.name}: {len(flights)} flights over {len(report)} carriers; "
        f"best on-time share {best['carrier']} ({best['on_time_share']:.1%})"
    )
