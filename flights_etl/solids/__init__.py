"""Thin solids: each takes its config, calls pure helpers, and reports to Dagster."""
