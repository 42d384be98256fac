"""The run list's rows leave out the long flights/executor tag (issue 17); the run still carries it."""
from tests.backfill.cli_helpers import flights_etl
from tests.ui.dagit import runs


def test_run_rows_leave_out_the_executor_tag(dagit_env, start_dagit, page):
    loaded = flights_etl(dagit_env, "backfill", "--partition-set", "flights_daily_partition_set",
                         "--partitions", "2013-01-03")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    dagit = start_dagit()

    page.goto(f"{dagit.url}/instance/runs")
    row = page.locator("tr", has_text="2013-01-03").first
    row.wait_for()
    assert "flights/executor" not in row.inner_text()
    assert "flights_daily_partition_set" in row.inner_text()  # the other tags are still shown
    [run] = runs(page, dagit.url)
    assert '"pid"' in run["tags"]["flights/executor"]  # liveness still has it
