"""``flights_landing_sensor``: load a day by itself when its files land, and again when they change.

Each tick compares every day's landing files now with what the warehouse built the day from
(``runs.changes``: the same statuses ``flights-etl status`` shows) and requests the daily
partition's run, with the partition set's run config and tags, for each day that is LANDED (not
loaded) or CHANGED (loaded from other bytes), and for a failed day whose files changed since its
run. Its run key is the day plus the digest of the files' SHA-256s: the same bytes are never
launched twice, and a file rewritten byte-identical launches nothing. Never for a day with a run
queued or in flight; never before every file of the day is ``settle_s`` old (a file still being
written keeps changing its mtime); at most ``max_runs`` a tick, oldest day first, so a year landing
at once becomes an orderly stream. Both are read from the environment at each tick (never at
import): ``$FLIGHTS_LANDING_SETTLE_S`` (default 60) and ``$FLIGHTS_LANDING_MAX_RUNS`` (default 10;
0 launches nothing). The skip reason says what each waiting day waits for.
"""
import time
from datetime import date
from typing import Dict, List, Optional, Tuple

from dagster import DefaultSensorStatus, PartitionSetDefinition, RunRequest, SensorDefinition, SkipReason, sensor

from flights_etl import settings
from flights_etl.contract.paths import default_landing_dir
from flights_etl.dagster_private import RUN_KEY_TAG, RunsFilter
from flights_etl.runs.changes import CHANGED, LANDED, DayFiles, day_status, landing_now
from flights_etl.runs.selection import latest_status_by_partition
from flights_etl.runs.statuses import ENDED, FAILED
from flights_etl.runs.tags import LANDING_TAG, REQUESTED_BY_TAG
from flights_etl.warehouse import default_location, open_warehouse

NAME = "flights_landing_sensor"
DEFAULT_INTERVAL_S = 30
MINIMUM_INTERVAL_S = 5  # the daemon's sensor loop looks no more often
SETTLE_ENV, MAX_RUNS_ENV, INTERVAL_ENV = settings.LANDING_SETTLE_S, settings.LANDING_MAX_RUNS, settings.LANDING_INTERVAL_S
DEFAULT_SETTLE_S, DEFAULT_MAX_RUNS = 60.0, 10
REQUESTED_BY = "landing-sensor"  # the flights/requested_by tag of its runs
SHOWN = 8  # waiting days named in the skip reason


setting = settings.number  # a number from the environment, or a one-line error naming it


def decide(
    name: str, status: str, files: DayFiles, latest, launched: Dict[str, str], now: float, settle_s: float
) -> Tuple[Optional[str], Optional[str]]:
    """For one day: the run key to request (None: none) and what to say about it (None: nothing).

    ``status``: its ``day_status``; ``latest``: its latest run (``RunPartitionData``) or None;
    ``launched``: the run keys this sensor requested already, to their run ids."""
    if not files.landed:
        return None, None
    if latest is not None and latest.status not in ENDED:
        return None, f"waiting for run {latest.run_id[:8]} ({latest.status.value.lower()})"
    if status in {failed.value for failed in FAILED}:
        ran_at = latest.start_time or latest.end_time or 0.0
        if files.newest_mtime_s <= ran_at:
            return None, f"latest run {latest.run_id[:8]} {status.lower()}: waiting for changed files"
        why = f"files changed since run {latest.run_id[:8]} {status.lower()}"
    elif status == CHANGED:
        why = "changed since loaded"
    elif status == LANDED:
        why = "landed, not loaded"
    else:
        return None, None  # current, or its files are gone
    age = now - files.newest_mtime_s
    if age < settle_s:
        return None, f"{why}: waiting for its files to settle (written {max(age, 0):.0f} s ago, settle time {settle_s:.0f} s)"
    run_key = f"{name}:{files.digest}"
    if run_key in launched:
        return None, f"{why}: these very files were launched already (run {launched[run_key][:8]})"
    return run_key, why


def landing_sensor(daily_set: PartitionSetDefinition) -> SensorDefinition:
    """The sensor for one repository's daily partition set (runs take its mode); its interval is
    read now, as the repository loads."""

    @sensor(
        name=NAME,
        pipeline_name=daily_set.pipeline_name,
        mode=daily_set.mode,
        minimum_interval_seconds=int(setting(INTERVAL_ENV, DEFAULT_INTERVAL_S, minimum=MINIMUM_INTERVAL_S)),
        default_status=DefaultSensorStatus.RUNNING,
        description="Loads a day when its landing files are new or changed (once per content), after a settle time, "
        "a few days per tick.",
    )
    def flights_landing_sensor(context):
        settle_s = setting(SETTLE_ENV, DEFAULT_SETTLE_S)
        max_runs = int(setting(MAX_RUNS_ENV, DEFAULT_MAX_RUNS))
        if max_runs == 0:
            return SkipReason(f"${MAX_RUNS_ENV}=0: the sensor launches nothing (and looks at nothing)")
        instance = context.instance
        names = daily_set.get_partition_names()
        files = landing_now(instance, [date.fromisoformat(name) for name in names])
        latest = latest_status_by_partition(instance, daily_set)
        sources = open_warehouse(default_location()).last_sources()
        launched = {
            run.tags[RUN_KEY_TAG]: run.run_id
            for run in instance.get_runs(RunsFilter(pipeline_name=daily_set.pipeline_name,
                                                    tags={REQUESTED_BY_TAG: REQUESTED_BY}))
            if RUN_KEY_TAG in run.tags
        }
        now, requests, waiting = time.time(), [], []
        for name in names:
            run = latest.get(name)
            status = day_status(run.status.value if run else None, files[name], name in sources, sources.get(name))
            run_key, words = decide(name, status, files[name], run, launched, now, settle_s)
            if run_key is None:
                if words:
                    waiting.append(f"{name}: {words}")
                continue
            if len(requests) >= max_runs:
                break  # the rest next tick, oldest first
            partition = daily_set.get_partition(name)
            requests.append(RunRequest(
                run_key=run_key,
                run_config=daily_set.run_config_for_partition(partition),
                tags={**daily_set.tags_for_partition(partition), REQUESTED_BY_TAG: REQUESTED_BY,
                      LANDING_TAG: words},
            ))
        if requests:
            return requests
        if not any(day.landed for day in files.values()):
            return SkipReason(f"no day of {names[0]}..{names[-1]} has a flights file in {default_landing_dir()}")
        return SkipReason(_skip_reason(waiting))

    return flights_landing_sensor


def _skip_reason(waiting: List[str]) -> str:
    parts = waiting[:SHOWN]
    if len(waiting) > SHOWN:
        parts.append(f"{len(waiting) - SHOWN} more days waiting")
    return "; ".join(parts) or "every landed day is loaded from its current files"
