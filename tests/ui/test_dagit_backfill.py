"""A backfill launched from Dagit's Partitions tab: the daemon turns it into runs that load the days."""
import re
from datetime import date

from tests.helpers import read_table
from tests.raw_data import flights_on
from tests.ui.browser import save_screenshot
from tests.ui.dagit import graphql, partitions_url, wait_runs_done

DAYS = ["2013-01-11", "2013-01-12", "2013-01-13"]


def test_backfill_from_dialog_runs_with_the_daemon(start_dagit, page, warehouse_path):
    dagit = start_dagit(daemon=True)
    page.goto(partitions_url(dagit.url, "flights_daily_pipeline"))
    page.get_by_role("button", name="Launch backfill...").click()
    dialog = page.locator(".bp3-dialog")
    dialog.wait_for()
    dialog.get_by_text("Clear selection").click()  # failed and missing partitions start out selected
    selection = dialog.locator('input[placeholder^="ex: "]')
    selection.fill(f"[{DAYS[0]}...{DAYS[-1]}]")
    selection.press("Enter")
    submit = dialog.locator("[role=button]", has_text=re.compile(r"Submit \d+ runs?"))
    assert submit.inner_text().strip() == "Submit 3 runs"
    save_screenshot(page, "backfill_dialog")
    submit.click()
    dialog.wait_for(state="detached", timeout=30_000)

    [backfill] = graphql(page, dagit.url, """{ partitionBackfillsOrError { ... on PartitionBackfills {
        results { backfillId partitionNames partitionSetName } } } }""")["partitionBackfillsOrError"]["results"]
    assert backfill["partitionNames"] == DAYS
    assert backfill["partitionSetName"] == "flights_daily_partition_set"

    runs = wait_runs_done(page, dagit.url, len(DAYS), tags={"dagster/backfill": backfill["backfillId"]})
    assert sorted(run["tags"]["dagster/partition"] for run in runs) == DAYS
    assert {run["status"] for run in runs} == {"SUCCESS"}

    counts = read_table(
        warehouse_path, "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n FROM flights GROUP BY 1 ORDER BY 1"
    )
    assert counts.day.tolist() == DAYS
    assert counts.n.tolist() == [len(flights_on(date.fromisoformat(day))) for day in DAYS]
