"""Where a day's landing files live: ``<landing_dir>/flights/YYYY-MM-DD.csv`` and ``weather/...``."""
import os
from datetime import date

from flights_etl import settings
from flights_etl.contract.schema import DATASETS

DEFAULT_LANDING_DIR = "data/landing"
LANDING_DIR_ENV = settings.LANDING_DIR


def default_landing_dir() -> str:
    """The landing directory from ``$FLIGHTS_LANDING_DIR``, else ``data/landing`` (read at call time)."""
    return settings.read(LANDING_DIR_ENV) or DEFAULT_LANDING_DIR


def landing_file(landing_dir: str, dataset: str, day: date) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {tuple(DATASETS)}")
    return os.path.join(landing_dir, dataset, f"{day.isoformat()}.csv")
