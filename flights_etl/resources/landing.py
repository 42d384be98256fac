"""The ``landing`` resource: the directory where the daily files land."""
import os
from dataclasses import dataclass
from datetime import date

from dagster import Field, StringSource, resource

from flights_etl.landing_paths import LANDING_DIR_ENV, default_landing_dir, landing_file
from flights_etl.validation import LandingFileError


@dataclass(frozen=True)
class LandingDir:
    """The landing directory; ``file_for`` names a day's file and fails clearly if the directory is gone."""

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
