"""A bad $FLIGHTS_LAST_DAY in Dagit: the Launchpad shows its one-line message (Dagit 0.15's
Partitions tab stays blank on a partition set's error), never an empty partition set."""
import pytest

from tests.ui.dagit import pipeline_url

MESSAGES = {
    "garbage": "$FLIGHTS_LAST_DAY='garbage': expected a day as YYYY-MM-DD, or 'yesterday'",
    "2012-12-31": "$FLIGHTS_LAST_DAY='2012-12-31' is before the data's first day 2013-01-01: no partition to run",
}


@pytest.mark.parametrize("setting", sorted(MESSAGES))
def test_the_launchpad_shows_the_message(setting, dagit_env, start_dagit, page):
    dagit = start_dagit(env={**dagit_env, "FLIGHTS_LAST_DAY": setting})
    page.goto(pipeline_url(dagit.url, "flights_daily_pipeline", "playground"))
    page.get_by_text(f"flights_etl.partitions.InvalidLastDay: {MESSAGES[setting]}").first.wait_for(timeout=60_000)
