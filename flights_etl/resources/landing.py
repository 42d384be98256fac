"""The ``landing`` resource: the directory where the daily files land, and reading them by the contract."""
import os
from dataclasses import dataclass
from datetime import date
from typing import Optional, Tuple

import pandas as pd
from dagster import Field, StringSource, resource

from flights_etl.contract.paths import LANDING_DIR_ENV, default_landing_dir, landing_file
from flights_etl.contract.schema import DATASETS
from flights_etl.contract.validation import LandingFileError, read_landing_file, read_optional_landing_file


@dataclass(frozen=True)
class LandingDir:
    """The landing directory: names a day's files and reads them through the input contract."""

    path: str

    def file_for(self, dataset: str, day: date) -> str:
        path = landing_file(self.path, dataset, day)
        if not os.path.isdir(self.path):
            raise LandingFileError(
                path,
                f"not found: the landing directory {self.path} does not exist "
                f"(set ${LANDING_DIR_ENV}, or land files with `flights-etl land`)",
            )
        return path

    def read(self, dataset: str, day: date) -> Tuple[pd.DataFrame, Optional[str], str]:
        """``(rows, gap, path)``: ``gap`` says why an optional file (weather) has no rows, else None.
        A required file (flights) that is missing or broken raises ``LandingFileError``."""
        spec = DATASETS[dataset]
        path = self.file_for(dataset, day)
        if spec.optional:
            frame, gap = read_optional_landing_file(path, spec, day, landing_dir=self.path)
            return frame, gap, path
        return read_landing_file(path, spec, day, landing_dir=self.path), None, path


@resource(
    config_schema={
        "dir": Field(
            StringSource,
            is_required=False,
            description=f"Landing directory. Default: ${LANDING_DIR_ENV}, else data/landing.",
        )
    },
    description="Directory holding flights/YYYY-MM-DD.csv and weather/YYYY-MM-DD.csv.",
)
def landing_resource(init_context) -> LandingDir:
    return LandingDir(path=init_context.resource_config.get("dir") or default_landing_dir())
