"""``flights_monthly_report_sensor``: build a month's report once all its days are loaded, and again
whenever one of its days is loaded again after the report was built.

Never while a day of the month is missing, failed, queued or running, nor while a report run of
the month is under way. The run key is the month's loaded state (its days' latest runs), so a
backfill that reloads all 31 days yields one report run after the last of them, not 31, and a
report run that fails is not retried until a day changes (the failure sensor alerts instead).
A report run whose launch failed (it failed before any step started: the broker or the code
server was unreachable) spent its run key without building anything, so the sensor requests the
report again under the key ``<change>:attempt<N>``: at most ``LAUNCH_ATTEMPTS`` launches per
change, the next one 60 s, 120 s, then 240 s after the last failed one.
Each evaluation's decisions are in the skip reason (no run to request) or the cursor (JSON, one
entry per month), both shown on the sensor's page in Dagit.
"""
import json
import time
from datetime import timezone
from typing import Dict, List, Optional, Tuple

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    PartitionSetDefinition,
    PipelineRunStatus,
    RunRequest,
    SensorDefinition,
    SkipReason,
    sensor,
)

from flights_etl.dagster_private import RUN_KEY_TAG, RunsFilter
from flights_etl.runs.months import MonthState, month_states
from flights_etl.runs.tags import PARTITION_SET_TAG, PARTITION_TAG, REQUESTED_BY_TAG

MINIMUM_INTERVAL_S = 15
LAUNCH_ATTEMPTS = 4  # launches of one month's report for one change of its days, the first included
RETRY_AFTER_S = 60.0  # after the n-th failed launch, the next waits RETRY_AFTER_S * 2**(n-1)
ATTEMPT = ":attempt"


def decisions(states: List[MonthState]) -> Dict[str, str]:
    """What the sensor decides for each month, in words."""
    words = {}
    for state in states:
        if state.report_running:
            words[state.month] = f"report run {state.report.run_id[:8]} {state.report.status.lower()}"
        elif not state.all_loaded:
            loaded = len(state.days_with("SUCCESS"))
            words[state.month] = (
                "no day loaded yet" if loaded == 0 and not state.failed_days and not state.running_days
                else f"waiting: {state.waiting_for()}"
            )
        elif state.built is None:
            words[state.month] = "all days loaded, no report yet: requesting one"
        elif state.stale_days:
            words[state.month] = f"report stale, days loaded again since: {', '.join(state.stale_days[:5])}: requesting one"
        else:
            words[state.month] = f"report up to date (built {state.built_at})"
    return words


def report_run_key(change_key: str, launch_failures: List[float], now: float) -> Tuple[Optional[str], Optional[str]]:
    """The run key under which to request a month's due report, or None and why not yet (or not again).

    ``launch_failures``: when each report run of this change that failed before any step started
    ended. The key stays the same until a launch fails, so the daemon launches one run per change.
    """
    failed = len(launch_failures)
    if failed == 0:
        return change_key, None
    if failed >= LAUNCH_ATTEMPTS:
        return None, (f"report launch failed {failed} times: not retrying (launch the month's report by hand "
                      "once the broker or code server is back)")
    wait_s = RETRY_AFTER_S * 2 ** (failed - 1) - (now - max(launch_failures))
    if wait_s > 0:
        return None, f"report launch failed ({failed} of {LAUNCH_ATTEMPTS} attempts): next attempt in {wait_s:.0f} s"
    return f"{change_key}{ATTEMPT}{failed + 1}", None


def launch_failures(instance: DagsterInstance, monthly_set: PartitionSetDefinition, state: MonthState) -> List[float]:
    """When each of this change's report runs that failed before any step started ended."""
    records = instance.get_run_records(RunsFilter(
        pipeline_name=monthly_set.pipeline_name,
        tags={PARTITION_SET_TAG: monthly_set.name, PARTITION_TAG: state.month},
        statuses=[PipelineRunStatus.FAILURE],
    ))
    ended = []
    for record in records:
        key = record.pipeline_run.tags.get(RUN_KEY_TAG, "")
        if key != state.change_key and not key.startswith(state.change_key + ATTEMPT):
            continue
        if instance.all_logs(record.pipeline_run.run_id, of_type=DagsterEventType.STEP_START):
            continue  # a real failure: the failure sensor alerts; it is not retried until a day changes
        # (end_time is set by the run's failure event; the update timestamp is stored as naive UTC)
        ended.append(record.end_time or record.update_timestamp.replace(tzinfo=timezone.utc).timestamp())
    return ended


def monthly_report_sensor(daily_set: PartitionSetDefinition, monthly_set: PartitionSetDefinition) -> SensorDefinition:
    """The sensor for one repository's partition sets (runs take the monthly set's mode)."""

    @sensor(
        name="flights_monthly_report_sensor",
        pipeline_name=monthly_set.pipeline_name,
        mode=monthly_set.mode,
        minimum_interval_seconds=MINIMUM_INTERVAL_S,
        default_status=DefaultSensorStatus.RUNNING,
        description="Builds a month's report when all its days are loaded, and again when a day is reloaded after it.",
    )
    def flights_monthly_report_sensor(context):
        states = month_states(context.instance, daily_set, monthly_set)
        words = decisions(states)
        requests = []
        for state in states:
            if state.needs_report:
                failures = launch_failures(context.instance, monthly_set, state)
                run_key, why_not = report_run_key(state.change_key, failures, time.time())
                if run_key is None:
                    words[state.month] = why_not
                    continue
                if failures:
                    words[state.month] = f"report launch failed ({len(failures)} of {LAUNCH_ATTEMPTS}): requesting it again"
                partition = monthly_set.get_partition(state.month)
                requests.append(
                    RunRequest(
                        run_key=run_key,
                        run_config=monthly_set.run_config_for_partition(partition),
                        tags={**monthly_set.tags_for_partition(partition), REQUESTED_BY_TAG: "sensor"},
                    )
                )
        context.update_cursor(json.dumps(words, sort_keys=True))
        if requests:
            return requests
        interesting = {month: text for month, text in words.items() if text != "no day loaded yet"}
        idle = len(words) - len(interesting)
        return SkipReason(
            "; ".join(f"{month}: {text}" for month, text in interesting.items())
            + (f"; {idle} months with no day loaded" if idle else "")
            or "no month has a day loaded"
        )

    return flights_monthly_report_sensor
