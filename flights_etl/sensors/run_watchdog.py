"""``flights_run_watchdog_sensor``: the daemon sweeps for stranded and dead runs every 30 s.

Thin: it calls ``runs.watchdog.sweep`` (which decides and acts) and says what it did in its
skip reason (shown on the sensor's page in Dagit). On by default: without it, nothing in the
daemon re-examines a QUEUED or NOT_STARTED run.
"""
import logging

from dagster import DefaultSensorStatus, SkipReason, sensor

from flights_etl.runs.watchdog import SWEEP_INTERVAL_S, describe, sweep

logger = logging.getLogger("flights_etl.watchdog")


@sensor(name="flights_run_watchdog_sensor", minimum_interval_seconds=SWEEP_INTERVAL_S,
        default_status=DefaultSensorStatus.RUNNING,
        description="Sends again or marks failed the runs left stranded (lost task, dead worker or creator).")
def flights_run_watchdog_sensor(context):
    handled = sweep(context.instance, found_by="flights watchdog sensor")
    if not handled:
        yield SkipReason("no stranded run")
        return
    lines = [describe(run, reason) for run, reason in handled]
    for line in lines:
        logger.info(line)  # the daemon's log
    yield SkipReason(f"{len(lines)} runs handled: " + "; ".join(lines[:5]) + (" ..." if len(lines) > 5 else ""))
