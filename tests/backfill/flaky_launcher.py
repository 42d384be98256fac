"""A run launcher for tests only: after ``succeed_first`` launches, ``failures`` launches fail as a
broker outage does; every run it launches "runs" at once (recorded as started and succeeded, no
step executed)."""
from dagster import DagsterEvent, DagsterEventType, Field

from flights_etl.dagster_private import ConfigurableClass, RunLauncher


class Unreachable(RuntimeError):
    transient = True  # as the fleet launcher's BrokerUnreachable


class FlakyLauncher(RunLauncher, ConfigurableClass):
    backfills_through_launcher = True

    def __init__(self, failures: int = 0, transient: bool = True, succeed_first: int = 1, inst_data=None):
        self._inst_data = inst_data
        self.failures_left = failures
        self.succeed_first = succeed_first
        self.transient = transient
        self.launched = []
        super().__init__()

    @property
    def inst_data(self):
        return self._inst_data

    @classmethod
    def config_type(cls):
        return {"failures": Field(int, default_value=0), "transient": Field(bool, default_value=True),
                "succeed_first": Field(int, default_value=1)}

    @staticmethod
    def from_config_value(inst_data, config_value):
        return FlakyLauncher(inst_data=inst_data, **config_value)

    def launch_run(self, context):
        run = context.pipeline_run
        if len(self.launched) >= self.succeed_first and self.failures_left > 0:
            self.failures_left -= 1
            raise (Unreachable if self.transient else RuntimeError)(f"cannot reach the queue for run {run.run_id}")
        self.launched.append(run.run_id)
        for event_type in (DagsterEventType.PIPELINE_START, DagsterEventType.PIPELINE_SUCCESS):
            self._instance.report_dagster_event(
                DagsterEvent(event_type_value=event_type.value, pipeline_name=run.pipeline_name), run_id=run.run_id)

    def can_terminate(self, run_id):
        return False

    def terminate(self, run_id):
        return False
