"""Read and validate the day's landing files: flights must be there, weather may have gaps."""
import os

from dagster import ExpectationResult, Failure, MetadataValue, Output, OutputDefinition, solid

from flights_etl.contract.errors import LandingFileError
from flights_etl.resources.step_outputs import SOURCE_ATTR, landing_source
from flights_etl.solids.types import DataFrame


def _failure(error: LandingFileError) -> Failure:
    metadata = {"file": MetadataValue.path(error.path), "problem": error.problem}
    if error.line is not None:
        metadata["line"] = error.line
    if error.column is not None:
        metadata["column"] = error.column
    return Failure(description=str(error), metadata=metadata)


def _identity(path: str):
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _read(context, dataset: str):
    day = context.resources.daily_partition.day
    try:
        before = _identity(context.resources.landing.file_for(dataset, day))
        frame, gap, path = context.resources.landing.read(dataset, day)
    except LandingFileError as error:
        raise _failure(error) from None
    # The recorded hash must be of the rows read (the landing sensor trusts it): a file re-landed
    # between the read and the hash fails the run rather than claim bytes it did not load.
    frame.attrs[SOURCE_ATTR] = landing_source(path, day, gap)  # lets a re-execution re-read the file
    if _identity(path) != before:
        raise Failure(description=f"{path} changed while it was being read (re-landed meanwhile): nothing was "
                                  "loaded; run the day again", metadata={"file": MetadataValue.path(path)})
    return frame, gap, path


@solid(
    required_resource_keys={"landing", "daily_partition"},
    output_defs=[OutputDefinition(DataFrame, metadata={"landing": "flights"})],
    description="Read flights/<date>.csv and check it against the input contract; a bad or missing file fails the run.",
)
def read_flights(context):
    flights, _gap, path = _read(context, "flights")
    yield ExpectationResult(
        success=True,
        label="flights_file_valid",
        description=f"{path}: header, types, ranges and dates match the contract",
        metadata={"rows": len(flights), "file": MetadataValue.path(path)},
    )
    yield Output(flights, metadata={"rows": len(flights)})


@solid(
    required_resource_keys={"landing", "daily_partition"},
    output_defs=[OutputDefinition(DataFrame, metadata={"landing": "weather"})],
    description="Read weather/<date>.csv; a missing or empty file is a visible gap, not a failure.",
)
def read_weather(context):
    weather, gap, path = _read(context, "weather")
    if gap:
        context.log.warning(
            f"Weather gap: {path} {gap}; flights of {context.resources.daily_partition.name} load without "
            "weather and daily_delays leaves its weather columns empty."
        )
    yield ExpectationResult(
        success=gap is None,
        label="weather_file_present",
        description=f"{path} {gap}" if gap else f"{path}: header, types, ranges and dates match the contract",
        metadata={"rows": len(weather), "file": MetadataValue.path(path), "weather_gap": gap is not None},
    )
    yield Output(weather, metadata={"rows": len(weather), "weather_gap": gap is not None})
