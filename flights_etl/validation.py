"""Read and validate one day's landing file into a typed DataFrame.

Pure functions: a path and the partition date in, a DataFrame out, or a
``LandingFileError`` that names the file, the line and the column of the first
problem, so that a data engineer can open the file and fix it.
"""
import csv
import os
from datetime import date
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from flights_etl.schema import MISSING_VALUES, Column

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class LandingFileError(ValueError):
    """A landing file that cannot be loaded; ``str()`` is the message shown to the user."""

    def __init__(self, path: str, problem: str, line: Optional[int] = None, column: Optional[str] = None):
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column
        where = path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


def read_landing_file(
    path: str, columns: Sequence[Column], partition_date: date, allow_no_rows: bool = False
) -> pd.DataFrame:
    """Validate ``path`` against ``columns`` and return its rows typed, in file order.

    Checks, in order: the file exists and is not empty; the header is exactly
    ``columns``; every row has as many fields as the header; every value parses
    as its column's kind and required columns have no missing values; every
    row's year/month/day is ``partition_date``.
    """
    clean = _read_clean_file(path, columns, partition_date)
    if clean is not None:
        return clean
    header, rows, line_numbers = _read_csv_text(path)
    expected = [column.name for column in columns]
    _check_header(path, header, expected)
    if not rows and not allow_no_rows:
        raise LandingFileError(path, "has a header but no data rows", line=1)
    for row, line in zip(rows, line_numbers):
        if len(row) != len(expected):
            raise LandingFileError(
                path, f"expected {len(expected)} fields as in the header, found {len(row)}", line=line
            )
    by_column = list(zip(*rows)) if rows else [() for _ in columns]
    typed = pd.DataFrame(
        {column.name: _parse_column(path, values, column, line_numbers) for column, values in zip(columns, by_column)}
    )
    _check_partition_date(path, typed, partition_date, line_numbers)
    return typed


def _read_clean_file(path: str, columns: Sequence[Column], partition_date: date) -> Optional[pd.DataFrame]:
    """The fast path for the usual, valid file: pandas' C parser straight to typed columns.

    Returns None whenever anything is unusual (unreadable, bad header, a value that does not
    parse, a missing required value, a short or long row, another day's row, no rows); the
    exact line-by-line path then reads the file again and names the problem. It accepts a
    subset of what that path accepts and returns the same frame.
    """
    dtypes = {column.name: _FAST_DTYPES[column.kind] for column in columns}
    try:
        frame = pd.read_csv(
            path, dtype=dtypes, na_values=list(MISSING_VALUES), keep_default_na=False, encoding="utf-8"
        )
    except Exception:  # any trouble at all: the exact path will name it
        return None
    if list(frame.columns) != [column.name for column in columns] or frame.empty:
        return None
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took a column as the index: rows too long
        return None
    for column in columns:
        if not column.nullable and frame[column.name].isna().any():
            return None  # also what a short row looks like
        if column.kind == "timestamp":
            parsed = pd.to_datetime(frame[column.name], format=TIMESTAMP_FORMAT, errors="coerce")
            if (parsed.isna() & frame[column.name].notna()).any():
                return None
            frame[column.name] = parsed
    wrong_day = (
        (frame["year"] != partition_date.year)
        | (frame["month"] != partition_date.month)
        | (frame["day"] != partition_date.day)
    )
    if wrong_day.any():
        return None
    return frame


# What the fast path asks pandas for, per column kind (timestamps are parsed afterwards).
_FAST_DTYPES = {"int": "Int64", "float": "float64", "str": "string", "timestamp": "string"}


def read_optional_landing_file(
    path: str, columns: Sequence[Column], partition_date: date
) -> Tuple[pd.DataFrame, Optional[str]]:
    """For a file whose absence is a gap, not an error (weather): ``(rows, None)`` when it has rows,
    else ``(empty typed frame, why)``. A file that is there but broken still raises."""
    if not os.path.exists(path):
        return empty_frame(columns), "is missing"
    if os.path.getsize(path) == 0:
        return empty_frame(columns), "has no rows"
    frame = read_landing_file(path, columns, partition_date, allow_no_rows=True)
    return frame, (None if not frame.empty else "has no rows")


def empty_frame(columns: Sequence[Column]) -> pd.DataFrame:
    """A frame with the typed columns and no rows: what a missing weather day loads as."""
    return pd.DataFrame(
        {column.name: _parse_column("", (), column, []) for column in columns}
    )


def _read_csv_text(path: str) -> Tuple[List[str], List[List[str]], List[int]]:
    if not os.path.exists(path):
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            raise LandingFileError(path, f"not found: the directory {directory} does not exist")
        raise LandingFileError(path, "not found: no file has landed for this day")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or not any(field.strip() for field in header):
                raise LandingFileError(path, "is empty: expected a header row and data rows")
            rows, line_numbers = [], []
            for row in reader:
                if not row:  # a blank line
                    continue
                rows.append(row)
                line_numbers.append(reader.line_num)
    except UnicodeDecodeError as error:
        raise LandingFileError(path, f"is not UTF-8 text ({error.reason} at byte {error.start})") from error
    except csv.Error as error:
        raise LandingFileError(path, f"is not valid CSV: {error}") from error
    except OSError as error:
        raise LandingFileError(path, f"cannot be read: {error.strerror}") from error
    return [name.strip() for name in header], rows, line_numbers


def _check_header(path: str, header: List[str], expected: List[str]) -> None:
    if header == expected:
        return
    missing = [name for name in expected if name not in header]
    extra = [name for name in header if name not in expected]
    problems = []
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    if not problems:
        position = next(i for i, (got, want) in enumerate(zip(header, expected)) if got != want)
        problems.append(
            f"columns out of order: column {position + 1} is {header[position]!r}, expected {expected[position]!r}"
        )
    raise LandingFileError(path, "header does not match the input contract: " + "; ".join(problems), line=1)


def _parse_column(path: str, raw: Sequence[str], column: Column, line_numbers: Sequence[int]) -> pd.Series:
    stripped = [value.strip() for value in raw]
    missing = pd.Series(np.fromiter((value in MISSING_VALUES for value in stripped), dtype=bool, count=len(stripped)))
    text = pd.Series(stripped, dtype=object)
    if not column.nullable and missing.any():
        _raise_at(path, column, line_numbers, missing, "is missing a value in a required column", text)
    present = text.where(~missing)
    if column.kind == "str":
        return present.astype("string")
    if column.kind == "timestamp":
        parsed = pd.to_datetime(present, format=TIMESTAMP_FORMAT, errors="coerce")
        _raise_at(path, column, line_numbers, parsed.isna() & ~missing, "is not a timestamp like 2013-01-01T05:00:00Z", text)
        return parsed
    numbers = pd.to_numeric(present, errors="coerce")
    _raise_at(path, column, line_numbers, numbers.isna() & ~missing, "is not a number", text)
    if column.kind == "float":
        return numbers.astype("float64")
    fractional = numbers.notna() & (numbers != numbers.round())
    _raise_at(path, column, line_numbers, fractional, "is not a whole number", text)
    return numbers.astype("Int64")


def _raise_at(path, column: Column, line_numbers, bad: pd.Series, problem: str, text: pd.Series) -> None:
    if not bad.any():
        return
    positions = bad.to_numpy().nonzero()[0]
    first = positions[0]
    more = f" ({len(positions) - 1} more such values in this column)" if len(positions) > 1 else ""
    raise LandingFileError(
        path, f"value {text.iloc[first]!r} {problem}{more}", line=line_numbers[first], column=column.name
    )


def _check_partition_date(path: str, frame: pd.DataFrame, partition_date: date, line_numbers) -> None:
    if frame.empty:
        return
    wrong = (
        (frame["year"] != partition_date.year)
        | (frame["month"] != partition_date.month)
        | (frame["day"] != partition_date.day)
    ).to_numpy(dtype=bool)
    if wrong.any():
        first = wrong.nonzero()[0][0]
        row = frame.iloc[first]
        row_date = f"{row['year']}-{row['month']:02d}-{row['day']:02d}"
        raise LandingFileError(
            path,
            f"row date {row_date} (columns year, month, day) is not the partition date "
            f"{partition_date.isoformat()} ({int(wrong.sum())} such rows)",
            line=line_numbers[first],
            column="year/month/day",
        )
