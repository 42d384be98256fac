"""One rule, two parsers: on unusual files the fast path and the exact path give the same frame or the same error.

``read_landing_file`` tries Arrow's CSV reader first and falls back to the exact line-by-line
parser. Each file here is read twice, once as usual and once with the fast parser switched
off; the outcomes (the typed frame, or the error message) must be identical. Cases marked
``fast`` must also really take the fast path, so the comparison is not vacuous.
"""
import os
from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flights_etl.contract import validation
from flights_etl.contract.schema import FLIGHTS, WEATHER
from flights_etl.contract.validation import LandingFileError, read_landing_file

DAY = date(2013, 1, 2)
ROWS = 12  # rows of the real day kept in each corpus file


@pytest.fixture(scope="module")
def real_lines(landed_master):
    """(header, rows) of the real flights and weather files of DAY, as text lines."""
    lines = {}
    for dataset in (FLIGHTS, WEATHER):
        with open(os.path.join(landed_master, dataset.name, f"{DAY}.csv"), newline="") as handle:
            text = handle.read().splitlines()
        lines[dataset.name] = (text[0], text[1 : ROWS + 1])
    return lines


def outcome(path: str, dataset, exact_only=False):
    """The frame read from ``path``, or the error message; with ``exact_only`` the fast parser is off."""
    original = validation._parse_fast
    if exact_only:
        validation._parse_fast = lambda *_args: None
    try:
        return read_landing_file(path, dataset, DAY)
    except LandingFileError as error:
        return f"error: {error}"
    finally:
        validation._parse_fast = original


def assert_same_outcome(path: str, dataset) -> bool:
    """Both ways agree; returns whether the fast parser accepted the file."""
    usual, exact = outcome(path, dataset), outcome(path, dataset, exact_only=True)
    if isinstance(exact, str) or isinstance(usual, str):
        assert usual == exact
    else:
        pd.testing.assert_frame_equal(usual, exact, check_exact=True)
    try:
        text = validation._read_text(path, dataset, None)
    except LandingFileError:
        return False
    return validation._parse_fast(text, dataset.columns) is not None


def _field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


def _col(dataset, name: str) -> int:
    return dataset.column_names.index(name)


F, W = FLIGHTS, WEATHER


def corpus(lines):
    """name -> (dataset, file bytes, must take the fast path)."""
    fh, fr = lines["flights"]
    wh, wr = lines["weather"]

    def flights(*rows, header=fh, end="\n"):
        return end.join([header, *rows]) + end

    def weather(*rows, header=wh, end="\n"):
        return end.join([header, *rows]) + end

    def with_flight_value(column, value, row=3):
        changed = list(fr)
        changed[row] = _field(changed[row], _col(F, column), value)
        return flights(*changed)

    def with_weather_value(column, value, row=3):
        changed = list(wr)
        changed[row] = _field(changed[row], _col(W, column), value)
        return weather(*changed)

    cases = {
        "clean flights": (F, flights(*fr), True),
        "clean weather": (W, weather(*wr), True),
        "crlf line ends": (F, flights(*fr, end="\r\n"), True),
        "byte-order mark": (F, "\ufeff" + flights(*fr), True),
        "no newline at the end": (F, flights(*fr).rstrip("\n"), True),
        "spaces around a carrier": (F, with_flight_value("carrier", "  UA "), False),
        "space after every comma": (F, flights(*[row.replace(",", ", ") for row in fr]), False),
        "spaces in the header": (F, flights(*fr, header=fh.replace(",", " , ")), False),
        "every field quoted": (F, flights(*[",".join(f'"{v}"' for v in row.split(",")) for row in fr]), False),
        "quoted value with a comma": (F, with_flight_value("tailnum", '"N1,23"'), False),
        "quoted number with spaces": (F, with_flight_value("dep_delay", '" 7 "'), False),
        "unterminated quote": (F, with_flight_value("tailnum", '"N123'), False),
        "duplicated column name": (F, flights(*[row + "," + row.split(",")[-1] for row in fr], header=fh + ",time_hour"), False),
        "reordered columns": (W, weather(*wr, header=wh.replace("temp,dewp", "dewp,temp")), False),
        "missing column": (W, weather(*[",".join(r.split(",")[:-1]) for r in wr], header=",".join(wh.split(",")[:-1])), False),
        "blank line in the middle": (F, flights(*fr[:5], "", *fr[5:]), False),
        "blank lines at the end": (F, flights(*fr) + "\n\n", False),
        "line of spaces": (F, flights(*fr[:5], "   ", *fr[5:]), False),
        "NA in a nullable column": (F, with_flight_value("dep_delay", "NA"), True),
        "empty in a nullable column": (F, with_flight_value("dep_delay", ""), True),
        "NA in a required column": (F, with_flight_value("carrier", "NA"), False),
        "empty in a required column": (F, with_flight_value("distance", ""), False),
        "nan in a float column": (F, with_flight_value("dep_delay", "nan"), False),
        "NaN in a float column": (W, with_weather_value("temp", "NaN"), False),
        "null in a float column": (F, with_flight_value("dep_delay", "null"), False),
        "inf in a float column": (F, with_flight_value("arr_delay", "inf"), False),
        "-inf in a float column": (W, with_weather_value("precip", "-inf"), False),
        "Infinity in a float column": (W, with_weather_value("humid", "Infinity"), False),
        "1e400 in a float column": (F, with_flight_value("air_time", "1e400"), False),
        "1e2 in a float column": (F, with_flight_value("air_time", "1e2"), True),
        "tiny float": (W, with_weather_value("precip", "1e-320"), True),
        "negative zero": (W, with_weather_value("precip", "-0.0"), True),
        "inf in an int column": (F, with_flight_value("distance", "inf"), False),
        "20-digit int": (F, with_flight_value("flight", "99999999999999999999"), False),
        "1e2 in an int column": (F, with_flight_value("distance", "1e2"), False),
        "5.0 in an int column": (F, with_flight_value("minute", "5.0"), False),
        "1.5 in an int column": (F, with_flight_value("minute", "1.5"), False),
        "+7 in an int column": (F, with_flight_value("minute", "+7"), False),
        "hex in an int column": (F, with_flight_value("minute", "0x1f"), False),
        # pandas' converter reads these as 0: an integer takes its digits' value, a decimal is refused
        "leading zeros in an int column": (F, with_flight_value("dep_time", "0.00000000000000000517e20"), False),
        "leading zeros in a float column": (F, with_flight_value("arr_delay", "0.00000000000000000011e20"), False),
        "19-digit exponent in a float column": (W, with_weather_value("precip", "1e-999999999999999999"), False),
        "underscores in an int column": (F, with_flight_value("distance", "1_000"), False),
        # exponents beyond Decimal's 18 digits, and the float64 maximum written one digit over
        "19-digit exponent, large": (W, with_weather_value("wind_speed", "1e1000000000000000000"), False),
        "19-digit exponent on zero in an int column": (F, with_flight_value("minute", "0e-9999999999999999999"), False),
        "float64 maximum, rounded": (W, with_weather_value("wind_speed", "1.7976931348623158e308"), False),
        "2^53 + 1 in an int column": (F, with_flight_value("flight", str(2**53 + 1)), False),
        "negative distance": (F, with_flight_value("distance", "-17"), True),
        "smallest int64 in an int column": (F, with_flight_value("minute", str(-2**63)), False),
        "zero-padded int of 330 characters": (F, with_flight_value("minute", "0" * 328 + "59"), False),
        "value over the csv module's field limit": (F, with_flight_value("carrier", "U" * 131_073), False),
        "time_hour now": (F, with_flight_value("time_hour", "now"), False),
        "time_hour today": (W, with_weather_value("time_hour", "today"), False),
        "time_hour with a lowercase t and z": (F, with_flight_value("time_hour", "2013-01-02t10:00:00z"), False),
        "time_hour with a one-digit hour": (F, with_flight_value("time_hour", "2013-01-02T5:00:00Z"), False),
        "time_hour with a leap second": (F, with_flight_value("time_hour", "2013-01-02T09:59:60Z"), False),
        "out-of-range hour": (W, with_weather_value("hour", "24"), True),
        "time_hour of another hour": (F, with_flight_value("time_hour", "2013-01-02T23:00:00Z"), True),
        "time_hour off the hour": (F, flights(*fr[:3], fr[3].replace(":00:00Z", ":30:00Z"), *fr[4:]), True),
        "weather time_hour off the hour": (W, weather(*wr[:3], wr[3].replace(":00:00Z", ":00:30Z"), *wr[4:]), True),
        "time_hour off the hour after one of another hour": (F, flights(
            *fr[:3], _field(fr[3], _col(F, "time_hour"), "2013-01-02T23:00:00Z"), fr[4].replace(":00:00Z", ":00:01Z"),
            *fr[5:]), True),
        "bad timestamp": (F, with_flight_value("time_hour", "2013-01-02 10:00"), False),
        "row of another day": (F, with_flight_value("day", "3"), True),
        "exact duplicate row": (F, flights(*fr, fr[2]), True),
        "trailing comma on every row": (F, flights(*[row + "," for row in fr]), False),
        "short row": (F, flights(*fr[:4], ",".join(fr[4].split(",")[:-2]), *fr[5:]), False),
        "long row": (F, flights(*fr[:4], fr[4] + ",x", *fr[5:]), False),
        "tab in a value": (F, with_flight_value("carrier", "U\tA"), False),
        "NUL in a value": (F, with_flight_value("tailnum", "N1\x0023"), False),
        "lone carriage return": (F, flights(*fr[:3]) + "\r" + "\n".join(fr[3:]) + "\n", False),
        "header only": (F, fh + "\n", False),
        "only blank lines": (F, "\n\n\n", False),
        "not UTF-8": (F, None, False),
    }
    return cases


_PLACEHOLDER = ("h", [",".join(["0"] * 19)] * ROWS)
CASE_NAMES = sorted(corpus({"flights": _PLACEHOLDER, "weather": _PLACEHOLDER}))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_both_parsers_agree_on_unusual_files(name, real_lines, tmp_path):
    dataset, text, must_be_fast = corpus(real_lines)[name]
    path = tmp_path / f"{DAY}.csv"
    if text is None:
        path.write_bytes(real_lines["flights"][0].encode() + b"\n" + real_lines["flights"][1][0].encode() + b"\xff\xfe\n")
    else:
        path.write_bytes(text.encode("utf-8"))
    took_fast_path = assert_same_outcome(str(path), dataset)
    if must_be_fast:
        assert took_fast_path, f"{name}: expected the fast parser to accept this file"


def test_the_outcomes_are_what_the_contract_says(real_lines, tmp_path):
    """A few of the corpus's outcomes spelled out, so that agreeing on a wrong answer fails too."""
    cases = corpus(real_lines)

    def read(name):
        path = tmp_path / f"{name.replace(' ', '_')}.csv"
        path.write_bytes(cases[name][1].encode("utf-8"))
        return outcome(str(path), cases[name][0])

    assert read("spaces around a carrier")["carrier"].iloc[3] == "UA"  # surrounding spaces are dropped
    assert read("quoted value with a comma")["tailnum"].iloc[3] == "N1,23"
    assert read("byte-order mark").columns[0] == "year"
    assert pd.isna(read("NA in a nullable column")["dep_delay"].iloc[3])
    assert read("5.0 in an int column")["minute"].iloc[3] == 5
    assert "value 'nan' is not a number" in read("nan in a float column")
    assert "value 'inf' is not a finite number" in read("inf in a float column")
    assert "value 'inf' is not a finite number" in read("inf in an int column")
    # beyond a 64-bit integer: a value the column cannot hold (a typing problem), before any range check
    assert "value '99999999999999999999' is too large for a 64-bit integer" in read("20-digit int")
    assert read("leading zeros in an int column")["dep_time"].iloc[3] == 517
    assert "value '0.00000000000000000011e20' is not read exactly by the CSV converter" in read(
        "leading zeros in a float column")
    assert read("19-digit exponent in a float column")["precip"].iloc[3] == 0.0
    assert "value '1_000' is not a number" in read("underscores in an int column")
    assert "value '1e1000000000000000000' is not a finite number" in read("19-digit exponent, large")
    assert read("19-digit exponent on zero in an int column")["minute"].iloc[3] == 0
    assert read("float64 maximum, rounded")["wind_speed"].iloc[3] == 1.7976931348623157e308
    assert "column 'time_hour' appears 2 times (columns 19, 20)" in read("duplicated column name")
    assert "value '-17' is out of range: 0 to 20000" in read("negative distance")
    assert "time_hour 2013-01-02T23:00:00Z is 2013-01-02 18:00 in New York" in read("time_hour of another hour")
    assert "repeats line 4 exactly (1 repeated rows)" in read("exact duplicate row")
    off_hour = read("time_hour off the hour")
    assert ", line 5, column 'time_hour': time_hour 2013-01-02T" in off_hour and ":30:00Z is not on the hour" in off_hour
    weather_off = read("weather time_hour off the hour")
    assert ", line 5, column 'time_hour': time_hour 2013-01-02T" in weather_off and ":00:30Z is not on the hour" in weather_off
    assert ", line 5, column 'time_hour': time_hour 2013-01-02T23:00:00Z is 2013-01-02 18:00 in New York" in read(
        "time_hour off the hour after one of another hour")  # the first line with a problem is the one named
    assert "control character U+0000" in read("NUL in a value") and "N1" not in read("NUL in a value")
    assert "column 'carrier': control character U+0009" in read("tab in a value")
    for name, value in (("time_hour now", "now"), ("time_hour today", "today"),
                        ("time_hour with a lowercase t and z", "2013-01-02t10:00:00z"),
                        ("time_hour with a leap second", "2013-01-02T09:59:60Z")):
        assert f"value {value!r} is not a timestamp like 2013-01-01T05:00:00Z" in read(name)
    assert "value '-9223372036854775808' is out of range: 0 to 59" in read("smallest int64 in an int column")


# --- generated files ---------------------------------------------------------------------

ODD_VALUES = ["", "NA", "nan", "inf", "-inf", "1e400", "1e2", "5.0", "1.5", "+3", "-0", " 7 ", '"8"', '" x"', "x",
              "99999999999999999999", "2013-01-02T10:00:00Z", "N1,2", "\t", "0x1f", str(-2**63), "0" * 330 + "7",
              "now", "2013-01-02t10:00:00z"]


@st.composite
def mutated_files(draw, real):
    dataset = draw(st.sampled_from([FLIGHTS, WEATHER]))
    header, rows = real[dataset.name]
    rows = list(rows)
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.integers(0, len(rows) - 1))
        column = draw(st.integers(0, len(dataset.columns) - 1))
        value = draw(st.sampled_from(ODD_VALUES))
        if value == "N1,2":
            value = '"N1,2"'
        rows[row] = _field(rows[row], column, value)
    if draw(st.booleans()):
        rows.insert(draw(st.integers(0, len(rows))), "")
    if draw(st.booleans()):
        rows.append(rows[draw(st.integers(0, len(rows) - 1))])
    end = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return dataset, bom + end.join([header, *rows]) + end


def test_generated_files_get_the_same_outcome_on_both_paths(real_lines, tmp_path_factory):
    directory = tmp_path_factory.mktemp("generated")
    fast_count = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated_files(real_lines))
    def check(case):
        dataset, text = case
        path = directory / f"{DAY}.csv"
        path.write_bytes(text.encode("utf-8"))
        fast_count.append(assert_same_outcome(str(path), dataset))

    check()
    assert any(fast_count), "no generated file took the fast path: the comparison proved nothing"
