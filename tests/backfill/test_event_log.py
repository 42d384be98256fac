"""A backfill worker's event log writes the very files Dagster's own SQLite event log writes."""
import os
import sqlite3

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, EventRecordsFilter, reconstructable

from flights_etl import dagster_private as private
from flights_etl.instance import worker as instance_worker
from flights_etl.instance.sqlite_event_log import KeptOpenSqliteEventLogStorage
from flights_etl.instance.sqlite_run_storage import KeptOpenSqliteRunStorage
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.runs import creation
from tests.helpers import daily_run_args


def _run_day(instance: DagsterInstance, day: str) -> str:
    run = creation.create_run_for_pipeline(instance, **daily_run_args(day))
    result = private.execute_run(reconstructable(flights_daily_pipeline), run, instance)
    assert result.success
    return run.run_id


def _file_layout(path: str):
    with sqlite3.connect(path) as connection:
        schema = sorted(connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())
        stamp = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        journal = connection.execute("PRAGMA journal_mode").fetchone()
    return schema, stamp, journal


def _event_rows(path: str):
    """Each stored event's columns but its id and time, and the time's stored form (as SQLAlchemy writes it)."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT dagster_event_type, step_key, asset_key, partition, timestamp FROM event_logs ORDER BY id"
        ).fetchall()
    return [(*row[:4], len(row[4]), row[4][4], row[4][10], row[4][19]) for row in rows]


def _index_rows(home, run_id: str):
    """The run's events mirrored into the index shard, as ``_event_rows`` shows them."""
    with sqlite3.connect(str(home / "history" / "runs" / "index.db")) as connection:
        rows = connection.execute(
            "SELECT dagster_event_type, step_key, asset_key, partition, timestamp FROM event_logs WHERE run_id = ? "
            "ORDER BY id", [run_id]).fetchall()
    return [(*row[:4], len(row[4]), row[4][4], row[4][10], row[4][19]) for row in rows]


def _asset_entries(home):
    with sqlite3.connect(str(home / "history" / "runs" / "index.db")) as connection:
        return {row[0]: row[1:] for row in connection.execute(
            "SELECT asset_key, last_run_id, last_materialization, last_materialization_timestamp FROM asset_keys")}


def _open_files() -> set:
    fd_dir = "/proc/self/fd"
    return {os.path.realpath(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)}


def test_worker_event_log_matches_dagsters_own(tmp_path, landing_dir, warehouse_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing_dir)
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse_path)

    with DagsterInstance.get() as stock_instance:
        assert type(stock_instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        stock_run = _run_day(stock_instance, "2013-01-02")
    stock_entries = _asset_entries(home)
    worker = instance_worker.worker_instance()
    try:
        assert isinstance(worker.event_log_storage, KeptOpenSqliteEventLogStorage)
        assert isinstance(worker.run_storage, KeptOpenSqliteRunStorage)
        worker_runs = [_run_day(worker, day) for day in ("2013-01-03", "2013-01-04")]
        run_file = str(home / "history" / "runs" / f"{worker_runs[0]}.db")
        assert run_file in _open_files()  # kept open while its run may still record events
        for run_id in worker_runs:
            instance_worker.release_run(worker, run_id)
        assert run_file not in _open_files()
    finally:
        worker.dispose()

    files = {run_id: str(home / "history" / "runs" / f"{run_id}.db") for run_id in [stock_run, *worker_runs]}
    stock_layout = _file_layout(files[stock_run])
    for run_id in worker_runs:
        assert _file_layout(files[run_id]) == stock_layout  # same tables, indexes, Alembic stamp, WAL
    stock_rows = [row for row in _event_rows(files[stock_run])]
    assert len(stock_rows) > 40 and all(row[4:] == (26, "-", " ", ".") for row in stock_rows)
    for run_id in worker_runs:  # the prepared insert stores what Dagster's statement stores
        rows = _event_rows(files[run_id])
        partition_free = [row[:3] + row[4:] for row in rows]
        assert partition_free == [row[:3] + row[4:] for row in stock_rows]
        stock_index = _index_rows(home, stock_run)  # the asset events, mirrored as Dagster mirrors them
        assert len(stock_index) >= 6 and all(row[2] for row in stock_index)
        assert [row[:3] + row[4:] for row in _index_rows(home, run_id)] == [row[:3] + row[4:] for row in stock_index]
    entries = _asset_entries(home)  # each asset's entry names the latest run, its materialization and time
    assert set(entries) == set(stock_entries) and len(entries) == 3
    for key, (last_run, materialization, timestamp) in entries.items():
        stock_last_run, stock_materialization, stock_timestamp = stock_entries[key]
        assert (stock_last_run, last_run) == (stock_run, worker_runs[-1])
        assert len(timestamp) == len(stock_timestamp) == 26 and timestamp > stock_timestamp
        assert worker_runs[-1] in materialization and stock_run in stock_materialization

    with DagsterInstance.get() as reader:  # what Dagit and `dagster` see
        stock_events = [event.dagster_event_type for event in reader.all_logs(stock_run)]
        for run_id in worker_runs:
            assert [event.dagster_event_type for event in reader.all_logs(run_id)] == stock_events
        loads = reader.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION, asset_key=AssetKey(["warehouse", "flights"]))
        )
        assert sorted(record.event_log_entry.run_id for record in loads) == sorted([stock_run, *worker_runs])
        materialized = sorted(
            record.event_log_entry.dagster_event.step_materialization_data.materialization.partition
            for record in loads
        )
        assert materialized == ["2013-01-02", "2013-01-03", "2013-01-04"]
        latest = reader.get_latest_materialization_events([AssetKey(["warehouse", "daily_delays"])])
        assert latest[AssetKey(["warehouse", "daily_delays"])].run_id == worker_runs[-1]


def _open_run_files(home: str, kept_open: bool, run_ids, start, errors) -> None:
    os.environ["DAGSTER_HOME"] = home
    instance = instance_worker.worker_instance() if kept_open else DagsterInstance.get()
    try:
        start.wait()
        for run_id in run_ids:
            instance.all_logs(run_id)  # the first reader of a run's file creates it
    except Exception as error:  # reported to the test, which shows it
        errors.put(f"{'worker' if kept_open else 'stock'}: {type(error).__name__}: {error}")
    finally:
        instance.dispose()


def test_worker_and_daemon_create_a_runs_file_at_the_same_moment(tmp_path):
    """The daemon's run-status sensors open every recently updated run's file with Dagster's
    own set-up, possibly while a worker creates it: both must end with one good file."""
    import multiprocessing
    import uuid

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    DagsterInstance.from_config(str(home)).dispose()
    run_ids = [str(uuid.uuid4()) for _ in range(60)]
    context = multiprocessing.get_context("spawn")
    start, errors = context.Barrier(4), context.Queue()
    processes = [
        context.Process(target=_open_run_files, args=(str(home), kept_open, run_ids, start, errors))
        for kept_open in (True, False, True, False)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == [] and [process.exitcode for process in processes] == [0, 0, 0, 0]
    for run_id in run_ids:
        schema, stamp, journal = _file_layout(str(home / "history" / "runs" / f"{run_id}.db"))
        assert len(stamp) == 1 and journal == ("wal",)


def test_a_worker_creates_the_asset_entries_of_a_new_instance(tmp_path, landing_dir, warehouse_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for name, value in (("DAGSTER_HOME", str(home)), ("FLIGHTS_LANDING_DIR", landing_dir),
                        ("FLIGHTS_WAREHOUSE", warehouse_path)):
        monkeypatch.setenv(name, value)
    worker = instance_worker.worker_instance()
    try:
        run_id = _run_day(worker, "2013-01-05")
    finally:
        worker.dispose()
    entries = _asset_entries(home)
    assert sorted(entries) == ['["warehouse", "daily_delays"]', '["warehouse", "flights"]', '["warehouse", "weather"]']
    assert all(last_run == run_id and run_id in materialization and len(timestamp) == 26
               for last_run, materialization, timestamp in entries.values())
    with DagsterInstance.get() as reader:
        assert sorted(key.to_string() for key in reader.all_asset_keys()) == sorted(entries)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs, which needs root (CI runs as root)")
def test_a_run_file_that_does_not_fit_leaves_no_half_written_copy(tmp_path):
    """A new run's file is a copy of a template written beside it: on a full disk the copy fails,
    and neither it nor a run file stays behind."""
    import errno
    import subprocess

    from flights_etl.instance.sqlite_event_log import _created_from_template, _new_run_file

    template = _new_run_file()
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={len(template) // 2}", "tmpfs", str(disk)], check=True)
    try:
        with pytest.raises(OSError) as raised:
            _created_from_template(str(disk / "run.db"))
        assert raised.value.errno == errno.ENOSPC
        assert os.listdir(disk) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
