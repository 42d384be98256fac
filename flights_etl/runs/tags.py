"""Run tags, named once. Dagster's own keys are spelled here as Dagster 0.15.10 writes them
(tests/runs/test_tags_and_statuses.py checks the partition and backfill ones); the ``flights/`` keys are ours."""

# Dagster's: written by partition sets, backfills, sensors and run retries.
PARTITION_TAG = "dagster/partition"  # set by the partition sets, backfills and Dagit's partition picker
PARTITION_SET_TAG = "dagster/partition_set"
BACKFILL_TAG = "dagster/backfill"
PARENT_RUN_ID_TAG = "dagster/parent_run_id"  # a retry's or re-execution's parent
MAX_RETRIES_TAG = "dagster/max_retries"
RETRY_NUMBER_TAG = "dagster/retry_number"
RETRY_STRATEGY_TAG = "dagster/retry_strategy"

# This project's.
EXECUTOR_TAG = "flights/executor"  # the identity of the process executing the run (runs/process.py)
WORKER_TAG = "flights/worker"  # the fleet worker's name, when a fleet worker executes the run
CREATOR_TAG = "flights/creator"  # the process that created the run and hands it to an executor
RESENT_TAG = "flights/resent"  # how many times the watchdog sent the run again
REQUESTED_BY_TAG = "flights/requested_by"  # which sensor requested the run
LANDING_TAG = "flights/landing"  # what the landing sensor saw of the day's files
GRANULARITY_TAG = "flights/granularity"  # daily or monthly
MONTH_TAG = "flights/month"  # the month a run's partition belongs to
