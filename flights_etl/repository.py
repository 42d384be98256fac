"""The Dagster repository: plain lists of the pipelines, partition sets and schedules."""
from dagster import repository

from flights_etl.partitions import flights_daily_partition_set, flights_monthly_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.pipelines.flights_monthly import flights_monthly_pipeline
from flights_etl.schedules import flights_daily_schedule, flights_monthly_schedule


@repository
def flights_etl():
    pipelines = [flights_daily_pipeline, flights_monthly_pipeline]
    partition_sets = [flights_daily_partition_set, flights_monthly_partition_set]
    schedules = [flights_daily_schedule, flights_monthly_schedule]
    return pipelines + partition_sets + schedules
