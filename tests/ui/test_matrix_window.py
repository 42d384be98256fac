"""The run matrix shows the status of every day in its window, wherever the user clicks the bar.

Issue 17: with January and February loaded, clicking January "at the far left" showed 2013-01-01 ..
02-05 but left 01-25 .. 02-05 grey for good (Dagit 0.15.10 loads runs for a window that ends where
the unclamped offset says, while it draws a window clamped to the left edge).
"""
from datetime import date, timedelta

from tests.backfill.cli_helpers import flights_etl
from tests.ui.dagit import focus_matrix, matrix_columns, partitions_url, wait_matrix_loaded

FIRST, LAST = date(2013, 1, 1), date(2013, 2, 28)
STEPS = 5  # read_flights, read_weather, build_daily_delays, load_partition, notify_complete


def test_every_visible_loaded_day_is_green(dagit_env, start_dagit, page):
    loaded = flights_etl(dagit_env, "backfill", "--partition-set", "flights_daily_partition_set",
                         "--from", FIRST.isoformat(), "--to", LAST.isoformat())
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    days = {(FIRST + timedelta(days=n)).isoformat() for n in range((LAST - FIRST).days + 1)}
    dagit = start_dagit()

    page.goto(partitions_url(dagit.url, "flights_daily_pipeline"))
    page.get_by_text("Total partitions").wait_for()
    # The README's way (January is at the far left), then a few other spots of the loaded months.
    for index in (0, 5, 20, 40, 58):
        focus_matrix(page, index=index, total=365)
        clicked = (FIRST + timedelta(days=index)).isoformat()
        page.wait_for_function(
            "day => Array.from(document.querySelectorAll('.tilted')).some(e => e.textContent.trim() === day)",
            arg=clicked)
        wait_matrix_loaded(page)
        columns = matrix_columns(page)
        visible_loaded = sorted(set(columns) & days)
        assert clicked in visible_loaded and len(columns) >= 30, (clicked, sorted(columns))
        not_green = {day: columns[day] for day in visible_loaded if columns[day] != ["success"] * (1 + STEPS)}
        assert not_green == {}, f"clicked {clicked}: loaded days not green: {not_green}"
