"""The backfill's closing table fits the terminal: the error column wraps, nothing of the error is lost."""
from flights_etl.backfill.driver import PartitionOutcome
from flights_etl.backfill.progress import summary_table

ERROR = ("/home/someone/projects/flights/data/landing/flights/2013-01-10.csv, line 5, column 'month': value 'x2' "
         "is not a number; " + "and more words " * 16).strip()


def test_failure_table_fits_80_columns_and_keeps_the_whole_error():
    outcomes = [PartitionOutcome("2013-01-09", "a" * 36, "SUCCESS", 1.0),
                PartitionOutcome("2013-01-10", "b" * 36, "FAILURE", 1.0, error=ERROR + "\nTraceback ...")]
    assert len(ERROR) > 250
    text = summary_table(outcomes, 2.0, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80, text
    table = text[text.index("error\n"):]
    # the wrapped error, read back column by column
    cells = [line[line.index("bbbbbbbb") + 8:].strip() if "bbbbbbbb" in line else line.strip()
             for line in table.splitlines()[2:] if line.strip() and "partitions in" not in line]
    assert "".join(cells).replace(" ", "") == ERROR.replace(" ", "")
    assert "Traceback" not in text  # the first line only


def test_wide_terminal_keeps_one_line_per_failure():
    outcomes = [PartitionOutcome("2013-01-10", "b" * 36, "FAILURE", 1.0, error="short error")]
    text = summary_table(outcomes, 1.0, width=200)
    assert [line for line in text.splitlines() if "2013-01-10" in line] == [
        next(line for line in text.splitlines() if "short error" in line)]
