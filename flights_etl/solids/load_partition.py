"""Load the day's flights, weather and daily_delays into the warehouse in one transaction."""
from typing import TYPE_CHECKING, List, Optional

from dagster import MetadataValue, Output, OutputDefinition, solid

from flights_etl.contract.fingerprints import files_digest
from flights_etl.resources.step_outputs import SOURCE_ATTR
from flights_etl.solids.reporting import asset_input, table_metadata, table_output, with_asset_keys
from flights_etl.solids.types import DataFrame, Summary

if TYPE_CHECKING:
    import pandas as pd


def source_digest(flights: "pd.DataFrame", weather: "pd.DataFrame") -> Optional[str]:
    """One digest of the landing files' SHA-256s (a missing weather file as such) the frames were read
    from, as the landing sensor computes it from the files; None when a frame does not carry its source."""
    sources = [frame.attrs.get(SOURCE_ATTR) for frame in (flights, weather)]
    if any(source is None for source in sources):
        return None
    return files_digest([source.get("sha256") for source in sources])


def source_files(flights: "pd.DataFrame", weather: "pd.DataFrame") -> List[dict]:
    """Per frame that carries its source: dataset, path, size, sha256 and gap (why it has no rows)."""
    files = []
    for dataset, frame in (("flights", flights), ("weather", weather)):
        source = frame.attrs.get(SOURCE_ATTR)
        if source is not None:
            files.append({"dataset": dataset, **{key: source.get(key) for key in ("path", "size", "sha256", "gap")}})
    return files


def _provenance(file: dict) -> dict:
    """A source file as materialization metadata."""
    facts = {"source_file": MetadataValue.path(file["path"]), "source_sha256": file["sha256"] or "(none)",
             "source_size": file["size"] if file["size"] is not None else -1}
    if file["gap"]:
        facts["source_gap"] = file["gap"]
    return facts


def _day(resources) -> str:
    return resources.daily_partition.name


@with_asset_keys(solid(
    required_resource_keys={"warehouse", "daily_partition"},
    # The landing files in, the three tables out: Dagit's asset graph draws landing -> each table.
    input_defs=[asset_input("flights", ["landing", "flights"]), asset_input("weather", ["landing", "weather"])],
    output_defs=[*(table_output(table, _day) for table in ("flights", "weather", "daily_delays")), OutputDefinition(Summary)],
    description="Replace the day's rows of tables flights, weather and daily_delays in one transaction (idempotent).",
))
def load_partition(context, flights: DataFrame, weather: DataFrame, daily_delays: DataFrame) -> str:
    day = context.resources.daily_partition.day
    inserted = context.resources.warehouse.replace_partition(
        day, {"flights": flights, "weather": weather, "daily_delays": daily_delays},
        source=source_digest(flights, weather), files=source_files(flights, weather),
    )
    name = day.isoformat()
    gap = weather.empty
    files = {file["dataset"]: _provenance(file) for file in source_files(flights, weather)}
    # Dagster turns each table output into its one materialization of the day (reporting.py).
    yield Output(int(inserted["flights"]), "flights_table", metadata=table_metadata(flights, **files.get("flights", {})))
    yield Output(int(inserted["weather"]), "weather_table",
                 metadata=table_metadata(weather, weather_gap=gap, **files.get("weather", {})))
    yield Output(int(inserted["daily_delays"]), "daily_delays_table", metadata=table_metadata(daily_delays, weather_gap=gap))
    worst = daily_delays.sort_values("dep_delay_mean", ascending=False).iloc[0]
    yield Output(
        f"{name}: {inserted['flights']} flights loaded; worst mean departure delay "
        f"{worst['carrier']} at {worst['origin']} ({worst['dep_delay_mean']:.1f} min)"
        + ("; no weather for this day" if gap else ""),
        metadata={table: rows for table, rows in inserted.items()},
    )
