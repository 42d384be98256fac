"""``flights_monthly_pipeline``: roll a fully loaded month up into ``monthly_report``."""
from dagster import pipeline

from flights_etl.modes import MODES
from flights_etl.solids.month_completeness import check_month_loaded
from flights_etl.solids.monthly_report import build_monthly_report
from flights_etl.solids.notify import notify_complete


@pipeline(
    mode_defs=MODES,
    description="Check every day of the month is loaded, then build monthly_report per carrier.",
    tags={"pipeline_family": "flights"},
)
def flights_monthly_pipeline():
    notify_complete(build_monthly_report(check_month_loaded()).result)
