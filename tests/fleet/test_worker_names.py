"""A worker started as `--hostname worker1@%h` (as `make stack` does) is named with the host's name in
the run log and tags, as Celery names it: never a literal %h."""
import socket

import pytest

from flights_etl.fleet.execution import WORKER_TAG
from flights_etl.fleet.worker import worker_name
from tests.backfill.cli_helpers import flights_etl
from tests.fleet.conftest import instance_of

DAY = "2013-01-12"


def test_celery_placeholders_are_expanded():
    host = socket.gethostname()
    assert worker_name("worker1@%h") == f"worker1@{host}"
    assert worker_name("w2@host2") == "w2@host2"
    assert "%" not in worker_name("%n@%d") and "%" not in worker_name("%h")


@pytest.mark.slow
def test_run_log_names_the_worker_with_its_host(fleet_env, start_worker):
    worker = start_worker(fleet_env, "worker1@%h")
    expected = f"worker1@{socket.gethostname()}"
    done = flights_etl(fleet_env, "backfill", "--partition-set", "flights_daily_partition_set", "--partitions", DAY)
    assert done.returncode == 0, done.stdout + done.stderr
    with instance_of(fleet_env) as instance:
        [run] = instance.get_runs()
        messages = [record.message for record in instance.all_logs(run.run_id)]
    assert f"Taken from the fleet's queue by {expected} pid" in " ".join(messages)
    assert not [message for message in messages if "%h" in message]
    assert run.tags.get(WORKER_TAG, expected).startswith(expected), run.tags
    assert f"flights-etl worker {expected}:" in worker.log_path.read_text()
