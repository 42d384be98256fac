"""The shared helpers: an error as one line, and atomic writes."""
import os

import pytest

from flights_etl.errors import error_line, first_line
from flights_etl.files import write_atomically


def test_first_line_keeps_the_first_non_blank_line_whole():
    assert first_line("\n  bad.csv:3:7: not a number\nTraceback ...") == "bad.csv:3:7: not a number"
    assert first_line(None) == "" and first_line("  \n ") == ""
    assert first_line("", "no message") == "no message"


def test_error_line_with_and_without_its_class():
    error = ValueError("the day is 2013-13-01\nmore")
    assert error_line(error) == "the day is 2013-13-01"
    assert error_line(error, with_class=True) == "ValueError: the day is 2013-13-01"
    assert error_line(KeyError()) == error_line(KeyError(), with_class=True) == "KeyError"


def test_write_atomically_creates_the_folder_and_replaces_whole(tmp_path):
    path = str(tmp_path / "a" / "b" / "out.json")
    write_atomically(path, b"one")
    write_atomically(path, b"two")
    with open(path, "rb") as handle:
        assert handle.read() == b"two"
    assert os.listdir(tmp_path / "a" / "b") == ["out.json"]


def test_write_atomically_leaves_no_temporary_file_when_it_fails(tmp_path):
    with pytest.raises(TypeError):
        write_atomically(str(tmp_path / "out.json"), "not bytes")
    assert os.listdir(tmp_path) == []
