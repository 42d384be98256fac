"""Fix the bad file and re-execute from failure in Dagit: that partition turns green, nothing else re-runs."""
import re
import shutil
from datetime import date

from tests.helpers import read_table
from tests.raw_data import flights_on
from tests.ui.bad_files import break_flights_file
from tests.ui.dagit import (
    RUN_ID,
    cli_backfill,
    focus_matrix,
    matrix_columns,
    partitions_url,
    runs,
    show_per_step_status,
    step_starts,
    wait_matrix_loaded,
    wait_runs_done,
)

DAYS = ["2013-01-09", "2013-01-10", "2013-01-11"]
BAD = "2013-01-10"


def test_reexecute_from_failure_after_fixing_the_file(dagit_env, landed_master, landing_dir, start_dagit, page, warehouse_path):
    break_flights_file(landing_dir, date.fromisoformat(BAD))
    assert cli_backfill(dagit_env, DAYS[0], DAYS[-1]).returncode == 0
    shutil.copy(f"{landed_master}/flights/{BAD}.csv", f"{landing_dir}/flights/{BAD}.csv")  # the fix

    dagit = start_dagit()
    before = runs(page, dagit.url)
    [failed] = [run for run in before if run["status"] == "FAILURE"]
    assert failed["tags"]["dagster/partition"] == BAD

    page.goto(f"{dagit.url}/instance/runs/{failed['runId']}")
    page.get_by_role("button", name=re.compile("^Re-execute")).first.wait_for()
    page.locator("button:has([aria-label=arrow_drop_down])").first.click()  # the caret beside Re-execute
    page.locator(".bp3-menu-item", has_text="From failure").click()
    page.wait_for_url(lambda url: RUN_ID.search(url) and failed["runId"] not in url, timeout=30_000)
    new_id = RUN_ID.search(page.url).group(1)

    after = wait_runs_done(page, dagit.url, len(before) + 1)
    assert len(after) == len(before) + 1  # only the re-execution ran
    [rerun] = [run for run in after if run["runId"] == new_id]
    assert rerun["status"] == "SUCCESS"
    assert (rerun["parentRunId"], rerun["rootRunId"]) == (failed["runId"], failed["runId"])
    assert rerun["tags"]["dagster/partition"] == BAD
    # read_weather succeeded in the failed run: its persisted output is reused, not recomputed
    assert step_starts(page, dagit.url, new_id) == ["read_flights", "build_daily_delays", "load_partition", "notify_complete"]

    page.goto(partitions_url(dagit.url, "flights_daily_pipeline"))
    page.get_by_text("Total partitions").wait_for()
    show_per_step_status(page)
    focus_matrix(page, index=9, total=365)
    wait_matrix_loaded(page)
    columns = matrix_columns(page)
    assert [columns[day][0] for day in DAYS] == ["success"] * 3  # the Last Run row

    counts = read_table(
        warehouse_path, "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n FROM flights GROUP BY 1 ORDER BY 1"
    )
    assert counts.day.tolist() == DAYS
    assert counts.n.tolist() == [len(flights_on(date.fromisoformat(day))) for day in DAYS]
