"""The launchpad's partition picker fills the run config, and the launched run loads that day."""
from datetime import date

from tests.helpers import read_table
from tests.raw_data import flights_on
from tests.ui.browser import save_screenshot
from tests.ui.dagit import RUN_ID, choose_partition, pipeline_url, wait_runs_done

DAY = "2013-01-15"


def test_launchpad_partition_run_loads_that_day(start_dagit, page, warehouse_path):
    dagit = start_dagit()
    page.goto(pipeline_url(dagit.url, "flights_daily_pipeline", "playground"))

    config = choose_partition(page, "flights_daily_partition_set", DAY)
    assert f"daily_partition:\n    config:\n      date: {DAY}" in config, config  # the day, given once
    assert "2013-01-14" not in config and "2013-01-16" not in config
    save_screenshot(page, "launchpad_partition")

    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url(RUN_ID, timeout=30_000)
    run_id = RUN_ID.search(page.url).group(1)
    page.get_by_text("RUN_SUCCESS").first.wait_for(timeout=90_000)

    [run] = wait_runs_done(page, dagit.url, 1)
    assert (run["runId"], run["status"]) == (run_id, "SUCCESS")
    assert run["tags"]["dagster/partition"] == DAY
    assert run["tags"]["dagster/partition_set"] == "flights_daily_partition_set"

    counts = read_table(warehouse_path, "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n FROM flights GROUP BY 1")
    assert counts.day.tolist() == [DAY]
    assert counts.n.tolist() == [len(flights_on(date.fromisoformat(DAY)))]
