"""Which partitions a backfill runs: the requested range, narrowed by the latest run of each."""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from dagster import DagsterInstance, PartitionSetDefinition

from flights_etl.dagster_private import RunsFilter
from flights_etl.runs.statuses import FAILED as FAILED_STATUSES
from flights_etl.runs.tags import PARTITION_SET_TAG

ONLY_CHOICES = ("all", "missing", "failed", "changed")


class SelectionError(ValueError):
    """A partition request that names partitions the set does not have."""


def requested_partitions(
    all_names: Sequence[str],
    start: Optional[str] = None,
    end: Optional[str] = None,
    names: Optional[Iterable[str]] = None,
    everything: bool = False,
) -> List[str]:
    """The partitions asked for, in the set's order: ``start..end`` (both included), a list, or all."""
    if everything:
        return list(all_names)
    if names is not None:
        wanted = [name.strip() for name in names if name.strip()]
        if not wanted:
            raise SelectionError("--partitions names no partition")
        unknown = [name for name in wanted if name not in all_names]
        if unknown:
            raise SelectionError(f"Not in the partition set: {', '.join(unknown)}")
        wanted_set = set(wanted)
        return [name for name in all_names if name in wanted_set]
    for bound, value in (("--from", start), ("--to", end)):
        if value not in all_names:
            raise SelectionError(
                f"{bound} {value} is not a partition of the set ({all_names[0]} .. {all_names[-1]})"
            )
    first, last = all_names.index(start), all_names.index(end)
    if last < first:
        raise SelectionError(f"--to {end} is before --from {start}")
    return list(all_names[first : last + 1])


def parse_only(text: str) -> frozenset:
    """``all``, or any of ``missing``, ``failed``, ``changed`` joined by commas, to a set of choices."""
    choices = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = choices - set(ONLY_CHOICES)
    if not choices or unknown:
        raise SelectionError(f"--only takes all, or missing, failed, changed or several joined by commas; got {text!r}")
    if "all" in choices and len(choices) > 1:
        raise SelectionError("--only all cannot be combined with other choices")
    return choices


def latest_status_by_partition(instance: DagsterInstance, partition_set: PartitionSetDefinition) -> Dict[str, object]:
    """The latest run of every partition that has one, by the ``dagster/partition`` and
    ``dagster/partition_set`` tags (``RunPartitionData``: run_id, status, start_time, end_time)."""
    runs = RunsFilter(
        pipeline_name=partition_set.pipeline_name, tags={PARTITION_SET_TAG: partition_set.name}
    )
    return {data.partition: data for data in instance.get_run_partition_data(runs)}


def latest_after_reaping(
    instance: DagsterInstance, partition_set: PartitionSetDefinition, found_by: str
) -> Tuple[Dict[str, object], List[Tuple[object, str]]]:
    """The latest run of every partition, after the watchdog's sweep (``runs.watchdog``: runs whose
    process or worker is gone marked failed, stranded ones sent again or marked); also returns the
    runs so handled, with the reason."""
    from flights_etl.runs.watchdog import sweep

    reaped = sweep(instance, found_by=found_by)
    return latest_status_by_partition(instance, partition_set), reaped


def narrow(
    requested: Sequence[str], latest: Dict[str, object], only: frozenset, changes: Optional[Dict[str, str]] = None
) -> List[str]:
    """Keep the requested partitions that match ``only``: no run yet (missing), a latest run that
    failed or was canceled (failed), or landed files that differ from what the warehouse holds for
    the day (changed: ``changes``, the days' statuses from ``runs.changes``, says CHANGED, or LANDED
    although a run exists)."""
    if "all" in only:
        return list(requested)
    chosen = []
    for name in requested:
        run = latest.get(name)
        if ("missing" in only and run is None) or (
            "failed" in only and run is not None and run.status in FAILED_STATUSES
        ) or ("changed" in only and _changed((changes or {}).get(name), run)):
            chosen.append(name)
    return chosen


def _changed(status: Optional[str], run) -> bool:
    return status == "CHANGED" or (status == "LANDED" and run is not None)
