"""``flights_monthly_report_sensor``: build a month's report once all its days are loaded, and again
whenever one of its days is loaded again after the report was built.

Never while a day of the month is missing, failed, queued or running, nor while a report run of
the month is under way. The run key is the month's loaded state (its days' latest runs), so a
backfill that reloads all 31 days yields one report run after the last of them, not 31, and a
report run that fails is not retried until a day changes (the failure sensor alerts instead).
Each evaluation's decisions are in the skip reason (no run to request) or the cursor (JSON, one
entry per month), both shown on the sensor's page in Dagit.
"""
import json
from typing import Dict, List

from dagster import DefaultSensorStatus, PartitionSetDefinition, RunRequest, SensorDefinition, SkipReason, sensor

from flights_etl.runs.months import MonthState, month_states

MINIMUM_INTERVAL_S = 15


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
        context.update_cursor(json.dumps(words, sort_keys=True))
        requests = []
        for state in states:
            if state.needs_report:
                partition = monthly_set.get_partition(state.month)
                requests.append(
                    RunRequest(
                        run_key=state.change_key,
                        run_config=monthly_set.run_config_for_partition(partition),
                        tags={**monthly_set.tags_for_partition(partition), "flights/requested_by": "sensor"},
                    )
                )
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
