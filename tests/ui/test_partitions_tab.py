"""The Partitions tab after a CLI backfill with one bad day: the run matrix and the counts are right."""
from datetime import date, timedelta

import pytest

from tests.ui.bad_files import break_flights_file
from tests.ui.dagit import (
    cli_backfill,
    focus_matrix,
    matrix_columns,
    matrix_row_labels,
    partition_counts,
    partitions_url,
    show_per_step_status,
    wait_matrix_loaded,
)

FIRST, BAD, LAST = date(2013, 1, 8), date(2013, 1, 10), date(2013, 1, 12)
STEPS = ["read_flights", "read_weather", "build_daily_delays", "load_partition", "notify_complete"]


@pytest.mark.parametrize("instance", ["sqlite", "postgres"])
def test_matrix_after_cli_backfill_with_a_bad_day(instance, request, landing_dir, start_dagit, page):
    """On PostgreSQL (deploy/postgres/dagster.yaml: queued runs) the daemon launches the stock backfill's runs."""
    env = request.getfixturevalue("dagit_env" if instance == "sqlite" else "postgres_dagit_env")
    break_flights_file(landing_dir, BAD)
    dagit = start_dagit(daemon=instance == "postgres", env=env)
    backfill = cli_backfill(env, FIRST.isoformat(), LAST.isoformat())
    assert backfill.returncode == 0, backfill.stderr[-3000:]

    page.goto(partitions_url(dagit.url, "flights_daily_pipeline"))
    page.get_by_text("Total partitions").wait_for()
    assert partition_counts(page) == {"Total partitions": 365, "Failed partitions": 1, "Missing partitions": 360}

    show_per_step_status(page)
    focus_matrix(page, index=(BAD - date(2013, 1, 1)).days, total=365)
    wait_matrix_loaded(page)
    page.wait_for_function("() => Array.from(document.querySelectorAll('.tilted')).some(e => e.textContent.includes('2013-01-10'))")
    assert matrix_row_labels(page, ["Last Run", *STEPS]) == ["Last Run", *STEPS]
    columns = matrix_columns(page)
    january = {day: columns[day] for day in (f"2013-01-{n:02d}" for n in range(1, 32))}

    ran = {FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)}
    for name, squares in january.items():
        day = date.fromisoformat(name)
        if day == BAD:
            # Last Run failed, at read_flights; read_weather succeeded; nothing downstream ran.
            assert squares == ["failure", "failure", "success", "missing", "missing", "missing"], name
        elif day in ran:
            assert squares == ["success"] * 6, name
        else:  # no run: Dagit's "empty" square, counted under "Missing partitions"
            assert squares == ["empty"] * 6, name
    assert sum(squares[0] == "success" for squares in columns.values()) == len(ran) - 1

    if instance == "postgres":  # the password is in the environment only, never on a page
        password = request.getfixturevalue("postgres_server").password
        assert password not in page.content()
        for path in ("/instance/runs", "/instance/config"):
            page.goto(dagit.url + path)
            page.wait_for_load_state("networkidle")
            assert password not in page.content()
        page.get_by_text("PostgresRunStorage").first.wait_for()  # the instance page names the storage, not its URL


def test_each_pipeline_partitions_tab_shows_its_own_set(dagit_env, start_dagit, page):
    """Daily runs exist; the monthly pipeline's tab still shows its 12 months, none run."""
    backfill = cli_backfill(dagit_env, "2013-01-01", "2013-01-01")
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    dagit = start_dagit()

    page.goto(partitions_url(dagit.url, "flights_monthly_pipeline"))
    page.get_by_text("Total partitions").wait_for()
    assert partition_counts(page) == {"Total partitions": 12, "Failed partitions": 0, "Missing partitions": 12}
    assert page.get_by_text("2013-01", exact=True).count() >= 1

    page.goto(partitions_url(dagit.url, "flights_daily_pipeline"))
    page.get_by_text("Total partitions").wait_for()
    assert partition_counts(page) == {"Total partitions": 365, "Failed partitions": 0, "Missing partitions": 364}
