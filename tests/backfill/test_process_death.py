"""Process death during `flights-etl backfill`: real processes killed at several moments.

After any single death (a worker killed, the parent killed or sent SIGTERM), no run stays
looking alive, no process of the backfill remains, and one `--only missing,failed` leaves the
warehouse exactly equal to the raw data.
"""
import os
import re
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest
from dagster import DagsterInstance, PipelineRunStatus

from flights_etl.backfill.warehouse_writer import PROCESS_NAME as WRITER_NAME
from flights_etl.backfill.worker import PROCESS_NAME
from flights_etl.dagster_private import RunsFilter
from flights_etl.runs.process import children
from tests.backfill.cli_helpers import BIN, PROJECT_ROOT, flights_etl, instance_env
from tests.backfill.test_concurrency import _assert_warehouse_exact, _days

pytestmark = pytest.mark.slow

SET = ["--partition-set", "flights_daily_partition_set"]
FIRST, LAST = "2013-01-01", "2013-01-31"
FULL_DISK_LAST = "2013-02-28"  # enough runs to fill the small disk
FINISHED = {PipelineRunStatus.SUCCESS, PipelineRunStatus.FAILURE, PipelineRunStatus.CANCELED}


@contextmanager
def _backfill(env, last=LAST, concurrency=2):
    """A backfill in a process group of its own; whatever a test leaves of it is killed with the group."""
    backfill = subprocess.Popen(
        [os.path.join(BIN, "flights-etl"), "backfill", *SET, "--from", FIRST, "--to", last, "--max-concurrent", str(concurrency)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        yield backfill
    finally:
        if backfill.poll() is None:
            os.killpg(backfill.pid, signal.SIGKILL)
            backfill.wait(timeout=30)
        backfill.stdout.close()
        backfill.stderr.close()


def _wait_for_outcomes(backfill, count: int) -> None:
    """Read the backfill's progress lines until ``count`` partitions have finished."""
    seen = 0
    while seen < count:
        line = backfill.stderr.readline()
        assert line, "the backfill ended before the moment to kill it"
        seen += line.startswith("[")


def _workers(parent_pid: int, name: bytes = PROCESS_NAME):
    """The backfill's worker processes (forked children that named themselves, backfill/worker.py),
    or with ``name`` its warehouse writer (backfill/warehouse_writer.py)."""
    workers = []
    for pid in children(parent_pid):
        try:
            with open(f"/proc/{pid}/comm") as handle:
                if handle.read().strip() == name.decode():
                    workers.append(pid)
        except OSError:
            pass
    return workers


def _group_members(group: int):
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                members.append(int(entry))
    return members


def _assert_no_process_left(group: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while _group_members(group):
        assert time.monotonic() < deadline, f"processes of the backfill still alive: {_group_members(group)}"
        time.sleep(0.2)


def _runs(home):
    with DagsterInstance.from_config(home) as instance:
        return instance.get_runs(filters=RunsFilter(pipeline_name="flights_daily_pipeline"))


def _finish_and_check(env, warehouse_path, last=LAST):
    """`--only missing,failed` completes the range; afterwards every run has ended."""
    rerun = flights_etl(env, "backfill", *SET, "--from", FIRST, "--to", last, "--only", "missing,failed")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    try:
        _assert_warehouse_exact(warehouse_path, _days(FIRST, last))
    except AssertionError:  # say which runs the instance holds for the days, and what the rerun did
        runs = sorted((run.tags.get("dagster/partition"), run.status.value, run.run_id[:8]) for run in _runs(env["DAGSTER_HOME"]))
        print("RERUN:", rerun.stdout[-3000:], rerun.stderr[-2000:], "RUNS:", runs[:12])
        raise
    assert {run.status for run in _runs(env["DAGSTER_HOME"])} <= FINISHED
    return rerun


@pytest.mark.parametrize("moment", [0, 3, 15], ids=["while-starting", "early", "midway"])
def test_a_killed_worker_fails_only_its_run_and_the_backfill_goes_on(tmp_path, landing_dir, warehouse_path, moment):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with _backfill(env) as backfill:
        _wait_for_outcomes(backfill, moment)
        deadline = time.monotonic() + 30
        while len(_workers(backfill.pid)) < 2:  # both up (at moment 0 they may still be starting)
            assert time.monotonic() < deadline
            time.sleep(0.05)
        victim = _workers(backfill.pid)[0]
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = backfill.communicate(timeout=300)
    assert backfill.returncode in (0, 1), stderr[-2000:]
    if backfill.returncode == 1:  # it was running a partition: that one failed, with the reason
        assert f"worker process {victim} killed by signal 9 (SIGKILL) while running this partition" in stdout
        assert "FAILURE" in stdout and stdout.count("FAILURE") <= 2  # the table and the one row
    assert "partitions in" in stdout  # the summary was printed
    _assert_no_process_left(backfill.pid)
    assert {run.status for run in _runs(env["DAGSTER_HOME"])} <= FINISHED  # nothing left looking alive
    _finish_and_check(env, warehouse_path)


def _the_writer(backfill, outcomes: int) -> int:
    """The pid of the backfill's one warehouse writer, once ``outcomes`` partitions have ended."""
    _wait_for_outcomes(backfill, outcomes)
    writers = _workers(backfill.pid, WRITER_NAME)
    assert len(writers) == 1, writers
    return writers[0]


def test_a_killed_warehouse_writer_is_replaced_and_the_backfill_goes_on(tmp_path, landing_dir, warehouse_path):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with _backfill(env) as backfill:
        writer = _the_writer(backfill, 5)
        os.kill(writer, signal.SIGKILL)
        _wait_for_outcomes(backfill, 3)
        replaced = _workers(backfill.pid, WRITER_NAME)
        stdout, stderr = backfill.communicate(timeout=300)
    assert replaced and replaced != [writer]  # a new writer took over
    assert backfill.returncode in (0, 1), stderr[-2000:]
    if backfill.returncode == 1:  # a partition in flight lost its write: it failed, and says why
        assert "warehouse writer" in stdout and "is gone" in stdout
    assert "partitions in" in stdout
    _assert_no_process_left(backfill.pid)
    assert {run.status for run in _runs(env["DAGSTER_HOME"])} <= FINISHED
    _finish_and_check(env, warehouse_path)


def _socket_paths(pid: int):
    """The paths of the Unix sockets process ``pid`` has open (its listener's among them)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    with open("/proc/net/unix") as handle:
        rows = [line.split() for line in handle.readlines()[1:]]
    return {row[7] for row in rows if len(row) > 7 and row[6] in inodes}


def test_the_folder_of_a_writer_killed_with_its_backfill_is_removed_by_the_next(tmp_path, landing_dir, warehouse_path):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with _backfill(env) as backfill:
        (address,) = [path for path in _socket_paths(_the_writer(backfill, 3)) if path.endswith("/writer.sock")]
        os.killpg(backfill.pid, signal.SIGKILL)  # all at once (the OOM killer, kill -9 -PGID): no one cleans up
        backfill.wait(timeout=30)
        _assert_no_process_left(backfill.pid)
    assert os.path.exists(address) and os.path.exists(os.path.dirname(address) + ".lock")  # left behind
    _finish_and_check(env, warehouse_path)  # the next backfill removes them
    assert not os.path.lexists(os.path.dirname(address))
    assert not os.path.lexists(os.path.dirname(address) + ".lock")


def test_status_reads_the_warehouse_while_a_backfill_writes_it(tmp_path, landing_dir, warehouse_path):
    """The writer lets the DuckDB file go every few seconds: another process's read gets in."""
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with _backfill(env, last=FULL_DISK_LAST, concurrency=1) as backfill:  # two months, one at a time: still going
        _wait_for_outcomes(backfill, 3)
        started = time.monotonic()
        status = flights_etl(env, "status", *SET, "--json")
        waited = time.monotonic() - started
        still_running = backfill.poll() is None
        stdout, stderr = backfill.communicate(timeout=300)
    assert status.returncode == 0, status.stderr
    assert still_running and backfill.returncode == 0, (waited, stderr[-2000:])
    _assert_warehouse_exact(warehouse_path, _days(FIRST, FULL_DISK_LAST))


@pytest.mark.parametrize("moment", [1, 15], ids=["early", "midway"])
def test_a_killed_parent_takes_its_workers_and_status_marks_its_runs(tmp_path, landing_dir, warehouse_path, moment):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with _backfill(env) as backfill:
        _wait_for_outcomes(backfill, moment)
        os.kill(backfill.pid, signal.SIGKILL)
        backfill.wait(timeout=30)
        _assert_no_process_left(backfill.pid)  # the workers noticed and stopped

    waited = flights_etl(env, "status", "--wait", "60")  # never waits on a dead run
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert {run.status for run in _runs(env["DAGSTER_HOME"])} <= FINISHED
    for run in _runs(env["DAGSTER_HOME"]):
        if run.status == PipelineRunStatus.CANCELED:  # created, never handed to a worker
            assert (
                f"{run.tags['dagster/partition']}: run {run.run_id[:8]} was left unfinished and is marked CANCELED: it never "
                f"started, and the flights-etl backfill that created it (pid {backfill.pid} on"
            ) in waited.stderr
    _finish_and_check(env, warehouse_path)


def test_sigterm_stops_the_backfill_like_ctrl_c(tmp_path, landing_dir, warehouse_path):
    env = instance_env(tmp_path, landing_dir, warehouse_path)
    with _backfill(env) as backfill:
        _wait_for_outcomes(backfill, 5)
        os.kill(backfill.pid, signal.SIGTERM)  # the parent only, as `timeout`, systemd or `docker stop` send it
        stdout, stderr = backfill.communicate(timeout=120)
    assert backfill.returncode == 143, stderr[-2000:]
    assert "stopped by SIGTERM" in stdout and "partitions in" in stdout
    assert "never got a run; finish with" in stderr
    _assert_no_process_left(backfill.pid)
    statuses = {run.status for run in _runs(env["DAGSTER_HOME"])}
    assert statuses <= FINISHED and PipelineRunStatus.SUCCESS in statuses
    _finish_and_check(env, warehouse_path)


HOLD_LOCK = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(600)
"""


def test_a_run_left_started_by_a_dead_process_is_failed_and_rerun(tmp_path, landing_dir, warehouse_path):
    """Whoever left it: a stock `dagster pipeline execute` killed while its run waits on the
    warehouse lock leaves the run STARTED; the next backfill finds it dead and `--only failed` reruns it."""
    import json

    env = instance_env(tmp_path, landing_dir, warehouse_path)
    config = tmp_path / "run_config.yaml"
    config.write_text("resources:\n  daily_partition:\n    config:\n      date: '2013-01-05'\n")
    tags = {"dagster/partition": "2013-01-05", "dagster/partition_set": "flights_daily_partition_set"}
    holder = subprocess.Popen([os.path.join(BIN, "python"), "-c", HOLD_LOCK, warehouse_path], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    stock = subprocess.Popen(
        [os.path.join(BIN, "dagster"), "pipeline", "execute", "-m", "flights_etl.repository", "-a", "flights_etl",
         "-p", "flights_daily_pipeline",
         "-c", str(config), "--mode", "local", "--tags", json.dumps(tags)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # until the run waits on the lock inside load_partition
            runs = _runs(env["DAGSTER_HOME"])
            if runs and runs[0].status == PipelineRunStatus.STARTED:
                with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                    steps = [e.step_key for e in instance.all_logs(runs[0].run_id) if e.dagster_event
                             and e.dagster_event.event_type_value == "STEP_START"]
                if "load_partition" in steps:
                    break
            assert time.monotonic() < deadline and stock.poll() is None, "the run never reached load_partition"
            time.sleep(0.2)
        os.killpg(stock.pid, signal.SIGKILL)
        stock.wait(timeout=30)
    finally:
        if stock.poll() is None:
            os.killpg(stock.pid, signal.SIGKILL)
        holder.kill()
        holder.wait()
    [run] = _runs(env["DAGSTER_HOME"])
    assert run.status == PipelineRunStatus.STARTED  # what Dagster alone leaves behind

    dry = flights_etl(env, "backfill", *SET, "--from", "2013-01-04", "--to", "2013-01-06", "--only", "failed", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[1:] == ["2013-01-05"]
    assert f"the process executing it (pid {stock.pid} on" in dry.stderr
    [run] = _runs(env["DAGSTER_HOME"])
    assert run.status == PipelineRunStatus.FAILURE
    rerun = flights_etl(env, "backfill", *SET, "--from", "2013-01-04", "--to", "2013-01-06", "--only", "missing,failed")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    _assert_warehouse_exact(warehouse_path, _days("2013-01-04", "2013-01-06"))


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs for DAGSTER_HOME, which needs root (CI runs as root)")
def test_a_full_instance_disk_stops_cleanly_and_nothing_stays_running(tmp_path, landing_dir, warehouse_path):
    home = tmp_path / "small_home"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(home)], check=True)
    try:
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**os.environ, "DAGSTER_HOME": str(home), "FLIGHTS_LANDING_DIR": landing_dir, "FLIGHTS_WAREHOUSE": warehouse_path}
        full = flights_etl(env, "backfill", *SET, "--from", FIRST, "--to", FULL_DISK_LAST)
        assert full.returncode == 1, full.stdout + full.stderr
        assert "Traceback" not in full.stdout + full.stderr
        # one line, in the summary: SQLite's (SQLAlchemy's wrapped form or sqlite3's own), or the OS's when the
        # write that hit the full disk was a new run's file
        assert re.search(r"stopped: (OperationalError: (\(sqlite3\.OperationalError\) )?database or disk is full|"
                         r"OSError: \[Errno 28\] No space left on device)\n", full.stdout), full.stdout
        assert "partitions in" in full.stdout and "never got a run" in full.stderr

        subprocess.run(["mount", "-o", "remount,size=64m", str(home)], check=True)  # the operator frees space
        _finish_and_check(env, warehouse_path, last=FULL_DISK_LAST)
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)
