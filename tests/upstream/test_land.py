"""`flights-etl land` writes the input contract's files, reproducing the packaged rows exactly."""
import os
import subprocess
import sys

import pandas as pd

from tests.raw_data import DATA_DIR

BIN = os.path.dirname(sys.executable)


def test_land_writes_one_file_per_day_with_the_source_rows(tmp_path):
    result = subprocess.run(
        [os.path.join(BIN, "flights-etl"), "land", "--start", "2013-12-30", "--end", "2013-12-31",
         "--landing-dir", str(tmp_path)],
        capture_output=True, text=True, check=True,
    )
    assert "Landed 2 flights files and 1 weather files" in result.stdout
    assert sorted(os.listdir(tmp_path / "flights")) == ["2013-12-30.csv", "2013-12-31.csv"]
    assert sorted(os.listdir(tmp_path / "weather")) == ["2013-12-30.csv"]  # no weather exists for 12-31

    landed = pd.read_csv(tmp_path / "weather" / "2013-12-30.csv", dtype=str, keep_default_na=False)
    source = pd.read_csv(os.path.join(DATA_DIR, "weather.csv"), dtype=str, keep_default_na=False)
    expected = source[(source.month == "12") & (source.day == "30")].reset_index(drop=True)
    pd.testing.assert_frame_equal(landed, expected)


def test_land_rejects_a_reversed_range(tmp_path):
    result = subprocess.run(
        [os.path.join(BIN, "flights-etl"), "land", "--from", "2013-02-01", "--to", "2013-01-01",
         "--landing-dir", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "--to 2013-01-01 is before --from 2013-02-01" in result.stderr


def test_land_for_a_range_without_data_fails_and_lands_nothing(tmp_path):
    result = subprocess.run(
        [os.path.join(BIN, "flights-etl"), "land", "--from", "2014-01-01", "--to", "2014-01-31",
         "--landing-dir", str(tmp_path / "landing")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert "the packaged data has no flights from 2014-01-01 to 2014-01-31 (it covers 2013-01-01 .. 2013-12-31)" in result.stderr
    assert not os.path.exists(tmp_path / "landing")


def test_land_takes_from_to_like_every_command_and_start_end_still(tmp_path):
    for flags in (["--from", "2013-03-01", "--to", "2013-03-02"], ["--start", "2013-03-01", "--end", "2013-03-02"]):
        target = tmp_path / flags[0].strip("-")
        result = subprocess.run([os.path.join(BIN, "flights-etl"), "land", *flags, "--landing-dir", str(target)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert sorted(os.listdir(target / "flights")) == ["2013-03-01.csv", "2013-03-02.csv"]
