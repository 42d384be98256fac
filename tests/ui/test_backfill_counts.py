"""Right after a Dagit backfill is submitted (before the daemon creates its runs), the Partitions tab
keeps the loaded days' statuses: issue 17 saw them turn grey and *Missing* jump until the runs existed."""
import re

from tests.backfill.cli_helpers import flights_etl
from tests.ui.dagit import partition_counts, partitions_url

DAYS = ["2013-01-11", "2013-01-12", "2013-01-13"]


def test_a_submitted_backfill_without_runs_leaves_the_counts(dagit_env, start_dagit, page):
    loaded = flights_etl(dagit_env, "backfill", "--partition-set", "flights_daily_partition_set",
                         "--from", DAYS[0], "--to", DAYS[-1])
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    dagit = start_dagit()  # no daemon: the submitted backfill gets no run during the test

    page.goto(partitions_url(dagit.url, "flights_daily_pipeline"))
    page.get_by_text("Total partitions").wait_for()
    assert partition_counts(page) == {"Total partitions": 365, "Failed partitions": 0, "Missing partitions": 362}

    page.get_by_role("button", name="Launch backfill...").click()
    dialog = page.locator(".bp3-dialog")
    dialog.wait_for()
    dialog.get_by_text("Clear selection").click()
    selection = dialog.locator('input[placeholder^="ex: "]')
    selection.fill(f"[{DAYS[0]}...{DAYS[-1]}]")
    selection.press("Enter")
    dialog.locator("[role=button]", has_text=re.compile(r"Submit 3 runs")).click()
    dialog.wait_for(state="detached", timeout=30_000)

    for _visit in ("after submitting", "on a new visit"):
        page.get_by_text("Requested").first.wait_for()  # the new backfill's row in Backfill History, no run yet
        page.wait_for_load_state("networkidle")
        assert partition_counts(page) == {"Total partitions": 365, "Failed partitions": 0, "Missing partitions": 362}
        page.goto(partitions_url(dagit.url, "flights_daily_pipeline"))
