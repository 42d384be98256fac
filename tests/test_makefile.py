"""`make` targets as a new user meets them on a fresh instance."""
import os
import subprocess

import pytest

from tests.backfill.cli_helpers import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_first_make_backfill_prints_no_empty_progress_bars(tmp_path, landing_dir):
    home = tmp_path / "dagster_home"  # brand new: Dagster creates its storage on this first run
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if name != "TQDM_DISABLE"}
    env.update(DAGSTER_HOME=str(home), FLIGHTS_LANDING_DIR=landing_dir, FLIGHTS_WAREHOUSE=str(tmp_path / "w.duckdb"))
    done = subprocess.run(["make", "--no-print-directory", "backfill", "wait", "FROM=2013-01-02", "TO=2013-01-02"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "2013-01-02" in done.stdout + done.stderr  # it did run the day
    assert "it/s]" not in done.stdout + done.stderr
