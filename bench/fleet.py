"""Benchmark: Dagit backfills through the daemon, stock launcher vs the worker fleet, and flights-etl on the fleet.

One invocation, the same landed year, a throwaway PostgreSQL (instance and warehouse) and Redis:
  (a) a Dagit backfill (the GraphQL mutation launchPartitionBackfill, as the Partitions tab sends
      it) of a sample of --sample days, launched by a real dagster-daemon with Dagster's stock
      DefaultRunLauncher (a subprocess per run), timed from submitting to its last run finished;
  (b) the same Dagit backfill with the Celery run launcher (deploy/fleet/dagster.yaml) and one
      `flights-etl worker` of 2 processes, over the full year;
  (c) `flights-etl backfill --all` onto the same fleet, the full year;
  and, as the reference, the embedded default (SQLite instance, DuckDB warehouse, local worker
  processes): `flights-etl backfill --all`. The daily tables of (b)'s and (c)'s warehouses are
  compared with the reference's, value by value.

    .venv/bin/python bench/fleet.py [--sample 30] [--repeat 1] [--keep]
"""
import argparse
import os

os.environ.setdefault("TQDM_DISABLE", "1")
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Tuple
from unittest import mock

from dagster import DagsterInstance, PipelineRunStatus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backfill import STOCK_POSTGRES_YAML, _tables  # noqa: E402  (bench/backfill.py: stock PostgreSQL instance, tables as plain values)

from devtools.ports import free_port  # noqa: E402
from devtools.postgres import PostgresServer  # noqa: E402
from devtools.redis import RedisServer  # noqa: E402
from flights_etl.dagit_tools.stack import DagitStack  # noqa: E402
from flights_etl.dagster_private import RunsFilter  # noqa: E402
from flights_etl.upstream.land import land_days  # noqa: E402

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
FIRST, LAST = date(2013, 1, 1), date(2013, 12, 31)
FINISHED = {PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED}


class Bench:
    def __init__(self, workdir: str):
        self.workdir = workdir
        self.landing = os.path.join(workdir, "landing")
        self.postgres = PostgresServer().start()
        self.redis = RedisServer().start()
        self.count = 0

    def env(self, dagster_yaml: str, backend: str = "postgres") -> dict:
        self.count += 1
        home = os.path.join(self.workdir, f"home{self.count}")
        os.makedirs(home)
        with open(os.path.join(home, "dagster.yaml"), "w") as handle:
            handle.write(dagster_yaml)
        # The landing sensor off: it would load the landed year beside the backfills measured.
        env = {**os.environ, "DAGSTER_HOME": home, "FLIGHTS_LANDING_DIR": self.landing,
               "FLIGHTS_STEP_STORAGE": os.path.join(self.workdir, f"steps{self.count}"),
               "FLIGHTS_LANDING_MAX_RUNS": "0"}
        if backend == "postgres":
            env.update(DAGSTER_PG_URL=self.postgres.create_database(f"dagster{self.count}"),
                       FLIGHTS_WAREHOUSE=self.postgres.create_database(f"warehouse{self.count}"),
                       FLIGHTS_BROKER_URL=self.redis.url(database=self.count % 16))
        else:
            env["FLIGHTS_WAREHOUSE"] = os.path.join(home, "warehouse.duckdb")
        with mock.patch.dict(os.environ, env), DagsterInstance.from_config(home) as instance:
            instance.get_runs(limit=1)  # create the storage once, up front
        return env

    def stop(self):
        self.redis.stop()
        self.postgres.stop()


def _cli(env, *args) -> float:
    started = time.perf_counter()
    result = subprocess.run([os.path.join(BIN, "flights-etl"), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"flights-etl {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def _start_worker(env, log_path):
    log = open(log_path, "w")
    worker = subprocess.Popen([os.path.join(BIN, "flights-etl"), "worker", "--concurrency", "2", "--hostname", "bench@%h"],
                              cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while " ready." not in open(log_path).read():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start: {open(log_path).read()[-2000:]}")
        time.sleep(0.2)
    return worker, log


def _stop_worker(worker, log):
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
    log.close()


def dagit_backfill(env, days, log_dir) -> Tuple[float, float]:
    """Submit a Dagit backfill of ``days`` through GraphQL; seconds until its last run finished, and
    until the daemon created its first run (the backfill daemon looks for new backfills every 30 s)."""
    sys.path.insert(0, PROJECT_ROOT)
    from tests.fleet.dagit_api import launch_partition_backfill

    with DagitStack("workspace.yaml", port=free_port(), daemon=True, env=env, cwd=PROJECT_ROOT, log_dir=log_dir) as dagit, \
            mock.patch.dict(os.environ, env), DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        submitted = time.time()
        backfill_id = launch_partition_backfill(dagit.url, "flights_daily_partition_set", [d.isoformat() for d in days])
        ours = RunsFilter(pipeline_name="flights_daily_pipeline", tags={"dagster/backfill": backfill_id})
        finished = RunsFilter(pipeline_name="flights_daily_pipeline", tags={"dagster/backfill": backfill_id},
                              statuses=list(FINISHED))
        while instance.get_runs_count(finished) < len(days):
            time.sleep(1)  # a light count once a second: the observer must not take CPU from the workers
        records = instance.get_run_records(ours)
    failed = [record for record in records if record.pipeline_run.status != PipelineRunStatus.SUCCESS]
    if failed:
        raise RuntimeError(f"{len(failed)} runs of the Dagit backfill did not succeed")
    last_end = max(record.end_time for record in records)
    first_created = min(record.create_timestamp.timestamp() for record in records)
    return last_end - submitted, first_created - submitted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=30, help="days of the stock Dagit backfill (a)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of (b) and (c) (median taken)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-fleet-")
    bench = None
    try:
        land_days(os.path.join(workdir, "landing"), FIRST, LAST)
        bench = Bench(workdir)
        year = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
        sample = year[: args.sample]
        with open(os.path.join(PROJECT_ROOT, "deploy", "fleet", "dagster.yaml")) as handle:
            fleet_yaml = handle.read()
        print(f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; workdir {workdir}", flush=True)

        reference = bench.env("telemetry:\n  enabled: false\n", backend="embedded")
        reference_s = _cli(reference, "backfill", "--partition-set", "flights_daily_partition_set", "--all")
        print(f"  reference (embedded default, flights-etl backfill --all): {reference_s:.1f}s", flush=True)

        stock_env = bench.env(STOCK_POSTGRES_YAML)
        stock_s, stock_pickup = dagit_backfill(stock_env, sample, workdir)
        print(f"  (a) Dagit backfill, DefaultRunLauncher, {len(sample)} days: {stock_s:.1f}s "
              f"(first run created after {stock_pickup:.1f}s)", flush=True)

        fleet_b, pickups, fleet_c, warehouses = [], [], [], {}
        for attempt in range(args.repeat):
            env = bench.env(fleet_yaml)
            worker = _start_worker(env, os.path.join(workdir, f"worker-b{attempt}.log"))
            try:
                elapsed, pickup = dagit_backfill(env, year, workdir)
                fleet_b.append(elapsed)
                pickups.append(pickup)
            finally:
                _stop_worker(*worker)
            warehouses["b"] = env["FLIGHTS_WAREHOUSE"]
            print(f"  (b) Dagit backfill on the fleet (2 worker processes), 365 days: {fleet_b[-1]:.1f}s "
                  f"(first run created after {pickup:.1f}s)", flush=True)
            env = bench.env(fleet_yaml)
            worker = _start_worker(env, os.path.join(workdir, f"worker-c{attempt}.log"))
            try:
                fleet_c.append(_cli(env, "backfill", "--partition-set", "flights_daily_partition_set", "--all"))
            finally:
                _stop_worker(*worker)
            warehouses["c"] = env["FLIGHTS_WAREHOUSE"]
            print(f"  (c) flights-etl backfill on the fleet, 365 days: {fleet_c[-1]:.1f}s", flush=True)

        b, c = statistics.median(fleet_b), statistics.median(fleet_c)
        print()
        print(f"{'':58s} {'days':>5s} {'wall s':>8s} {'s/day':>7s}")
        for label, days, wall in (
            ("reference: embedded default, flights-etl backfill", 365, reference_s),
            ("(a) Dagit backfill, daemon + DefaultRunLauncher", len(sample), stock_s),
            ("(b) Dagit backfill, daemon + Celery launcher, 2 processes", 365, b),
            ("(c) flights-etl backfill onto the fleet", 365, c),
        ):
            print(f"{label:58s} {days:>5d} {wall:>8.1f} {wall / days:>7.3f}")
        print()
        print(f"(b) full year: {b:.1f}s (target <= 90 s); per day (a)/(b): {stock_s / len(sample) / (b / 365):.1f}x (target >= 10x)")
        print(f"(b) without the daemon's wait for a new backfill (median {statistics.median(pickups):.1f}s): "
              f"{statistics.median(e - p for e, p in zip(fleet_b, pickups)):.1f}s")
        print(f"(c) full year: {c:.1f}s (target <= 60 s)")
        # (the daily tables: in (b) the daemon's sensor also builds the monthly reports as months complete)
        reference_tables = _tables(reference["FLIGHTS_WAREHOUSE"])
        same = {key: _tables(location) == reference_tables for key, location in warehouses.items()}
        print(f"warehouses of (b) and (c) == the embedded default's (flights, weather, daily_delays), "
              f"value by value: {same}")
        if not all(same.values()):
            sys.exit(1)
    finally:
        if bench is not None:
            bench.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
