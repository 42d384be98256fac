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
import resource
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
from flights_etl.runs.process import children
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
        stack.extend(children(pid))
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


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(command, env, wait_for_runs: int = 0):
    """Run ``command``; return (wall seconds, peak MiB, warehouse, CPU seconds). With ``wait_for_runs``,
    the clock runs until that many runs of the instance have finished (stock launches runs
    asynchronously, so its CPU seconds are not counted: NaN). CPU seconds are those of the command
    and every descendant it waited for (the backfill's workers and writer)."""
    cpu_before = _children_cpu_s()
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
    cpu = float("nan") if wait_for_runs else _children_cpu_s() - cpu_before
    return time.perf_counter() - started, memory.stop(), env["FLIGHTS_WAREHOUSE"], cpu


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


class Measured(tuple):
    """Median wall and CPU seconds, the highest peak, and the first run's warehouse and environment."""

    wall = property(lambda self: self[0])
    peak = property(lambda self: self[1])
    warehouse = property(lambda self: self[2])
    cpu = property(lambda self: self[3])
    env = property(lambda self: self[4])


def _median_run(label, function, workdir, landing_dir, first, last, repeat, fresh_env=None) -> Measured:
    samples = []
    for attempt in range(repeat):
        env = fresh_env() if fresh_env else _fresh_env(workdir, landing_dir)
        wall, peak, warehouse, cpu = function(env, first, last)
        samples.append((wall, peak, warehouse, cpu, env))
        print(f"  {label} run {attempt + 1}/{repeat}: {wall:.1f}s wall, {cpu:.1f} CPU-s, peak {peak:.0f} MiB", flush=True)
    return Measured((statistics.median(sample[0] for sample in samples), max(sample[1] for sample in samples),
                     samples[0][2], statistics.median(sample[3] for sample in samples), samples[0][4]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=30, help="daily partitions in the stock/ours/floor sample")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours and floor (median taken)")
    parser.add_argument("--stock-repeat", type=int, default=1, help="runs of stock (slow)")
    parser.add_argument("--no-full-year", action="store_true", help="skip the 365-partition run of ours")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (instances, warehouses)")
    parser.add_argument("--postgres", action="store_true", help="also run (d) and (e) on a throwaway PostgreSQL")
    parser.add_argument("--anchor-dagster1", action="store_true",
                        help="also run (f): the same partitions as one run of a Dagster 1.x partitioned asset, in its own venv")
    parser.add_argument("--dagster1-version", default="1.13.29", help="the Dagster 1.x release of --anchor-dagster1")
    parser.add_argument("--status-history", type=int, default=7300,
                        help="after the full year, time `flights-etl status` with this many runs of history (0: skip)")
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
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}; sample: {n} daily partitions "
          f"{first} .. {last}; workdir {workdir}", flush=True)

    stock_run = _median_run("stock", stock, workdir, landing_dir, first, last, args.stock_repeat)
    ours_run = _median_run("ours", ours, workdir, landing_dir, first, last, args.repeat)
    floor_run = _median_run("floor", floor, workdir, landing_dir, first, last, args.repeat)
    rows = [
        ("(a) stock dagster pipeline backfill", n, stock_run),
        ("(b) flights-etl backfill", n, ours_run),
        ("(c) floor: plain loading loop", n, floor_run),
    ]
    anchor_run = None
    if args.anchor_dagster1:
        python = dagster1_venv(args.dagster1_version)
        anchor_run = _median_run("Dagster 1.x single run", lambda env, a, b: anchor(python, env, a, b), workdir,
                                 landing_dir, first, last, args.repeat)
        rows.append((f"(f) Dagster {args.dagster1_version} asset, single-run --partition-range", n, anchor_run))
    year_run = None
    if not args.no_full_year:
        year_run = _median_run("ours, full year", ours, workdir, landing_dir, FIRST_DAY, last_of_year, args.repeat)
        rows.append(("(b) flights-etl backfill, full year", 365, year_run))
        extrapolated = Measured((stock_run.wall / n * 365, float("nan"), None, float("nan"), None))
        rows.append(("(a) stock, full year (extrapolated)", 365, extrapolated))
    postgres_identical = None
    if args.postgres:
        from devtools.postgres import PostgresServer

        server = PostgresServer(directory=None).start()
        try:
            pg_env = lambda pooling=True: _fresh_postgres_env(workdir, landing_dir, server, pooling)  # noqa: E731
            unpooled = _median_run("ours on PostgreSQL, pooling off", ours, workdir, landing_dir, first, last,
                                   args.repeat, fresh_env=lambda: pg_env(False))
            pooled = _median_run("ours on PostgreSQL", ours, workdir, landing_dir, first, last, args.repeat,
                                 fresh_env=pg_env)
            rows.append(("(e) ours on PostgreSQL, NullPool (stock)", n, unpooled))
            rows.append(("(d) ours on PostgreSQL, pooled", n, pooled))
            if year_run is not None:
                pg_year = _median_run("ours on PostgreSQL, full year", ours, workdir, landing_dir, FIRST_DAY,
                                      last_of_year, args.repeat, fresh_env=pg_env)
                rows.append(("(d) ours on PostgreSQL, full year", 365, pg_year))
                postgres_identical = _tables(pg_year.warehouse, all_tables=True) == _tables(year_run.warehouse, all_tables=True)
        finally:
            server.stop()
    status_s = None
    if year_run is not None and args.status_history:
        status_s = status_with_history(year_run.env, args.status_history, args.repeat)

    print()
    print(f"{'':58s} {'partitions':>10s} {'wall s':>7s} {'CPU s':>7s} {'s/partition':>12s} {'peak MiB':>9s}")
    for label, count, run in rows:
        print(f"{label:58s} {count:>10d} {run.wall:>7.1f} {run.cpu:>7.1f} {run.wall / count:>12.3f} {run.peak:>9.0f}")
    print()
    print(f"a/b (stock / ours, same {n} partitions): {stock_run.wall / ours_run.wall:.1f}x")
    print(f"b/c (ours / floor, same {n} partitions): {ours_run.wall / floor_run.wall:.1f}x")
    if anchor_run is not None:
        print(f"b/f (ours / Dagster {args.dagster1_version} single run, same {n} partitions): "
              f"{ours_run.wall / anchor_run.wall:.2f}x wall, {ours_run.cpu / anchor_run.cpu:.2f}x CPU")
    if year_run is not None:
        print(f"full year through flights-etl backfill: {year_run.wall:.1f}s wall, {year_run.cpu:.1f} CPU-s "
              f"(target <= 20 s), peak {year_run.peak:.0f} MiB (target <= 300); stock per partition / ours on the year: "
              f"{stock_run.wall / n / (year_run.wall / 365):.1f}x (target >= 25x)")
    if status_s is not None:
        print(f"flights-etl status with {args.status_history} runs of history: {status_s:.2f}s (median; target <= 1 s)")
    if args.postgres:
        print(f"PostgreSQL, same {n} partitions: NullPool / pooled {unpooled.wall / pooled.wall:.1f}x "
              f"({unpooled.wall / n:.3f} vs {pooled.wall / n:.3f} s per partition)")
        if year_run is not None:
            print(f"full year on PostgreSQL (instance and warehouse): {pg_year.wall:.1f}s, "
                  f"{pg_year.wall / year_run.wall:.2f}x the SQLite/DuckDB year")
            print(f"PostgreSQL warehouse == DuckDB warehouse, full year, table by table, value by value: {postgres_identical}")
    identical = _tables(stock_run.warehouse) == _tables(ours_run.warehouse)
    print(f"warehouse after stock == warehouse after ours ({n} days; flights, weather, daily_delays): {identical}")
    anchor_identical = None
    if anchor_run is not None:
        anchor_identical = _tables(anchor_run.warehouse) == _tables(ours_run.warehouse)
        print(f"warehouse after Dagster 1.x == warehouse after ours ({n} days): {anchor_identical}")
    if not identical or postgres_identical is False or anchor_identical is False:
        sys.exit(1)


# --- the modern-Dagster anchor (its own virtual environment) -------------------------------


def dagster1_venv(version: str) -> str:
    """The python of a virtual environment with Dagster ``version`` and this project's versions of
    pandas, numpy, pyarrow and DuckDB, created once in bench/.venv-dagster1-<version> (never the project's)."""
    from importlib.metadata import version as installed

    folder = os.path.join(PROJECT_ROOT, "bench", f".venv-dagster1-{version}")
    python = os.path.join(folder, "bin", "python")
    marker = os.path.join(folder, ".complete")
    if not os.path.exists(marker):
        print(f"creating {folder} (Dagster {version}, from the package index) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", folder], check=True)
        pins = [f"{name}=={installed(name)}" for name in ("pandas", "numpy", "pyarrow", "duckdb")]
        subprocess.run([python, "-m", "pip", "install", "-q", f"dagster=={version}", *pins], check=True)
        open(marker, "w").close()
    return python


def anchor(python: str, env, first, last):
    """One Dagster 1.x run materializing the asset's partitions first..last (bench/dagster1_anchor.py)."""
    env = {**env, "PYTHONPATH": PROJECT_ROOT, "DAGSTER_HOME": env["DAGSTER_HOME"] + "-dagster1"}
    os.makedirs(env["DAGSTER_HOME"], exist_ok=True)
    with open(os.path.join(env["DAGSTER_HOME"], "dagster.yaml"), "w") as handle:
        handle.write("telemetry:\n  enabled: false\n")
    command = [os.path.join(os.path.dirname(python), "dagster"), "asset", "materialize", "-f",
               os.path.join(PROJECT_ROOT, "bench", "dagster1_anchor.py"), "--select", "daily_load",
               "--partition-range", f"{first.isoformat()}...{last.isoformat()}"]
    return _measure(command, env)


# --- status with a long history --------------------------------------------------------------


def status_with_history(env, runs: int, repeat: int) -> float:
    """Median wall seconds of `flights-etl status` after the year's runs are copied (run rows, tags and
    materialization events, each copy with new run ids, as the instance would hold after more years
    of reloads) until the instance holds ``runs`` runs."""
    import sqlite3
    import uuid

    home = env["DAGSTER_HOME"]
    runs_db = sqlite3.connect(os.path.join(home, "history", "runs.db"))
    index_db = sqlite3.connect(os.path.join(home, "history", "runs", "index.db"))
    try:
        columns = {table: [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
                   for db, table in ((runs_db, "runs"), (runs_db, "run_tags"), (index_db, "event_logs"))}
        originals = {table: db.execute(f"SELECT {', '.join(columns[table])} FROM {table} ORDER BY id").fetchall()
                     for db, table in ((runs_db, "runs"), (runs_db, "run_tags"), (index_db, "event_logs"))}
        have = len(originals["runs"])
        while have < runs:
            for db, table in ((runs_db, "runs"), (runs_db, "run_tags"), (index_db, "event_logs")):
                at = columns[table].index("run_id")
                renamed = {}
                copied = []
                for row in originals[table]:
                    old = row[at]
                    new = renamed.setdefault(old, str(uuid.uuid5(uuid.NAMESPACE_OID, f"{old}-{have}")))
                    copied.append(tuple(value.replace(old, new) if isinstance(value, str) else value for value in row))
                db.executemany(f"INSERT INTO {table} ({', '.join(columns[table])}) VALUES "
                               f"({', '.join('?' * len(columns[table]))})", copied)
            have += len(originals["runs"])
        runs_db.commit()
        index_db.commit()
    finally:
        runs_db.close()
        index_db.close()
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([os.path.join(BIN, "flights-etl"), "status", "--partition-set", "flights_daily_partition_set"],
                       cwd=PROJECT_ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
    print(f"  status with {have} runs: {', '.join(f'{wall:.2f}s' for wall in walls)}", flush=True)
    return statistics.median(walls)


if __name__ == "__main__":
    main()
