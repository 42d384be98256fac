"""Sets of run statuses, named once: what "ended", "failed", "waiting" mean for this project's runs."""
from dagster import PipelineRunStatus

ENDED = (PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED)  # final: nothing runs
FAILED = (PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED)  # ended without its data
# Not yet executing. NOT_STARTED first: the watchdog takes WAITING[1:] as "still with the launcher or the broker".
WAITING = (PipelineRunStatus.NOT_STARTED, PipelineRunStatus.QUEUED, PipelineRunStatus.STARTING)
RUNNING = (PipelineRunStatus.STARTED, PipelineRunStatus.CANCELING)  # a process executes it (or stops it)
# Handed to a process that has not recorded an end: what a local backfill worker's death leaves behind.
EXECUTING = (PipelineRunStatus.NOT_STARTED, PipelineRunStatus.STARTING, PipelineRunStatus.STARTED)
UNFINISHED = EXECUTING + (PipelineRunStatus.CANCELING,)  # a process may own it: the dead-run rule checks these
IN_PROGRESS = (PipelineRunStatus.QUEUED,) + UNFINISHED  # every status that is not final
