"""read_landing_file: the contract checks, each naming file, line and column."""
from datetime import date

import pytest

from flights_etl.contract.schema import WEATHER
from flights_etl.contract.validation import LandingFileError, read_landing_file

WEATHER_COLUMNS = WEATHER  # the dataset: its columns, limits and optionality
HEADER = ",".join(WEATHER.column_names)
ROW = "JFK,2013,5,6,{hour},60.1,50,70,200,10.3,NA,{precip},1015,10,2013-05-06T{utc:02d}:00:00Z"
DAY = date(2013, 5, 6)


def _write(tmp_path, *lines):
    path = tmp_path / "weather.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_valid_file_is_typed(tmp_path):
    path = _write(tmp_path, HEADER, ROW.format(hour=1, precip="0.01", utc=5), ROW.format(hour=2, precip="NA", utc=6))
    frame = read_landing_file(path, WEATHER_COLUMNS, DAY)
    assert frame["hour"].tolist() == [1, 2]
    assert frame["precip"].iloc[0] == pytest.approx(0.01) and pd_isna(frame["precip"].iloc[1])
    assert str(frame["time_hour"].iloc[0]) == "2013-05-06 05:00:00"


def pd_isna(value):
    import pandas as pd

    return pd.isna(value)


@pytest.mark.parametrize(
    "row, line, column, phrase",
    [
        (ROW.format(hour="x", precip=0, utc=5), 3, "hour", "'x' is not a number"),
        (ROW.format(hour="1.5", precip=0, utc=5), 3, "hour", "'1.5' is not a whole number"),
        # whole as a float64, not in its digits: never rounded into the warehouse
        (ROW.format(hour="2.9999999999999999", precip=0, utc=5), 3, "hour", "'2.9999999999999999' is not a whole number"),
        (ROW.format(hour="1e-400", precip=0, utc=5), 3, "hour", "'1e-400' is not a whole number"),
        (ROW.format(hour=1, precip="1e400", utc=5), 3, "precip", "'1e400' is not a finite number"),
        (ROW.format(hour="-1e309", precip=0, utc=5), 3, "hour", "'-1e309' is not a finite number"),
        (ROW.format(hour=1, precip=0, utc=5).replace("JFK", ""), 3, "origin", "missing a value in a required column"),
        (ROW.format(hour=1, precip=0, utc=5).replace("T05:00:00Z", " 5am"), 3, "time_hour", "is not a timestamp"),
        (ROW.format(hour=1, precip=0, utc=5).replace(",5,6,", ",5,7,"), 3, "year/month/day", "row date 2013-05-07"),
    ],
)
def test_bad_values_name_line_and_column(tmp_path, row, line, column, phrase):
    path = _write(tmp_path, HEADER, ROW.format(hour=0, precip=0, utc=4), row)
    with pytest.raises(LandingFileError) as raised:
        read_landing_file(path, WEATHER_COLUMNS, DAY)
    assert raised.value.line == line and raised.value.column == column
    assert str(raised.value).startswith(f"{path}, line {line}, column {column!r}: ")
    assert phrase in str(raised.value)


def _problem(tmp_path, *rows) -> LandingFileError:
    path = _write(tmp_path, HEADER, *rows)
    with pytest.raises(LandingFileError) as raised:
        read_landing_file(path, WEATHER_COLUMNS, DAY)
    return raised.value


def _row(hour: int, **replace) -> str:
    row = ROW.format(hour=hour, precip=0, utc=hour + 4)
    for old, new in replace.items():
        row = row.replace(old, new)
    return row


def test_of_several_problems_in_a_column_the_earliest_line_is_named(tmp_path):
    # hour: not a number on lines 3 and 5, missing on line 4 (checked first, but further down)
    error = _problem(tmp_path, _row(0), _row(1).replace(",1,60.1,", ",x,60.1,"), _row(2).replace(",2,60.1,", ",,60.1,"),
                     _row(3).replace(",3,60.1,", ",y,60.1,"))
    assert (error.line, error.column) == (3, "hour")
    assert error.problem == "value 'x' is not a number (1 more such values in this column)"


def test_of_problems_in_several_columns_the_earliest_line_is_named(tmp_path):
    # pressure (column 13) on line 3 before origin (column 1) on line 4; on one line, the first column
    error = _problem(tmp_path, _row(0), _row(1, **{",1015,": ",high,"}), _row(2, JFK=""))
    assert (error.line, error.column, error.problem) == (3, "pressure", "value 'high' is not a number")
    error = _problem(tmp_path, _row(0), _row(1, JFK="", **{",1015,": ",high,"}))
    assert (error.line, error.column) == (3, "origin")


def test_of_row_problems_the_earliest_line_is_named(tmp_path):
    # a row of another day on line 3 before humid out of range (checked first) on line 4
    error = _problem(tmp_path, _row(0), _row(1, **{",5,6,": ",5,7,"}), _row(2, **{",50,70,": ",50,150,"}))
    assert (error.line, error.column) == (3, "year/month/day") and "row date 2013-05-07" in error.problem
    error = _problem(tmp_path, _row(0), _row(1, **{",50,70,": ",50,150,"}), _row(2, **{",5,6,": ",5,7,"}))
    assert (error.line, error.column) == (3, "humid") and "out of range: 0 to 100" in error.problem
    # on one line, the first column of the header: day (column 4) before hour (5), humid (8)
    for later in ({",6,1,60.1,": ",7,99,60.1,"}, {",5,6,": ",5,7,", ",50,70,": ",50,150,"}):
        error = _problem(tmp_path, _row(0), _row(1, **later))
        assert (error.line, error.column) == (3, "year/month/day"), error
    error = _problem(tmp_path, _row(0), _row(1, **{",5,6,": ",13,6,"}))  # month out of range: the same column
    assert (error.line, error.column) == (3, "month") and "out of range: 1 to 12" in error.problem
    # a repeated row on line 4 before a time_hour off the hour on line 5
    error = _problem(tmp_path, _row(0), _row(1), _row(1), _row(2, **{":00:00Z": ":30:00Z"}))
    assert error.line == 4 and error.problem.startswith("repeats line 3 exactly")


def test_a_row_with_too_many_fields(tmp_path):
    path = _write(tmp_path, HEADER, ROW.format(hour=0, precip=0, utc=4) + ",extra")
    with pytest.raises(LandingFileError, match=r"line 2: expected 15 fields as in the header, found 16"):
        read_landing_file(path, WEATHER_COLUMNS, DAY)


def test_columns_out_of_order(tmp_path):
    swapped = HEADER.replace("temp,dewp", "dewp,temp")
    path = _write(tmp_path, swapped, ROW.format(hour=0, precip=0, utc=4))
    with pytest.raises(LandingFileError, match=r"column 6 is 'dewp', expected 'temp'"):
        read_landing_file(path, WEATHER_COLUMNS, DAY)


def test_header_only_is_an_error_unless_allowed(tmp_path):
    path = _write(tmp_path, HEADER)
    with pytest.raises(LandingFileError, match="has a header but no data rows"):
        read_landing_file(path, WEATHER_COLUMNS, DAY)
    assert read_landing_file(path, WEATHER_COLUMNS, DAY, allow_no_rows=True).empty


def test_not_utf8(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_bytes(HEADER.encode() + b"\n\xff\xfe\n")
    with pytest.raises(LandingFileError, match="is not UTF-8 text"):
        read_landing_file(str(path), WEATHER_COLUMNS, DAY)


def test_fast_path_returns_exactly_what_the_line_by_line_path_returns(landed_master, monkeypatch):
    """Valid files take Arrow's CSV reader; the frame must equal the exact path's, value for value."""
    import os

    import pandas as pd

    from flights_etl.contract import validation
    from flights_etl.contract.schema import FLIGHTS

    for day in (date(2013, 1, 1), date(2013, 2, 14), date(2013, 7, 4)):
        for dataset in (FLIGHTS, WEATHER):
            path = os.path.join(landed_master, dataset.name, f"{day}.csv")
            fast = read_landing_file(path, dataset, day)
            with monkeypatch.context() as patched:
                patched.setattr(validation, "_parse_fast", lambda *args: None)
                exact = read_landing_file(path, dataset, day)
            pd.testing.assert_frame_equal(fast, exact, check_exact=True)
            text = validation._read_text(path, dataset, None)
            assert validation._parse_fast(text, dataset.columns) is not None, path  # a real file takes the fast path


@pytest.mark.parametrize(
    "lines",
    [
        (HEADER, ROW.format(hour=0, precip=0, utc=4) + ",extra"),
        (HEADER, ROW.format(hour=0, precip=0, utc=4) + ",", ROW.format(hour=1, precip=0, utc=5) + ","),
        (HEADER, ROW.format(hour=0, precip=0, utc=4).rsplit(",", 1)[0]),  # a short row
        (HEADER, ROW.format(hour="1.5", precip=0, utc=4)),
        (HEADER,),
    ],
)
def test_fast_path_declines_anything_unusual(tmp_path, lines):
    from flights_etl.contract.validation import _parse_fast

    assert _parse_fast(open(_write(tmp_path, *lines)).read(), WEATHER.columns) is None


def test_optional_file_gaps_and_errors(tmp_path):
    from flights_etl.contract.validation import read_optional_landing_file

    missing = str(tmp_path / "nope.csv")
    frame, gap = read_optional_landing_file(missing, WEATHER_COLUMNS, DAY)
    assert gap == "is missing" and frame.empty and list(frame.columns)[0] == "origin"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert read_optional_landing_file(str(empty), WEATHER_COLUMNS, DAY)[1] == "has no rows"
    assert read_optional_landing_file(_write(tmp_path, HEADER), WEATHER_COLUMNS, DAY)[1] == "has no rows"
    frame, gap = read_optional_landing_file(_write(tmp_path, HEADER, ROW.format(hour=1, precip=0, utc=5)), WEATHER_COLUMNS, DAY)
    assert gap is None and len(frame) == 1
    with pytest.raises(LandingFileError, match="is not a number"):
        read_optional_landing_file(_write(tmp_path, HEADER, ROW.format(hour="x", precip=0, utc=5)), WEATHER_COLUMNS, DAY)


# --- the file itself: where it is, what it is, how big --------------------------------------


def test_a_symlink_is_refused_and_its_target_never_shown(tmp_path):
    landing = tmp_path / "landing"
    (landing / "weather").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = landing / "weather" / f"{DAY}.csv"
    link.symlink_to(secret)
    with pytest.raises(LandingFileError) as raised:
        read_landing_file(str(link), WEATHER, DAY, landing_dir=str(landing))
    assert "is a symbolic link: a landing file must be a regular file inside the landing directory" in str(raised.value)
    assert "root" not in str(raised.value).replace(str(tmp_path), "")


def test_a_file_reached_through_a_symlinked_folder_is_outside_the_landing_dir(tmp_path):
    landing, elsewhere = tmp_path / "landing", tmp_path / "elsewhere"
    landing.mkdir()
    elsewhere.mkdir()
    (landing / "weather").symlink_to(elsewhere)
    path = elsewhere / f"{DAY}.csv"
    path.write_text(HEADER + "\n" + ROW.format(hour=0, precip=0, utc=4) + "\n")
    with pytest.raises(LandingFileError, match="lies outside the landing directory"):
        read_landing_file(str(landing / "weather" / f"{DAY}.csv"), WEATHER, DAY, landing_dir=str(landing))


def test_a_directory_in_place_of_the_file(tmp_path):
    (tmp_path / "weather.csv").mkdir()
    with pytest.raises(LandingFileError, match="is not a regular file"):
        read_landing_file(str(tmp_path / "weather.csv"), WEATHER, DAY)


def test_a_huge_file_fails_before_it_is_read(tmp_path):
    """A 4 GiB (sparse) file is refused on its size alone: nothing is read into memory."""
    import resource

    path = tmp_path / "weather.csv"
    with open(path, "wb") as handle:
        handle.truncate(4 * 2**30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(LandingFileError, match=r"is 4,294,967,296 bytes, over the limit of 1,048,576 bytes"):
        read_landing_file(str(path), WEATHER, DAY)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB: well under 50 MiB


def test_more_rows_than_a_day_can_have_fail_before_parsing(tmp_path):
    row = ROW.format(hour=0, precip=0, utc=4)
    path = _write(tmp_path, HEADER, *([row] * 2001))
    with pytest.raises(LandingFileError, match=r"has 2,001 rows, over the limit of 2,000 for a day's weather file"):
        read_landing_file(path, WEATHER, DAY)


def test_long_values_are_echoed_only_in_part(tmp_path):
    path = _write(tmp_path, HEADER, ROW.format(hour="9" * 500, precip=0, utc=4))
    with pytest.raises(LandingFileError) as raised:
        read_landing_file(path, WEATHER, DAY)
    assert "9" * 37 + "..." in str(raised.value) and "9" * 38 not in str(raised.value)
