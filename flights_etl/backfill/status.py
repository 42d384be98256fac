"""``flights-etl status``: the latest run of every partition, what is missing, and a calendar."""
import calendar
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional

from dagster import AssetKey, DagsterInstance, PartitionSetDefinition

from flights_etl.instance.materializations import metadata_value_of_runs
from flights_etl.partitions import traits_of
from flights_etl.runs.selection import latest_status_by_partition
from flights_etl.runs.statuses import ENDED as FINISHED_STATUSES

MISSING = "MISSING"
# CHANGED, LANDED and FILES_GONE: the day's landing files against its load (runs/changes.py).
CALENDAR_MARKS = {"SUCCESS": "#", "FAILURE": "x", "CANCELED": "x", MISSING: ".", "CHANGED": "c", "LANDED": "+",
                  "FILES_GONE": "-"}
IN_PROGRESS_MARK = "~"
STALE_MARK = "s"


@dataclass(frozen=True)
class PartitionStatus:
    partition: str
    status: str
    run_id: Optional[str]
    end_time: Optional[str]
    rows: Optional[int]


def partition_statuses(
    instance: DagsterInstance, partition_set: PartitionSetDefinition, changes: Optional[Dict[str, str]] = None,
    latest: Optional[Dict[str, object]] = None,
) -> List[PartitionStatus]:
    """One entry per partition of the set, in order; ``MISSING`` where no run exists. ``changes``: a
    daily set's statuses from its landing files (``runs.changes.day_statuses``), which replace the runs'.
    ``latest``: the latest run of each partition, if the caller has just read them."""
    if latest is None:
        latest = latest_status_by_partition(instance, partition_set)
    rows = _rows_by_run(instance, traits_of(partition_set).rows_table, [run.run_id for run in latest.values()])
    statuses = []
    for name in partition_set.get_partition_names():
        run = latest.get(name)
        if run is None:
            statuses.append(PartitionStatus(name, (changes or {}).get(name, MISSING), None, None, None))
            continue
        end = datetime.fromtimestamp(run.end_time, timezone.utc).isoformat(timespec="seconds") if run.end_time else None
        status = (changes or {}).get(name, run.status.value)
        statuses.append(PartitionStatus(name, status, run.run_id, end, rows.get(run.run_id)))
    return statuses


class RunsStillGoing(RuntimeError):
    """Some partition's latest run was still queued or running when the wait ran out."""


def wait_until_settled(
    instance: DagsterInstance,
    partition_set: PartitionSetDefinition,
    timeout_s: float,
    report: Callable[[str], None] = lambda _text: None,
    poll_s: float = 0.5,
) -> None:
    """Return once no partition's latest run is queued, starting or running. A run whose process
    is gone is marked failed as it is found (``runs.liveness``), never waited on."""
    from flights_etl.runs.selection import latest_after_reaping
    from flights_etl.runs.watchdog import describe

    deadline = time.monotonic() + timeout_s
    last_reported = None
    while True:
        latest, reaped = latest_after_reaping(instance, partition_set, found_by="flights-etl status --wait")
        for run, reason in reaped:
            report(describe(run, reason))
        going = sorted(name for name, run in latest.items() if run.status not in FINISHED_STATUSES)
        if not going:
            return
        if time.monotonic() >= deadline:
            raise RunsStillGoing(
                f"{len(going)} runs of {partition_set.name} still queued or running after {timeout_s:.0f} s: "
                + ", ".join(going[:10])
            )
        if len(going) != last_reported:
            report(f"waiting for {len(going)} runs still queued or running ...")
            last_reported = len(going)
        time.sleep(poll_s)


def _rows_by_run(instance: DagsterInstance, table: Optional[str], run_ids: List[str]) -> Dict[str, int]:
    """Rows each of ``run_ids`` loaded, from the ``rows`` metadata of its ``warehouse/<table>`` materialization."""
    if table is None:
        return {}
    values = metadata_value_of_runs(instance, AssetKey(["warehouse", table]), run_ids, "rows")
    return {run_id: int(value) for run_id, value in values.items()}


def counts(statuses: List[PartitionStatus]) -> Dict[str, int]:
    result: Dict[str, int] = {}
    for status in statuses:
        result[status.status] = result.get(status.status, 0) + 1
    return dict(sorted(result.items()))


def as_json_document(partition_set_name: str, statuses: List[PartitionStatus], months=None) -> dict:
    """The status as a document; for the monthly set each month also says when its report was built
    and which of its days are stale (loaded again since), missing, failed or running."""
    partitions = [asdict(s) for s in statuses]
    if months is not None:
        by_month = {state.month: state for state in months}
        for entry in partitions:
            state = by_month[entry["partition"]]
            entry.update(
                report_built_at=state.built_at,
                report_run_id=state.built.run_id if state.built else None,
                stale=bool(state.stale_days),
                stale_days=state.stale_days,
                missing_days=state.missing_days,
                failed_days=state.failed_days,
                running_days=state.running_days,
            )
    return {
        "partition_set": partition_set_name,
        "counts": counts(statuses),
        "missing": [s.partition for s in statuses if s.status == MISSING],
        "partitions": partitions,
    }


def month_lines(months) -> List[str]:
    """One line per month that has anything to say: its report, stale days, what it waits for."""
    lines = []
    for state in months:
        if state.built is None and state.report is None and len(state.missing_days) == len(state.days):
            continue
        report = f"report built {state.built_at} (run {state.built.run_id[:8]})" if state.built else "no report"
        if state.report_running:
            report += f"; report run {state.report.run_id[:8]} {state.report.status.lower()}"
        elif state.report is not None and state.report.status in ("FAILURE", "CANCELED"):
            report += f"; latest report run {state.report.run_id[:8]} {state.report.status.lower()}"
        notes = []
        if state.stale_days:
            notes.append(f"STALE: {len(state.stale_days)} days loaded again since: {', '.join(state.stale_days[:6])}"
                         + (" ..." if len(state.stale_days) > 6 else ""))
        waiting = state.waiting_for()
        if waiting:
            notes.append(f"days {waiting}")
        lines.append(f"{state.month}  {report}" + (f"; {'; '.join(notes)}" if notes else ""))
    return lines


def calendar_view(statuses: List[PartitionStatus], months=None) -> str:
    """Daily partitions as one line per month (a column per day of the month); monthly ones as one
    line per year. ``#`` success, ``x`` failed or canceled, ``~`` queued or running, ``.`` missing;
    for months, ``s`` a stale report (a day was loaded again after it was built)."""
    marks = {s.partition: CALENDAR_MARKS.get(s.status, IN_PROGRESS_MARK) for s in statuses}
    legend = "legend: # success  x failed/canceled  ~ queued/running  . missing"
    if any(s.status in ("CHANGED", "LANDED", "FILES_GONE") for s in statuses) or len(statuses[0].partition) == 10:
        legend += "  c changed since loaded  + landed, not loaded  - loaded, files gone"
    if months is not None:
        for state in months:
            if state.stale_days and not state.report_running:
                marks[state.month] = STALE_MARK
        legend += f"  {STALE_MARK} stale report"
    if all(len(name) == 7 for name in marks):  # YYYY-MM
        years = sorted({name[:4] for name in marks})
        lines = ["     " + "".join(f"{month % 10}" for month in range(1, 13)) + "  (months)"]
        for year in years:
            lines.append(f"{year} " + "".join(marks.get(f"{year}-{m:02d}", " ") for m in range(1, 13)))
        return "\n".join(lines + [legend])
    months = sorted({name[:7] for name in marks})
    header = "        " + "".join(str(day % 10) for day in range(1, 32)) + "  (days)"
    lines = [header]
    for month in months:
        year, number = int(month[:4]), int(month[5:])
        days = calendar.monthrange(year, number)[1]
        lines.append(f"{month} " + "".join(marks.get(f"{month}-{day:02d}", " ") for day in range(1, days + 1)))
    return "\n".join(lines + [legend])
