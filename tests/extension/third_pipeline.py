"""A newcomer's own daily-partitioned pipeline, added by its definitions only (test-only code).

``carrier_counts_pipeline`` counts each day's landed flights per carrier and writes them to
``<$CARRIER_COUNTS_DIR>/<day>.json``. Its repository is the shipped ``definitions("local")`` plus
this pipeline and its partition set: nothing in ``flights_etl`` names them.
"""
import json
import os

from dagster import ModeDefinition, PartitionSetDefinition, repository, resource, solid
from dagster import pipeline as pipeline_decorator

from flights_etl.modes import EXECUTORS
from flights_etl.partitions import SetTraits, daily_partitions, daily_run_config, daily_tags, with_traits
from flights_etl.repository import definitions
from flights_etl.resources.landing import landing_resource
from flights_etl.resources.partition import daily_partition_resource

OUT_DIR_ENV = "CARRIER_COUNTS_DIR"


@resource(config_schema={}, description=f"Directory the counts are written to: ${OUT_DIR_ENV}.")
def counts_dir_resource(_init_context) -> str:
    return os.environ[OUT_DIR_ENV]


@solid(required_resource_keys={"daily_partition", "landing", "counts_dir"})
def count_carriers(context) -> None:
    day = context.resources.daily_partition.day
    frame, _gap, _path = context.resources.landing.read("flights", day)
    counts = {str(carrier): int(count) for carrier, count in frame.groupby("carrier").size().items()}
    target = os.path.join(context.resources.counts_dir, f"{day.isoformat()}.json")
    with open(target + ".tmp", "w") as handle:
        json.dump(counts, handle)
    os.replace(target + ".tmp", target)


@pipeline_decorator(
    mode_defs=[ModeDefinition(name="local", executor_defs=EXECUTORS, resource_defs={
        "daily_partition": daily_partition_resource, "landing": landing_resource, "counts_dir": counts_dir_resource,
    })],
)
def carrier_counts_pipeline():
    count_carriers()


carrier_counts_partition_set = with_traits(PartitionSetDefinition(
    name="carrier_counts_partition_set",
    pipeline_name="carrier_counts_pipeline",
    partition_fn=daily_partitions,
    run_config_fn_for_partition=daily_run_config,
    tags_fn_for_partition=daily_tags,
    mode="local",
), SetTraits(days=True))


@repository
def flights_etl_extended():
    return definitions("local") + [carrier_counts_pipeline, carrier_counts_partition_set]
