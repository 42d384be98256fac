"""What a process that executes many runs in a row (a backfill worker, a fleet worker) applies to
Dagster 0.15.10 once, before its first run: each change leaves what a run does and records as
Dagster's own, and saves work Dagster repeats every run (see each module)."""
from flights_etl.runs import captured_logs, config_snapshots, resource_classes


def prepare_process() -> None:
    resource_classes.make_once()
    config_snapshots.snapshot_once()
    captured_logs.only_real_captures()
