"""Workers on separate "hosts": network namespaces of the test's own, joined to this one by veth pairs.

Each namespace has its own network stack (its own loopback): its worker reaches PostgreSQL and
Redis only over the veth addresses the servers listen on, as a worker on another machine would.
The landing files and the step-output storage are on the shared filesystem.
"""
import os
import random
import shutil
import subprocess

import pytest
from dagster import PipelineRunStatus

from flights_etl.fleet.execution import WORKER_TAG
from tests.backfill.cli_helpers import flights_etl
from tests.backfill.test_concurrency import _assert_warehouse_exact, _days
from tests.fleet.conftest import instance_of, make_home
from tests.servers import PostgresServer, RedisServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="network namespaces need root and iproute2 (CI runs as root)"),
]


def _ip(*args, namespace=None):
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    subprocess.run([*prefix, "ip", *args], check=True, capture_output=True)


@pytest.fixture
def hosts():
    """Two namespaces; yields [(namespace, its address, the address it reaches us at)]."""
    tag = f"{random.randrange(16**6):06x}"
    subnet = random.randrange(1, 250)
    created = []
    try:
        for index in (1, 2):
            namespace, outside, inside = f"flights-{tag}-{index}", f"fl{tag}o{index}", f"fl{tag}i{index}"
            _ip("netns", "add", namespace)
            created.append(namespace)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", namespace)
            host_address, worker_address = f"10.231.{subnet}.{4 * index + 1}", f"10.231.{subnet}.{4 * index + 2}"
            _ip("addr", "add", f"{host_address}/30", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("addr", "add", f"{worker_address}/30", "dev", inside, namespace=namespace)
            _ip("link", "set", inside, "up", namespace=namespace)
            _ip("link", "set", "lo", "up", namespace=namespace)
        yield [(namespace, f"10.231.{subnet}.{4 * index + 2}", f"10.231.{subnet}.{4 * index + 1}")
               for index, namespace in enumerate(created, start=1)]
    finally:
        for namespace in created:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)  # its veth goes with it


def test_workers_on_two_hosts_reach_the_servers_over_the_network(hosts, tmp_path, landing_dir, start_worker):
    listen = ["127.0.0.1"] + [server_side for _ns, _addr, server_side in hosts]
    postgres = PostgresServer(allow_networks=[f"{address}/32" for _ns, address, _server in hosts])
    redis = RedisServer()
    postgres.start(listen=",".join(listen))
    redis.start(bind=" ".join(listen))
    try:
        dagster_db, warehouse_db = postgres.create_database("dagster"), postgres.create_database("warehouse")
        env = {
            **os.environ, "DAGSTER_PG_URL": dagster_db, "FLIGHTS_WAREHOUSE": warehouse_db, "FLIGHTS_BROKER_URL": redis.url(),
            "FLIGHTS_LANDING_DIR": landing_dir, "FLIGHTS_STEP_STORAGE": str(tmp_path / "shared_step_outputs"),
        }
        env["DAGSTER_HOME"] = make_home(tmp_path / "here", env)
        with instance_of(env):
            pass
        workers = []
        for index, (namespace, _address, server_side) in enumerate(hosts, start=1):
            host_env = {
                **env,
                "DAGSTER_HOME": make_home(tmp_path / f"host{index}", env),
                "DAGSTER_PG_URL": postgres.url("dagster", host=server_side),
                "FLIGHTS_WAREHOUSE": postgres.url("warehouse", host=server_side),
                "FLIGHTS_BROKER_URL": redis.url(host=server_side),
            }
            unreachable = subprocess.run(["ip", "netns", "exec", namespace, "redis-cli", "-h", "127.0.0.1", "-p",
                                          str(redis.port), "PING"], capture_output=True, text=True, timeout=30)
            assert "PONG" not in unreachable.stdout  # this host has no way to the servers but the network
            workers.append(start_worker(host_env, f"worker{index}@host{index}", prefix=("ip", "netns", "exec", namespace)))
        for worker, (namespace, _address, _server) in zip(workers, hosts):
            assert os.readlink(f"/proc/{worker.pid}/ns/net") != os.readlink("/proc/self/ns/net"), namespace

        result = flights_etl(env, "backfill", "--partition-set", "flights_daily_partition_set",
                             "--from", "2013-01-01", "--to", "2013-01-20")
        assert result.returncode == 0, result.stdout + result.stderr
        with instance_of(env) as instance:
            runs = instance.get_runs()
        assert {run.status for run in runs} == {PipelineRunStatus.SUCCESS}
        assert {run.tags[WORKER_TAG] for run in runs} == {"worker1@host1", "worker2@host2"}
        _assert_warehouse_exact(warehouse_db, _days("2013-01-01", "2013-01-20"))
    finally:
        redis.stop()
        postgres.stop()
