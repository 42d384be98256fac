"""A fix to dagster-graphql 0.15.10 that ``flights-dagit`` applies before serving."""


def keep_backfill_partition_ids_apart() -> None:
    """dagster-graphql 0.15.10 gives a backfill's partitions that have no run yet the GraphQL id of the
    partition set's own status of that partition (``<set>:<partition>``, without the backfill's
    ``:<backfill id>`` suffix its other partitions get). Dagit's cache merges objects by id, so the
    backfill table's "no run yet" overwrote the Partitions tab's status: loaded days turned grey
    and *Missing* jumped until the daemon created the runs. Give them the suffix too (idempotent;
    ``flights-dagit`` calls it before serving)."""
    from dagster_graphql.schema import backfill

    original = backfill.partition_statuses_from_run_partition_data
    if getattr(original, "keeps_backfill_ids_apart", False):
        return

    def statuses_with_backfill_ids(partition_set_name, run_partition_data, partition_names, backfill_id=None):
        statuses = original(partition_set_name, run_partition_data, partition_names, backfill_id=backfill_id)
        if backfill_id:
            for status in statuses.results:
                if not status.id.endswith(f":{backfill_id}"):
                    status.id = f"{status.id}:{backfill_id}"
        return statuses

    statuses_with_backfill_ids.keeps_backfill_ids_apart = True
    backfill.partition_statuses_from_run_partition_data = statuses_with_backfill_ids
