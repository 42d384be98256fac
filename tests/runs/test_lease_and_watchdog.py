"""The lease and the watchdog's pure decisions, and one sweep on a real (SQLite) instance."""
import json

import pytest
from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter, PipelineRunStatus

from flights_etl.backfill.executors.run_launcher import retry_expected
from flights_etl.runs import lease as leases
from flights_etl.runs.lease import Lease, is_live, lease_of, lease_ttl_s, new_lease, why_expired, write_lease
from flights_etl.runs.liveness import CREATOR_TAG
from flights_etl.runs.watchdog import (
    MAX_RESENDS,
    RESENT_TAG,
    Action,
    Observed,
    dead_owner,
    due,
    grace_s,
    stranded_because,
    sweep,
    verdict,
)

S = PipelineRunStatus
NOW = 1_000_000.0
LIVE = Lease("w1@h1 pid 7 on h1", NOW - 3, NOW + 27)
EXPIRED = Lease("w1@h1 pid 7 on h1", NOW - 40, NOW - 10)
ENDED = Lease("w1@h1 pid 7 on h1", NOW - 40, NOW - 40, ended=True)
BACKFILL = {"dagster/backfill": "abc"}


def test_a_lease_is_live_until_it_expires_or_ends():
    assert is_live(LIVE, NOW) and not is_live(EXPIRED, NOW) and not is_live(ENDED, NOW) and not is_live(None, NOW)
    assert why_expired(LIVE, NOW) is None and why_expired(None, NOW) is None
    assert "stopped renewing its lease 40 s ago" in why_expired(EXPIRED, NOW)
    assert "the worker process is gone" in why_expired(EXPIRED, NOW)
    assert Lease.decode(LIVE.encode()) == LIVE
    assert Lease.decode("not json") is None and Lease.decode(json.dumps({"owner": "x"})) is None


def test_the_lease_ttl_comes_from_the_environment_and_must_outlast_the_heartbeat(monkeypatch):
    monkeypatch.delenv(leases.TTL_ENV, raising=False)
    assert lease_ttl_s() == 30.0
    assert new_lease("me", NOW).expires_at == NOW + 30
    monkeypatch.setenv(leases.TTL_ENV, "12")
    assert lease_ttl_s() == 12.0
    for bad in ("soon", "5"):
        monkeypatch.setenv(leases.TTL_ENV, bad)
        with pytest.raises(ValueError, match=leases.TTL_ENV):
            lease_ttl_s()


def test_a_queued_run_is_stranded_only_if_the_broker_surely_lost_it_and_nobody_leases_it():
    lost = Observed(S.QUEUED, {}, None, in_broker=False)
    assert "neither in the broker's queue nor delivered" in stranded_because(lost, NOW, fleet=True)
    assert stranded_because(Observed(S.QUEUED, {}, None, in_broker=None), NOW, True) is None  # broker unreachable: wait
    assert stranded_because(Observed(S.QUEUED, {}, None, in_broker=True), NOW, True) is None  # a worker will take it
    assert stranded_because(Observed(S.STARTING, {}, LIVE, in_broker=False), NOW, True) is None  # a worker has it
    assert "stopped renewing" in stranded_because(Observed(S.STARTING, {}, EXPIRED, in_broker=False), NOW, True)
    assert stranded_because(lost, NOW, fleet=False) is None  # the embedded default: the daemon's queue, not ours


def test_a_never_launched_run_is_stranded_unless_a_recorded_process_answers_for_it():
    assert "never launched" in stranded_because(Observed(S.NOT_STARTED, BACKFILL, None), NOW, True)
    assert "never launched" in stranded_because(Observed(S.NOT_STARTED, {}, None), NOW, False)
    assert stranded_because(Observed(S.NOT_STARTED, {CREATOR_TAG: "{}"}, None), NOW, True) is None  # runs/liveness.py


def test_stranded_runs_are_sent_again_a_bounded_number_of_times_then_failed_or_canceled():
    assert verdict(Observed(S.QUEUED, {}, None, False), fleet=True) == Action.RESEND
    assert verdict(Observed(S.QUEUED, {RESENT_TAG: str(MAX_RESENDS)}, None, False), fleet=True) == Action.FAIL
    assert verdict(Observed(S.STARTING, {RESENT_TAG: "1"}, None, False), fleet=True) == Action.RESEND
    assert verdict(Observed(S.NOT_STARTED, BACKFILL, None), fleet=True) == Action.RESEND
    assert verdict(Observed(S.NOT_STARTED, {}, None), fleet=True) == Action.CANCEL  # not a backfill's: unknown origin
    assert verdict(Observed(S.NOT_STARTED, BACKFILL, None), fleet=False) == Action.CANCEL


def test_a_started_run_is_dead_only_once_its_lease_expired():
    assert dead_owner(Observed(S.STARTED, {}, LIVE), NOW) is None
    assert "stopped renewing" in dead_owner(Observed(S.STARTED, {}, EXPIRED), NOW)
    assert "no worker ever took its lease" in dead_owner(Observed(S.CANCELING, {}, None), NOW)
    assert dead_owner(Observed(S.QUEUED, {}, None), NOW) is None


def test_the_grace_period_restarts_whenever_the_run_changes(monkeypatch):
    act, kept = due(None, "QUEUED|t1|0", NOW, 60)
    assert not act and kept == {"since": NOW, "seen": "QUEUED|t1|0"}
    assert due(kept, "QUEUED|t1|0", NOW + 59, 60)[0] is False
    assert due(kept, "QUEUED|t1|0", NOW + 60, 60)[0] is True
    act, kept = due(kept, "QUEUED|t2|1", NOW + 61, 60)  # sent again since: the clock restarts
    assert not act and kept["since"] == NOW + 61
    monkeypatch.delenv("FLIGHTS_WATCHDOG_GRACE_S", raising=False)
    assert grace_s() == 60.0
    monkeypatch.setenv("FLIGHTS_WATCHDOG_GRACE_S", "later")
    with pytest.raises(ValueError, match="FLIGHTS_WATCHDOG_GRACE_S"):
        grace_s()


def test_a_retry_is_expected_while_the_retries_allowed_are_not_used_up():
    assert retry_expected({"dagster/max_retries": "1"})
    assert not retry_expected({"dagster/max_retries": "1", "dagster/retry_number": "1"})
    assert not retry_expected({}) and not retry_expected({"dagster/max_retries": "x"})


def test_the_sweep_cancels_a_never_launched_backfill_run_on_the_embedded_default(tmp_path, monkeypatch):
    """A Dagit backfill's run the daemon created and never launched (no creator tag), on a real
    SQLite instance: untouched within the grace period, CANCELED with the reason after it."""
    from tests.helpers import daily_run_args

    def create(day, tags):
        args = daily_run_args(day)
        return instance.create_run_for_pipeline(**{**args, "tags": {**args["tags"], **tags}})

    monkeypatch.setenv("FLIGHTS_WATCHDOG_GRACE_S", "60")
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        stranded = create("2013-01-05", BACKFILL)
        launched_elsewhere = create("2013-01-06", {CREATOR_TAG: "{}"})
        write_lease(instance, "some-run", LIVE)
        assert lease_of(instance, "some-run") == LIVE and lease_of(instance, stranded.run_id) is None
        assert sweep(instance, NOW) == []  # first seen: the grace period starts
        assert sweep(instance, NOW + 59) == []
        [(run, reason)] = sweep(instance, NOW + 61)
        assert run.run_id == stranded.run_id and run.status == S.CANCELED and "never launched" in reason
        assert instance.get_run_by_id(launched_elsewhere.run_id).status == S.NOT_STARTED
        messages = [r.message for r in instance.all_logs(stranded.run_id) if r.dagster_event is not None]
        assert any("never launched" in message for message in messages)


def test_the_watchdog_sensor_sweeps_and_says_what_it_did(tmp_path, monkeypatch):
    from dagster import build_sensor_context

    from flights_etl.sensors.run_watchdog import flights_run_watchdog_sensor
    from tests.helpers import daily_run_args

    monkeypatch.setenv("FLIGHTS_WATCHDOG_GRACE_S", "0")
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        args = daily_run_args("2013-01-05")
        stranded = instance.create_run_for_pipeline(**{**args, "tags": {**args["tags"], **BACKFILL}})
        first = flights_run_watchdog_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert first.run_requests == []
        assert first.skip_message.startswith(f"1 runs handled: 2013-01-05: run {stranded.run_id[:8]} was left "
                                             "unfinished and is marked CANCELED: it was created but never launched")
        assert instance.get_run_by_id(stranded.run_id).status == S.CANCELED
        again = flights_run_watchdog_sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert again.skip_message == "no stranded run"


def test_a_failed_run_the_run_retries_read_past_is_handed_back_to_them(tmp_path, postgres_server, monkeypatch):
    """Dagster 0.15.10's run retries may read a failure event before the run's status says FAILURE
    and then never look again: on a real PostgreSQL instance (run retries need one), the sweep
    finds such a run (retries left, no retry yet, the consumer's cursor past its failure) and moves
    the cursor back just before it."""
    from flights_etl.runs import retries
    from tests.conftest import new_postgres_database
    from tests.helpers import daily_run_args

    monkeypatch.setenv("DAGSTER_PG_URL", new_postgres_database(postgres_server))  # its password stays out of files
    storage = "storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"

    def failed_run(day, tags):
        args = daily_run_args(day)
        run = instance.create_run_for_pipeline(**{**args, "tags": {**args["tags"], **tags}})
        instance.report_run_failed(run, message="its worker is gone")
        return run

    def consumer_read_up_to_now():
        instance.run_storage.kvs_set({retries.CURSOR_KEY: str(instance.event_log_storage.get_maximum_record_id())})

    (tmp_path / "dagster.yaml").write_text(storage + "telemetry:\n  enabled: false\nrun_retries:\n  enabled: true\n")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        missed = failed_run("2013-01-05", {"dagster/max_retries": "1"})
        failed_run("2013-01-06", {})  # no retry asked for: not Dagster's to retry
        assert retries.missed(instance) == {}  # the consumer has not run: nothing read past
        [failure] = [r.storage_id for r in instance.get_event_records(EventRecordsFilter(DagsterEventType.RUN_FAILURE))
                     if r.event_log_entry.run_id == missed.run_id]
        consumer_read_up_to_now()
        assert retries.missed(instance) == {missed.run_id: failure}
        assert sweep(instance, NOW) == []  # nothing unfinished; the cursor is moved back
        assert retries.consumer_cursor(instance) == failure - 1
        assert retries.missed(instance) == {}  # the consumer will read it again

        args = daily_run_args("2013-01-05")  # the consumer's retry of it (as create_reexecuted_run makes it)
        group = {"dagster/parent_run_id": missed.run_id, "dagster/root_run_id": missed.run_id}
        instance.create_run_for_pipeline(**{**args, "tags": {**missed.tags, **group, "dagster/retry_number": "1"}},
                                         parent_run_id=missed.run_id, root_run_id=missed.run_id)
        consumer_read_up_to_now()
        assert retries.missed(instance) == {}  # it has its retry

        # A retry the consumer never makes (its job gone, say): handed back MAX_HAND_BACKS times, then left.
        stuck = failed_run("2013-01-08", {"dagster/max_retries": "1"})
        malformed = failed_run("2013-01-09", {"dagster/max_retries": "x"})
        for _ in range(retries.MAX_HAND_BACKS):
            consumer_read_up_to_now()
            assert list(retries.missed(instance)) == [stuck.run_id]
            assert retries.look_again(instance, "test") == [stuck.run_id]
        consumer_read_up_to_now()
        assert retries.missed(instance) == {}
        assert not [r for r in instance.all_logs(malformed.run_id) if "Error parsing" in (r.message or "")]

    (tmp_path / "dagster.yaml").write_text(storage + "telemetry:\n  enabled: false\n")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        failed_run("2013-01-07", {"dagster/max_retries": "1"})
        consumer_read_up_to_now()
        assert retries.missed(instance) == {}  # run retries are off: no consumer to hand it to
