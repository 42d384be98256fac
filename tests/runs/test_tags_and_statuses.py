"""The one home of run tags and run-status sets agrees with what Dagster 0.15.10 writes and defines."""
from dagster import PipelineRunStatus

from flights_etl import dagster_private as internals
from flights_etl.partitions import daily_partition_set, monthly_partition_set
from flights_etl.runs import statuses, tags


def test_partition_tags_are_the_keys_dagsters_partition_sets_write():
    daily = daily_partition_set()
    written = daily.tags_for_partition(daily.get_partition("2013-01-15"))
    assert written[tags.PARTITION_TAG] == "2013-01-15"
    assert written[tags.PARTITION_SET_TAG] == daily.name
    assert written[tags.GRANULARITY_TAG] == "daily" and written[tags.MONTH_TAG] == "2013-01"
    monthly = monthly_partition_set()
    assert monthly.tags_for_partition(monthly.get_partition("2013-02"))[tags.MONTH_TAG] == "2013-02"


def test_backfill_tag_is_dagsters():
    assert tags.BACKFILL_TAG == internals.BACKFILL_ID_TAG


def test_status_sets_cover_every_status_once():
    every = set(PipelineRunStatus)
    assert set(statuses.ENDED) | set(statuses.IN_PROGRESS) == every - {PipelineRunStatus.MANAGED}
    assert not set(statuses.ENDED) & set(statuses.IN_PROGRESS)
    assert set(statuses.WAITING) | set(statuses.RUNNING) == set(statuses.IN_PROGRESS)
    assert set(statuses.FAILED) == set(statuses.ENDED) - {PipelineRunStatus.SUCCESS}
    assert set(statuses.UNFINISHED) == set(statuses.IN_PROGRESS) - {PipelineRunStatus.QUEUED}
    assert statuses.WAITING[1:] == (PipelineRunStatus.QUEUED, PipelineRunStatus.STARTING)  # the watchdog's slice
