"""The environment variables the project reads: the one module that reads them, at call time (never at import).

The README's configuration table lists exactly the variables of ``SETTINGS`` (tests/test_settings.py checks it).
Modules keep their own parsing (a number, a day, a URL) and name the variable in their errors.
"""
import os
from typing import NamedTuple, Optional

WAREHOUSE = "FLIGHTS_WAREHOUSE"
LANDING_DIR = "FLIGHTS_LANDING_DIR"
STEP_STORAGE = "FLIGHTS_STEP_STORAGE"
LAST_DAY = "FLIGHTS_LAST_DAY"
BROKER_URL = "FLIGHTS_BROKER_URL"
WORKER_NAME = "FLIGHTS_WORKER_NAME"
BACKFILL_POOLING = "FLIGHTS_BACKFILL_POOLING"
LANDING_SETTLE_S = "FLIGHTS_LANDING_SETTLE_S"
LANDING_MAX_RUNS = "FLIGHTS_LANDING_MAX_RUNS"
LANDING_INTERVAL_S = "FLIGHTS_LANDING_INTERVAL_S"
LEASE_TTL_S = "FLIGHTS_LEASE_TTL_S"
WATCHDOG_GRACE_S = "FLIGHTS_WATCHDOG_GRACE_S"
ALERT_CHANNEL = "FLIGHTS_ALERT_CHANNEL"
SLACK_TOKEN = "SLACK_TOKEN"
DAGSTER_HOME = "DAGSTER_HOME"
DAGSTER_PG_URL = "DAGSTER_PG_URL"


class Setting(NamedTuple):
    name: str
    default: str  # as the README shows it
    description: str


SETTINGS = (
    Setting(WAREHOUSE, "`data/warehouse.duckdb`",
            "The warehouse: a DuckDB file path, or a `postgresql://` URL (its password is never logged)."),
    Setting(LANDING_DIR, "`data/landing`", "Where the daily landing files are (`flights/`, `weather/`)."),
    Setting(STEP_STORAGE, "the instance's storage folder", "Where runs keep their small step outputs."),
    Setting(LAST_DAY, "`2013-12-31`",
            "The newest complete day the partition sets reach: `YYYY-MM-DD`, or `yesterday`."),
    Setting(BROKER_URL, "none", "The fleet's Redis broker, `redis://:password@host:6379/0` (fleet only)."),
    Setting(WORKER_NAME, "none", "Set by `flights-etl worker` for its processes: the name written in its runs' `flights/worker` tag."),
    Setting(BACKFILL_POOLING, "on", "`off`: Dagster's own PostgreSQL connection per call (to measure pooling)."),
    Setting(LANDING_SETTLE_S, "60", "Seconds a landing file must be unchanged before the landing sensor loads it."),
    Setting(LANDING_MAX_RUNS, "10", "Most runs the landing sensor requests per tick."),
    Setting(LANDING_INTERVAL_S, "30",
            "Seconds between the landing sensor's ticks (at least 5), read when the daemon loads the repository."),
    Setting(LEASE_TTL_S, "30", "Seconds a run's ownership lease lives without a heartbeat (more than 5)."),
    Setting(WATCHDOG_GRACE_S, "60", "Seconds a run may look stranded before the watchdog re-sends or fails it."),
    Setting(ALERT_CHANNEL, "`#data-pipelines`", "Slack channel of failure alerts (prod mode)."),
    Setting(SLACK_TOKEN, "none", "Slack bot token for alerts and notifications (prod mode); never logged."),
    Setting(DAGSTER_HOME, "none (required)", "The Dagster instance's folder (its `dagster.yaml`)."),
    Setting(DAGSTER_PG_URL, "none",
            "The PostgreSQL instance's URL, read by Dagster from `deploy/postgres/dagster.yaml` and `deploy/fleet/dagster.yaml`."),
)
NAMES = frozenset(setting.name for setting in SETTINGS)


def read(name: str) -> Optional[str]:
    """The variable's value now, ``None`` when unset; only the variables of ``SETTINGS``."""
    if name not in NAMES:
        raise KeyError(f"{name} is not one of the project's settings (flights_etl/settings.py)")
    return os.environ.get(name)


def text(name: str) -> str:
    """The variable's value now, stripped; ``""`` when unset."""
    return (read(name) or "").strip()


def number(name: str, default: float, minimum: float = 0, above: bool = False, why: str = "") -> float:
    """A number from the variable, ``default`` when unset; a one-line error naming it when it is not a
    number ``>= minimum`` (``> minimum`` with ``above``), followed by ``why``."""
    value_text = text(name)
    if not value_text:
        return default
    try:
        value = float(value_text)
    except ValueError:
        value = None
    if value is None or value != value or value < minimum or (above and value == minimum):
        raise ValueError(f"${name}={value_text!r}: expected a number {'>' if above else '>='} {minimum:g}{why}")
    return value
