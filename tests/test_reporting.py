"""The materializations' Markdown previews: the first rows, cells escaped, missing values empty."""
import numpy as np
import pandas as pd

from flights_etl.solids.reporting import markdown_preview


def test_preview_is_a_markdown_table_of_the_first_rows():
    frame = pd.DataFrame({
        "carrier": ["UA", "A|B", "DL", "AA", "B6", "EV"],
        "dep_delay": [2.0, np.nan, -1.5, 0.0, 3.0, 4.0],
        "when": pd.to_datetime(["2013-01-01 05:00", None, "2013-01-01 06:00", None, None, None]),
        "note": ["a\nb", None, "c\\d", "", "e", "f"],
    })
    lines = markdown_preview(frame).value.splitlines()
    assert lines[0] == "| carrier | dep_delay | when | note |"
    assert lines[1] == "|---|---|---|---|"
    assert lines[2] == "| UA | 2.0 | 2013-01-01 05:00:00 | a b |"
    assert lines[3] == "| A\\|B |  |  |  |"
    assert lines[4] == "| DL | -1.5 | 2013-01-01 06:00:00 | c\\\\d |"
    assert len(lines) == 2 + 5  # header, rule, PREVIEW_ROWS rows


def test_preview_of_no_rows():
    assert markdown_preview(pd.DataFrame({"a": []})).value == "_no rows_"
