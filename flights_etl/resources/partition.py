"""The partition a run works on: one resource per pipeline, the only place its date is given.

The partition sets fill in ``resources.daily_partition.config.date`` (``YYYY-MM-DD``) or
``resources.monthly_partition.config.month`` (``YYYY-MM``); every solid reads it from here,
so no run config can give two solids of one run different days. A value that is not a real
day or month fails the first step that reads it, with a message naming the config path. A run
whose config names another partition than its ``dagster/partition`` tag fails while its resources
start, before any step runs (Dagit would show the tag's partition as loaded).
"""
from datetime import date

from dagster import Failure, Field, MetadataValue, resource

from flights_etl.dates import month_end, parse_day, parse_month
from flights_etl.partitions import DAILY_SET, MONTHLY_SET
from flights_etl.runs.tags import PARTITION_SET_TAG, PARTITION_TAG


class _Partition:
    _config_path = ""
    partition_set = ""  # the set whose partitions these are (the tag status and Dagit count runs by)

    def __init__(self, text: str):
        self.text = text

    def _parsed(self, parse) -> date:
        try:
            return parse(self.text)
        except ValueError as error:
            raise Failure(
                description=f"Invalid run config at {self._config_path}: {error}",
                metadata={"config_path": self._config_path, "value": MetadataValue.text(str(self.text))},
            ) from None


class DailyPartition(_Partition):
    _config_path = "resources.daily_partition.config.date"
    partition_set = DAILY_SET

    @property
    def day(self) -> date:
        return self._parsed(parse_day)

    @property
    def name(self) -> str:
        return self.day.isoformat()


class MonthlyPartition(_Partition):
    _config_path = "resources.monthly_partition.config.month"
    partition_set = MONTHLY_SET

    @property
    def start(self) -> date:
        return self._parsed(parse_month)

    @property
    def end(self) -> date:
        return month_end(self.start)

    @property
    def name(self) -> str:
        return f"{self.start:%Y-%m}"


@resource(
    config_schema={
        "date": Field(str, description="The day to process, YYYY-MM-DD (filled in by flights_daily_partition_set).")
    },
    description="The run's daily partition.",
)
def daily_partition_resource(init_context) -> DailyPartition:
    return _agreeing_with_tag(DailyPartition(init_context.resource_config["date"]), init_context)


@resource(
    config_schema={
        "month": Field(str, description="The month to process, YYYY-MM (filled in by flights_monthly_partition_set).")
    },
    description="The run's monthly partition.",
)
def monthly_partition_resource(init_context) -> MonthlyPartition:
    return _agreeing_with_tag(MonthlyPartition(init_context.resource_config["month"]), init_context)


def _agreeing_with_tag(partition: _Partition, init_context) -> _Partition:
    """The partition, if the run's ``dagster/partition`` tag (what Dagit's Partitions tab, status and
    the backfills count as loaded) names the same one. A run launched without the tag (``dagster
    pipeline execute -c day.yaml``, a Launchpad run without a partition) is tagged with its config's
    partition before any step: it loads that day, so every view must count it as that day's latest run."""
    run = init_context.dagster_run
    tag = run.tags.get(PARTITION_TAG) if run is not None else None
    if tag is None:
        try:
            name = partition.name
        except Failure:
            return partition  # not a partition at all: the first step that reads it fails, naming its config path
        if run is not None and init_context.instance is not None:
            init_context.instance.add_run_tags(
                run.run_id, {PARTITION_TAG: name, PARTITION_SET_TAG: partition.partition_set})
        return partition
    name = partition.name  # an invalid date or month fails here, naming its config path
    if tag != name:
        raise Failure(
            description=f"Refused: {partition._config_path} is {name} but the run's {PARTITION_TAG} tag is "
            f"{tag}; a run loads one partition, so launch it from the partition set",
            metadata={"config_path": partition._config_path, "config": name, "tag": tag},
        )
    return partition
