"""Simulate the upstream drop: write the daily landing files for a date range from the packaged data."""
import os
from datetime import date
from typing import Dict

import pandas as pd

from flights_etl.contract.paths import landing_file
from flights_etl.contract.schema import DATASETS
from flights_etl.files import write_atomically
from flights_etl.upstream.source_data import read_source_table


def land_days(landing_dir: str, start: date, end: date) -> Dict[str, int]:
    """Write ``<dataset>/YYYY-MM-DD.csv`` for every day in [start, end]; return files written per dataset.

    A day with no source rows (the packaged weather has none for 2013-12-31) gets no
    file, exactly like a real upstream gap. Each file is written to a temporary name
    and renamed, so a reader never sees half a file. A range with no flights at all is
    an error: nothing would land.
    """
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    written = {}
    for dataset in DATASETS:
        table = read_source_table(dataset)
        day_of_row = pd.to_datetime(
            table[["year", "month", "day"]].astype(int), errors="raise"
        ).dt.date
        in_range = table[(day_of_row >= start) & (day_of_row <= end)]
        if dataset == "flights" and in_range.empty:
            first, last = day_of_row.min(), day_of_row.max()
            raise ValueError(f"the packaged data has no flights from {start} to {end} (it covers {first} .. {last})")
        groups = in_range.groupby(day_of_row[in_range.index], sort=True)
        os.makedirs(os.path.join(landing_dir, dataset), exist_ok=True)
        count = 0
        for day, rows in groups:
            write_atomically(landing_file(landing_dir, dataset, day), rows.to_csv(index=False).encode())
            count += 1
        written[dataset] = count
    return written
