"""Run only by tests/test_no_leftovers.py, in a pytest of its own (the name keeps it out of collection):
starts PostgreSQL, Redis and dagster-daemon (with its code server), writes their pids, then waits to be killed."""
import json
import os
import subprocess
import time

from tests.backfill.cli_helpers import BIN, PROJECT_ROOT
from tests.servers import RedisServer


def test_start_servers_and_wait(postgres_server, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home), "FLIGHTS_WAREHOUSE": str(tmp_path / "warehouse.duckdb")}
    redis = RedisServer().start()
    daemon = subprocess.Popen([os.path.join(BIN, "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=PROJECT_ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with open(os.path.join(postgres_server.data_dir, "postmaster.pid")) as handle:
        postmaster = int(handle.readline())
    with open(os.environ["LEFTOVERS_READY_FILE"] + ".tmp", "w") as handle:
        json.dump({"postmaster": postmaster, "redis": redis.process.pid, "daemon": daemon.pid,
                   "directories": [postgres_server.directory, redis.directory]}, handle)
    os.rename(os.environ["LEFTOVERS_READY_FILE"] + ".tmp", os.environ["LEFTOVERS_READY_FILE"])
    time.sleep(600)  # killed from outside long before
