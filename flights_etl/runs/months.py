"""Each month's state, from the runs in the instance: its days, its report, and whether the report is stale.

A day is loaded when its latest run (tag ``dagster/partition`` of flights_daily_partition_set)
succeeded; the month's report was built by the latest successful run of
flights_monthly_partition_set for it. The report is **stale** when a day's latest successful
load ended after that report run started (the report may not have read it). Used by the
monthly-report sensor and by ``flights-etl status``.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Dict, List, Optional

from dagster import DagsterInstance, PartitionSetDefinition, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from flights_etl.dates import month_days, parse_month
from flights_etl.runs.statuses import IN_PROGRESS
from flights_etl.runs.tags import PARTITION_SET_TAG


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    status: str
    start_time: Optional[float]
    end_time: Optional[float]

    @property
    def ended(self) -> Optional[str]:
        return _iso(self.end_time)


@dataclass
class MonthState:
    month: str  # YYYY-MM
    days: Dict[str, Optional[RunInfo]]  # every day of the month -> its latest run (None: never run)
    report: Optional[RunInfo]  # the month's latest report run, whatever its status
    built: Optional[RunInfo]  # the month's latest successful report run
    stale_days: List[str] = field(default_factory=list)

    def days_with(self, *statuses: str) -> List[str]:
        return [day for day, run in self.days.items() if run is not None and run.status in statuses]

    @property
    def missing_days(self) -> List[str]:
        return [day for day, run in self.days.items() if run is None]

    @property
    def failed_days(self) -> List[str]:
        return self.days_with("FAILURE", "CANCELED")

    @property
    def running_days(self) -> List[str]:
        return self.days_with(*(status.value for status in IN_PROGRESS))

    @property
    def all_loaded(self) -> bool:
        return all(run is not None and run.status == "SUCCESS" for run in self.days.values())

    @property
    def report_running(self) -> bool:
        return self.report is not None and self.report.status in {status.value for status in IN_PROGRESS}

    @property
    def needs_report(self) -> bool:
        """Every day loaded, and no report yet or a stale one, and no report run under way."""
        return self.all_loaded and not self.report_running and (self.built is None or bool(self.stale_days))

    @property
    def change_key(self) -> str:
        """Names the month's loaded state: the same latest day runs give the same key (one report per change)."""
        digest = hashlib.sha1(
            ",".join(f"{day}={run.run_id if run else '-'}" for day, run in sorted(self.days.items())).encode()
        ).hexdigest()
        return f"{self.month}:{digest[:16]}"

    @property
    def built_at(self) -> Optional[str]:
        return self.built.ended if self.built else None

    def waiting_for(self) -> str:
        """Which days keep the report from being built, e.g. ``2013-02-03 failed; 2013-02-10..2013-02-28 missing``."""
        parts = []
        for label, days in (("failed", self.failed_days), ("running or queued", self.running_days),
                            ("missing", self.missing_days)):
            if days:
                parts.append(f"{_ranges(days)} {label}")
        return "; ".join(parts)


def month_states(
    instance: DagsterInstance,
    daily_set: PartitionSetDefinition,
    monthly_set: PartitionSetDefinition,
    months: Optional[List[str]] = None,
) -> List[MonthState]:
    """The state of each month of ``monthly_set`` (or of ``months``), from four run-storage queries."""
    days = _latest(instance, daily_set)
    reports = _latest(instance, monthly_set)
    built = _latest(instance, monthly_set, statuses=[PipelineRunStatus.SUCCESS])
    states = []
    for month in months if months is not None else monthly_set.get_partition_names():
        month_runs = {day.isoformat(): days.get(day.isoformat()) for day in month_days(parse_month(month))}
        state = MonthState(month, month_runs, reports.get(month), built.get(month))
        if state.built is not None and state.built.start_time is not None:
            state.stale_days = [
                day for day, run in month_runs.items()
                if run is not None and run.status == "SUCCESS" and (run.end_time or 0) > state.built.start_time
            ]
        states.append(state)
    return states


def _latest(instance: DagsterInstance, partition_set: PartitionSetDefinition, statuses=None) -> Dict[str, RunInfo]:
    runs = RunsFilter(
        pipeline_name=partition_set.pipeline_name,
        tags={PARTITION_SET_TAG: partition_set.name},
        statuses=statuses or [],
    )
    return {
        data.partition: RunInfo(data.run_id, data.status.value, data.start_time, data.end_time)
        for data in instance.get_run_partition_data(runs)
    }


def _iso(timestamp: Optional[float]) -> Optional[str]:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds") if timestamp else None


def _ranges(days: List[str]) -> str:
    """Consecutive days written as first..last: ``2013-02-01..2013-02-05, 2013-02-09``."""
    ordered = sorted(date.fromisoformat(day) for day in days)
    groups, start, previous = [], ordered[0], ordered[0]
    for day in ordered[1:] + [None]:
        if day is not None and (day - previous).days == 1:
            previous = day
            continue
        groups.append(start.isoformat() if start == previous else f"{start}..{previous}")
        if day is not None:
            start = previous = day
    return ", ".join(groups)
