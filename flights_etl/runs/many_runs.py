"""What a process that executes many runs in a row (a backfill worker, a fleet worker) applies to
Dagster 0.15.10 once, before its first run: each change leaves what a run does and records as
Dagster's own, and saves work Dagster repeats every run (see each module)."""
import importlib
import pkgutil

from flights_etl.runs import captured_logs, config_snapshots, resource_classes

# What steps import when they first run, and loading the repository does not (so that `status`,
# Dagit, the daemon and sensor ticks skip pandas and Arrow): the validator, the warehouse's frames,
# and every module of these packages (a new pipeline's transforms included).
STEP_LIBRARIES = ("pandas", "pyarrow", "pyarrow.csv", "pyarrow.compute", "pyarrow.parquet")
STEP_PACKAGES = ("flights_etl.transforms", "flights_etl.contract")


def prepare_process() -> None:
    resource_classes.make_once()
    config_snapshots.snapshot_once()
    captured_logs.only_real_captures()


def import_step_code() -> None:
    """Import what a run's steps import. A process that forks run-executing children calls it first:
    each child then shares these modules' pages instead of importing its own copy (~0.25 CPU-s and
    ~40 MiB each)."""
    for name in STEP_LIBRARIES:
        importlib.import_module(name)
    for package_name in STEP_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(module.name)
