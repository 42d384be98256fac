"""The ``landing`` resource: the directory where the daily files land, and reading them by the contract."""
import os
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Optional, Tuple

from dagster import resource

from flights_etl.contract.errors import LandingFileError
from flights_etl.contract.paths import LANDING_DIR_ENV, default_landing_dir, landing_file
from flights_etl.contract.schema import DATASETS
from flights_etl.urls import masked, url_scheme

if TYPE_CHECKING:
    import pandas as pd


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

    def read(self, dataset: str, day: date) -> Tuple["pd.DataFrame", Optional[str], str]:
        """``(rows, gap, path)``: ``gap`` says why an optional file (weather) has no rows, else None.
        A required file (flights) that is missing or broken raises ``LandingFileError``."""
        # pandas and Arrow when a step reads, not when the repository is loaded
        from flights_etl.contract.validation import read_landing_file, read_optional_landing_file

        spec = DATASETS[dataset]
        path = self.file_for(dataset, day)
        if spec.optional:
            frame, gap = read_optional_landing_file(path, spec, day, landing_dir=self.path)
            return frame, gap, path
        return read_landing_file(path, spec, day, landing_dir=self.path), None, path


@resource(
    # Empty, not absent: a resource without a schema takes any config, and the directory is the
    # deployment's ($FLIGHTS_LANDING_DIR), not the Launchpad's, so resources.landing.config.dir is refused.
    config_schema={},
    description=f"Directory holding flights/YYYY-MM-DD.csv and weather/YYYY-MM-DD.csv: ${LANDING_DIR_ENV}, "
    "else data/landing.",
)
def landing_resource(_init_context) -> LandingDir:
    path = default_landing_dir()
    if url_scheme(path) is not None:  # a URL given by mistake: never a directory name, nor printed whole
        raise ValueError(f"${LANDING_DIR_ENV} is a URL ({masked(path)}), not a directory")
    return LandingDir(path=os.path.expanduser(path))
