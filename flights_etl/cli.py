"""``flights-etl``: the project's own command line (land files, summarize the warehouse)."""
from datetime import date

import click

from flights_etl.landing_paths import LANDING_DIR_ENV, default_landing_dir
from flights_etl.warehouse.connection import WAREHOUSE_ENV, default_warehouse_path


def _parse_day(_ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form", param=param) from None


@click.group()
def main():
    """Partitioned nycflights13 ETL on Dagster 0.15."""


@main.command()
@click.option("--start", required=True, callback=_parse_day, help="First day to land, YYYY-MM-DD.")
@click.option("--end", required=True, callback=_parse_day, help="Last day to land (included), YYYY-MM-DD.")
@click.option(
    "--landing-dir",
    default=None,
    help=f"Where to write the files. Default: ${LANDING_DIR_ENV}, else data/landing.",
)
def land(start, end, landing_dir):
    """Write the daily flights/ and weather/ files for a date range from the packaged data."""
    from flights_etl.landing import land_days

    target = landing_dir or default_landing_dir()
    try:
        written = land_days(target, start, end)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    click.echo(
        f"Landed {written['flights']} flights files and {written['weather']} weather files "
        f"for {start} .. {end} in {target}"
    )


@main.command()
@click.option("--warehouse", default=None, help=f"DuckDB file. Default: ${WAREHOUSE_ENV}, else data/warehouse.duckdb.")
@click.option("--top", default=5, show_default=True, help="How many carriers to list.")
def summary(warehouse, top):
    """Print rows per day and the most delayed carriers."""
    from flights_etl.summary import warehouse_summary
    from flights_etl.warehouse import connect

    with connect(warehouse or default_warehouse_path()) as connection:
        click.echo(warehouse_summary(connection, top=top))


if __name__ == "__main__":
    main()
