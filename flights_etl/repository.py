"""The Dagster repositories: plain lists of the pipelines, partition sets, schedules and sensors.

``flights_etl`` (the embedded default) runs its partition sets, schedules and sensors in the
``local`` mode; ``flights_etl_prod`` is the same in the ``prod`` mode (completion messages and
failure alerts on Slack). The workspace picks one: ``workspace.yaml`` loads ``flights_etl``,
``deploy/workspace.prod.yaml`` loads ``flights_etl_prod``.
"""
from dagster import AssetKey, SourceAsset, repository

from flights_etl.partitions import daily_partition_set, monthly_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline
from flights_etl.schedules import daily_schedule, monthly_schedule
from flights_etl.sensors.failure_alerts import flights_failure_alert_sensor
from flights_etl.sensors.landing import landing_sensor
from flights_etl.sensors.monthly_report import monthly_report_sensor
from flights_etl.sensors.run_watchdog import flights_run_watchdog_sensor

# The landing files as source assets: Dagit's asset graph starts from them (solids/reporting.py).
LANDING_ASSETS = [
    SourceAsset(AssetKey(["landing", dataset]), description=f"The day's {dataset} landing files (one per day).")
    for dataset in ("flights", "weather")
]


def definitions(mode: str) -> list:
    daily, monthly = daily_partition_set(mode), monthly_partition_set(mode)
    pipelines = [flights_daily_pipeline, flights_monthly_pipeline]
    partition_sets = [daily, monthly]
    schedules = [daily_schedule(daily), monthly_schedule(monthly)]
    sensors = [
        monthly_report_sensor(daily, monthly), flights_failure_alert_sensor, landing_sensor(daily), flights_run_watchdog_sensor,
    ]
    return pipelines + partition_sets + schedules + sensors + LANDING_ASSETS


@repository
def flights_etl():
    return definitions("local")


@repository
def flights_etl_prod():
    return definitions("prod")
