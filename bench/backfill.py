"""Benchmark: stock `dagster pipeline backfill` vs `flights-etl backfill` vs a plain loading loop.

One invocation, the same landed data for all three:
  (a) stock   `dagster pipeline backfill` over a sample of N daily partitions (one subprocess
              per run, as Dagster 0.15 launches them), timed until every run has finished;
  (b) ours    `flights-etl backfill` over the same N partitions, and over the full year;
  (c) floor   the same days validated and loaded by a plain loop with no orchestration.
Each is run in a fresh DAGSTER_HOME and warehouse. Prints wall seconds (median of --repeat runs),
seconds per partition, peak memory (the sum of PSS over the whole process tree, sampled every
250 ms, rarely enough not to slow what it measures; PSS counts shared pages once), and the ratios a/b and b/c. Stock over the full year is
extrapolated from its per-partition time on the sample (it grows linearly: one subprocess a run).
Finally it checks that the warehouse stock produced equals ours, table by table.

With --postgres, a throwaway PostgreSQL server (devtools.postgres) holds both the instance
(deploy/postgres/dagster.yaml) and the warehouse for two more measurements in the same invocation:
  (d) ours over the full year on PostgreSQL (fresh databases each time), its warehouse compared
      table by table, value by value, with (b)'s DuckDB warehouse of the same year;
  (e) ours over the sample on dagster-postgres as shipped (`storage: postgres:`) with the
      workers' pooled connections switched off (FLIGHTS_BACKFILL_POOLING=off): a new connection
      for every storage call, beside (d)'s figure for the same sample (PooledPostgresStorage):
      what dagster-postgres' NullPool costs a backfill.

    .venv/bin/python bench/backfill.py [--sample 30] [--repeat 3] [--no-full-year] [--postgres] [--keep]
"""
import argparse
import os

os.environ.setdefault("TQDM_DISABLE", "1")  # before Dagster imports tqdm: its empty set-up progress bars
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta

import duckdb
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.dagster_private import RunsFilter
from flights_etl.upstream.land import land_days

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT_ROOT)  # devtools/ (the throwaway servers) is not installed with the package
# dagster-postgres as shipped: a new connection for every storage call
STOCK_POSTGRES_YAML = "telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"
BIN = os.path.dirname(sys.executable)
FIRST_DAY = date(2013, 1, 1)
SAMPLE_INTERVAL_S = 0.25  # reading smaps_rollup of every process costs CPU: sample sparingly
FINISHED = {PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED}


# --- memory of a process tree -------------------------------------------------------------


def _children(pid: int):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_pss_mib(root: int) -> float:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _pss_kib(pid)
        stack.extend(_children(pid))
    return total / 1024


class PeakMemory(threading.Thread):
    """Samples the PSS of a process and all its descendants until stopped; keeps the peak."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_mib, self._stopped = pid, 0.0, threading.Event()

    def run(self):
        while not self._stopped.is_set():
            self.peak_mib = max(self.peak_mib, _tree_pss_mib(self.pid))
            time.sleep(SAMPLE_INTERVAL_S)

    def stop(self) -> float:
        self._stopped.set()
        self.join()
        return self.peak_mib


# --- one measured run ----------------------------------------------------------------------


def _fresh_env(workdir: str, landing_dir: str) -> dict:
    home = tempfile.mkdtemp(prefix="home-", dir=workdir)
    with open(os.path.join(home, "dagster.yaml"), "w") as handle:
        handle.write("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(home) as instance:  # create the storage once, up front
        instance.get_runs(limit=1)
    return {
        **os.environ,
        "DAGSTER_HOME": home,
        "FLIGHTS_LANDING_DIR": landing_dir,
        "FLIGHTS_WAREHOUSE": os.path.join(home, "warehouse.duckdb"),
    }


def _measure(command, env, wait_for_runs: int = 0):
    """Run ``command``; return (wall seconds, peak MiB). With ``wait_for_runs``, the clock runs
    until that many runs of the instance have finished (stock launches runs asynchronously)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    memory = PeakMemory(process.pid)
    memory.start()
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{stderr.decode()[-3000:]}")
    if wait_for_runs:
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            while True:
                runs = instance.get_runs(filters=RunsFilter(pipeline_name="flights_daily_pipeline"))
                if len(runs) >= wait_for_runs and all(run.status in FINISHED for run in runs):
                    break
                time.sleep(0.1)
            failed = [run for run in runs if run.status != PipelineRunStatus.SUCCESS]
            if failed:
                raise RuntimeError(f"{len(failed)} stock runs did not succeed")
    return time.perf_counter() - started, memory.stop(), env["FLIGHTS_WAREHOUSE"]


def stock(env, first, last):
    command = [
        os.path.join(BIN, "dagster"), "pipeline", "backfill", "-w", "workspace.yaml",
        "-p", "flights_daily_pipeline", "--partition-set", "flights_daily_partition_set",
        "--from", first.isoformat(), "--to", last.isoformat(), "--noprompt",
    ]
    return _measure(command, env, wait_for_runs=(last - first).days + 1)


def ours(env, first, last):
    command = [
        os.path.join(BIN, "flights-etl"), "backfill", "--partition-set", "flights_daily_partition_set",
        "--from", first.isoformat(), "--to", last.isoformat(),
    ]
    return _measure(command, env)


def floor(env, first, last):
    command = [
        sys.executable, os.path.join(PROJECT_ROOT, "bench", "floor_load.py"),
        env["FLIGHTS_LANDING_DIR"], env["FLIGHTS_WAREHOUSE"], first.isoformat(), last.isoformat(),
    ]
    return _measure(command, env)


def _tables(location: str, all_tables: bool = False) -> dict:
    """Each table's rows as sorted plain-Python tuples (DATE as midnight), from either backend."""
    tables = ("flights", "weather", "daily_delays") + (("monthly_report",) if all_tables else ())
    if location.startswith("postgresql://"):
        import psycopg2

        connection = psycopg2.connect(location)
        try:
            result = {}
            for table in tables:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT * FROM {table}")
                    result[table] = sorted((tuple(_plain(value) for value in row) for row in cursor.fetchall()), key=repr)
            return result
        finally:
            connection.close()
    with duckdb.connect(location, read_only=True) as connection:
        return {
            table: sorted((tuple(_plain(value) for value in row)
                           for row in connection.execute(f"SELECT * FROM {table}").fetchall()), key=repr)
            for table in tables
        }


def _plain(value):
    import datetime as dt

    if type(value) is dt.date:
        return dt.datetime.combine(value, dt.time())
    return value


def _fresh_postgres_env(workdir: str, landing_dir: str, server, pooling: bool = True) -> dict:
    from unittest import mock

    home = tempfile.mkdtemp(prefix="pg-", dir=workdir)
    tag = os.path.basename(home).replace("-", "_").lower()
    if pooling:
        with open(os.path.join(PROJECT_ROOT, "deploy", "postgres", "dagster.yaml")) as source:
            config = source.read()
    else:
        config = STOCK_POSTGRES_YAML
    with open(os.path.join(home, "dagster.yaml"), "w") as handle:
        handle.write(config)
    urls = {"DAGSTER_PG_URL": server.create_database(f"dagster_{tag}"),
            "FLIGHTS_WAREHOUSE": server.create_database(f"warehouse_{tag}")}
    with mock.patch.dict(os.environ, urls), DagsterInstance.from_config(home) as instance:
        instance.get_runs(limit=1)  # create the storage once, up front
    return {**os.environ, "DAGSTER_HOME": home, "FLIGHTS_LANDING_DIR": landing_dir, **urls,
            **({} if pooling else {"FLIGHTS_BACKFILL_POOLING": "off"})}


def _median_run(label, function, workdir, landing_dir, first, last, repeat, fresh_env=None):
    samples = []
    for attempt in range(repeat):
        env = fresh_env() if fresh_env else _fresh_env(workdir, landing_dir)
        wall, peak, warehouse = function(env, first, last)
        samples.append((wall, peak, warehouse))
        print(f"  {label} run {attempt + 1}/{repeat}: {wall:.1f}s, peak {peak:.0f} MiB", flush=True)
    walls = [sample[0] for sample in samples]
    return statistics.median(walls), max(sample[1] for sample in samples), samples[0][2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=30, help="daily partitions in the stock/ours/floor sample")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours and floor (median taken)")
    parser.add_argument("--stock-repeat", type=int, default=1, help="runs of stock (slow)")
    parser.add_argument("--no-full-year", action="store_true", help="skip the 365-partition run of ours")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (instances, warehouses)")
    parser.add_argument("--postgres", action="store_true", help="also run (d) and (e) on a throwaway PostgreSQL")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="bench-backfill-")
    try:
        _benchmark(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)  # a few hundred MB of instances and warehouses


def _benchmark(args, workdir: str) -> None:
    landing_dir = os.path.join(workdir, "landing")
    last_of_year = date(2013, 12, 31)
    land_days(landing_dir, FIRST_DAY, last_of_year)
    first, last = FIRST_DAY, FIRST_DAY + timedelta(days=args.sample - 1)
    n = args.sample
    print(f"cores: {os.cpu_count()}; sample: {n} daily partitions {first} .. {last}; workdir {workdir}", flush=True)

    stock_wall, stock_peak, stock_warehouse = _median_run("stock", stock, workdir, landing_dir, first, last, args.stock_repeat)
    ours_wall, ours_peak, ours_warehouse = _median_run("ours", ours, workdir, landing_dir, first, last, args.repeat)
    floor_wall, floor_peak, _ = _median_run("floor", floor, workdir, landing_dir, first, last, args.repeat)

    rows = [
        ("(a) stock dagster pipeline backfill", n, stock_wall, stock_peak),
        ("(b) flights-etl backfill", n, ours_wall, ours_peak),
        ("(c) floor: plain loading loop", n, floor_wall, floor_peak),
    ]
    if not args.no_full_year:
        year_wall, year_peak, year_warehouse = _median_run(
            "ours, full year", ours, workdir, landing_dir, FIRST_DAY, last_of_year, args.repeat)
        rows.append(("(b) flights-etl backfill, full year", 365, year_wall, year_peak))
        rows.append(("(a) stock, full year (extrapolated)", 365, stock_wall / n * 365, float("nan")))
    postgres_identical = None
    if args.postgres:
        from devtools.postgres import PostgresServer

        server = PostgresServer(directory=None).start()
        try:
            pg_env = lambda pooling=True: _fresh_postgres_env(workdir, landing_dir, server, pooling)  # noqa: E731
            unpooled_wall, unpooled_peak, _ = _median_run(
                "ours on PostgreSQL, pooling off", ours, workdir, landing_dir, first, last, args.repeat,
                fresh_env=lambda: pg_env(False))
            pooled_wall, pooled_peak, _ = _median_run(
                "ours on PostgreSQL", ours, workdir, landing_dir, first, last, args.repeat, fresh_env=pg_env)
            rows.append(("(e) ours on PostgreSQL, NullPool (stock)", n, unpooled_wall, unpooled_peak))
            rows.append(("(d) ours on PostgreSQL, pooled", n, pooled_wall, pooled_peak))
            if not args.no_full_year:
                pg_year_wall, pg_year_peak, pg_year_warehouse = _median_run(
                    "ours on PostgreSQL, full year", ours, workdir, landing_dir, FIRST_DAY, last_of_year, args.repeat,
                    fresh_env=pg_env)
                rows.append(("(d) ours on PostgreSQL, full year", 365, pg_year_wall, pg_year_peak))
                postgres_identical = _tables(pg_year_warehouse, all_tables=True) == _tables(year_warehouse, all_tables=True)
        finally:
            server.stop()

    print()
    print(f"{'':40s} {'partitions':>10s} {'wall s':>8s} {'s/partition':>12s} {'peak MiB':>9s}")
    for label, count, wall, peak in rows:
        print(f"{label:40s} {count:>10d} {wall:>8.1f} {wall / count:>12.3f} {peak:>9.0f}")
    print()
    print(f"a/b (stock / ours, same {n} partitions): {stock_wall / ours_wall:.1f}x")
    print(f"b/c (ours / floor, same {n} partitions): {ours_wall / floor_wall:.1f}x")
    if not args.no_full_year:
        print(f"full year through flights-etl backfill: {year_wall:.1f}s (target <= 60 s), "
              f"extrapolated stock / ours: {stock_wall / n * 365 / year_wall:.1f}x")
    if args.postgres:
        print(f"PostgreSQL, same {n} partitions: NullPool / pooled {unpooled_wall / pooled_wall:.1f}x "
              f"({unpooled_wall / n:.3f} vs {pooled_wall / n:.3f} s per partition)")
        if not args.no_full_year:
            print(f"full year on PostgreSQL (instance and warehouse): {pg_year_wall:.1f}s (target <= 60 s), "
                  f"{pg_year_wall / year_wall:.2f}x the SQLite/DuckDB year")
            print(f"PostgreSQL warehouse == DuckDB warehouse, full year, table by table, value by value: {postgres_identical}")
    identical = _tables(stock_warehouse) == _tables(ours_warehouse)
    print(f"warehouse after stock == warehouse after ours ({n} days; flights, weather, daily_delays): {identical}")
    if not identical or postgres_identical is False:
        sys.exit(1)


if __name__ == "__main__":
    main()
