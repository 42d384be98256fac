"""Read and validate the day's landing files: flights must be there, weather may have gaps."""
import pandas as pd
from dagster import ExpectationResult, Failure, MetadataValue, Output, solid

from flights_etl.schema import FLIGHTS_COLUMNS, WEATHER_COLUMNS
from flights_etl.solids.partition_config import DATE_CONFIG, partition_date
from flights_etl.validation import LandingFileError, read_landing_file, read_optional_landing_file


def _failure(error: LandingFileError) -> Failure:
    metadata = {"file": MetadataValue.path(error.path), "problem": error.problem}
    if error.line is not None:
        metadata["line"] = error.line
    if error.column is not None:
        metadata["column"] = error.column
    return Failure(description=str(error), metadata=metadata)


@solid(
    config_schema=DATE_CONFIG,
    required_resource_keys={"landing"},
    description="Read flights/<date>.csv and check it against the input contract; a bad or missing file fails the run.",
)
def read_flights(context) -> pd.DataFrame:
    day = partition_date(context)
    try:
        path = context.resources.landing.file_for("flights", day)
        flights = read_landing_file(path, FLIGHTS_COLUMNS, day)
    except LandingFileError as error:
        raise _failure(error) from None
    yield ExpectationResult(
        success=True,
        label="flights_file_valid",
        description=f"{path}: header, types and dates match the contract",
        metadata={"rows": len(flights), "file": MetadataValue.path(path)},
    )
    yield Output(flights)


@solid(
    config_schema=DATE_CONFIG,
    required_resource_keys={"landing"},
    description="Read weather/<date>.csv; a missing or empty file is a visible gap, not a failure.",
)
def read_weather(context) -> pd.DataFrame:
    day = partition_date(context)
    try:
        path = context.resources.landing.file_for("weather", day)
        weather, gap = read_optional_landing_file(path, WEATHER_COLUMNS, day)
    except LandingFileError as error:
        raise _failure(error) from None
    if gap:
        context.log.warning(
            f"Weather gap: {path} {gap}; flights of {day} load without weather and "
            "daily_delays leaves its weather columns empty."
        )
        yield ExpectationResult(
            success=False,
            label="weather_file_present",
            description=f"{path} {gap}",
            metadata={"file": MetadataValue.path(path), "weather_gap": True},
        )
        yield Output(weather, metadata={"rows": 0, "weather_gap": True})
        return
    yield ExpectationResult(
        success=True,
        label="weather_file_present",
        description=f"{path}: header, types and dates match the contract",
        metadata={"rows": len(weather), "file": MetadataValue.path(path)},
    )
    yield Output(weather, metadata={"rows": len(weather), "weather_gap": False})
