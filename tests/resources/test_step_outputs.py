"""Step outputs of the local mode: small on disk, re-read from unchanged landing files on re-execution,
stored as data (Parquet, JSON) that loading never runs as code."""
import io
import json
import os
import pickle
import shlex
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import (
    ModeDefinition,
    build_input_context,
    build_output_context,
    build_solid_context,
    execute_pipeline,
    pipeline,
    reexecute_pipeline,
    solid,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flights_etl.partitions import flights_daily_partition_set
from flights_etl.pipelines.flights_daily import flights_daily_pipeline
from flights_etl.resources import step_outputs
from flights_etl.resources.landing import LandingDir
from flights_etl.resources.step_outputs import (
    StepOutputError,
    StepOutputs,
    frame_from_parquet,
    step_outputs_io_manager,
    value_from_json,
)
from flights_etl.solids.notify import notify_complete
from flights_etl.transforms.daily_delays import summarize_daily_delays
from tests.helpers import assert_same_snapshot, failure_message, snapshot
from tests.raw_data import expected_daily_delays

DAY = "2013-01-07"


def _run_config():
    return flights_daily_partition_set.run_config_for_partition(flights_daily_partition_set.get_partition(DAY))


@pytest.fixture
def local_run(instance, landing_dir, warehouse_path, monkeypatch):
    monkeypatch.setenv("FLIGHTS_WAREHOUSE", warehouse_path)
    monkeypatch.setenv("FLIGHTS_LANDING_DIR", landing_dir)
    result = execute_pipeline(flights_daily_pipeline, run_config=_run_config(),
                              mode="local", instance=instance)
    assert result.success
    return result


def test_landing_frames_are_not_stored_and_the_rest_is_small(local_run, instance):
    stored = {}
    root = os.path.join(instance.storage_directory(), local_run.run_id)
    for directory, dirs, files in os.walk(root):
        dirs[:] = [name for name in dirs if name != "compute_logs"]  # Dagster's captured stdout/stderr
        for name in files:
            path = os.path.join(directory, name)
            stored[os.path.relpath(path, root)] = os.path.getsize(path)
    assert set(stored) == {
        "read_flights/result.landing.json", "read_weather/result.landing.json",
        "build_daily_delays/result.parquet", "load_partition/result.json", "notify_complete/result.json",
    }
    assert max(stored.values()) < 16 * 1024, stored  # a day's flights alone are ~100 KB as a frame


def test_reexecution_rereads_unchanged_files_and_refuses_changed_ones(local_run, instance, landing_dir, warehouse_path):
    config = _run_config()
    before = snapshot(warehouse_path)
    again = reexecute_pipeline(flights_daily_pipeline, local_run.run_id, run_config=config, mode="local",
                               instance=instance, step_selection=["load_partition*"])
    assert again.success  # flights and weather re-read from their files, daily_delays from its Parquet file
    assert_same_snapshot(before, snapshot(warehouse_path))

    path = os.path.join(landing_dir, "flights", f"{DAY}.csv")
    with open(path) as handle:
        lines = handle.readlines()
    with open(path, "w") as handle:
        handle.writelines(lines[:-1])  # upstream re-dropped the file with a row fewer
    changed = reexecute_pipeline(flights_daily_pipeline, local_run.run_id, run_config=config, mode="local",
                                 instance=instance, step_selection=["load_partition*"], raise_on_error=False)
    assert not changed.success
    assert f"{path} changed since run {local_run.run_id} validated it: re-execute the whole run" in failure_message(changed)
    assert_same_snapshot(before, snapshot(warehouse_path))


class _SlackDown:
    def send(self, message):
        raise ConnectionError("Slack is unreachable\nsecond line")


def test_a_notifier_outage_does_not_fail_a_loaded_day():
    context = build_solid_context(resources={"notifier": _SlackDown()})
    events = list(notify_complete(context, "2013-01-07: 900 flights loaded"))
    [expectation] = [event for event in events if type(event).__name__ == "ExpectationResult"]
    assert expectation.success is False and "ConnectionError: Slack is unreachable" in expectation.description
    assert events[-1].value == "2013-01-07: 900 flights loaded"


# --- Nothing stored runs as code on load -------------------------------------------------------------

def _evil_pickle(marker) -> bytes:
    """A pickle that creates ``marker`` when it is unpickled (as a planted ``result.pickle`` did)."""

    class Plant:
        def __reduce__(self):
            return os.system, (f"touch {shlex.quote(str(marker))}",)

    return pickle.dumps(Plant())


def _extension_parquet(marker) -> bytes:
    """Parquet whose column claims the Arrow extension type that older pyarrow unpickled (CVE-2023-47248)."""
    field = pa.field("flights", pa.binary(), metadata={
        b"ARROW:extension:name": b"arrow.py_extension_type", b"ARROW:extension:metadata": _evil_pickle(marker)})
    buffer = io.BytesIO()
    pq.write_table(pa.table([pa.array([b"x"])], schema=pa.schema([field])), buffer)
    return buffer.getvalue()


def test_the_planted_payload_really_runs_code_when_unpickled(tmp_path):
    pickle.loads(_evil_pickle(tmp_path / "probe"))  # what `pickle.load` in the io_manager used to do
    assert (tmp_path / "probe").exists()


# (planted file, its content, the steps re-executed, what the error says after the file's path)
PLANTS = [
    ("build_daily_delays/result.parquet", _evil_pickle, "load_partition*", "not a step output this version wrote (Arrow"),
    ("build_daily_delays/result.parquet", _extension_parquet, "load_partition*",
     "not a step output this version wrote (ValueError: column 'flights' has type binary, not a plain column type)"),
    ("build_daily_delays/result.pickle", _evil_pickle, "load_partition*",
     "a pickled step output (from before outputs were stored as Parquet/JSON) is never loaded"),
    ("load_partition/result.json", _evil_pickle, "notify_complete", "not a step output this version wrote (UnicodeDecodeError"),
    ("load_partition/result.json", lambda marker: json.dumps(
        {"py/reduce": [{"py/function": "os.system"}, {"py/tuple": [f"touch {marker}"]}]}).encode(),
     "notify_complete", "not a step output this version wrote (ValueError: not a 'flights-etl step output 1' document)"),
    ("read_flights/result.landing.json", _evil_pickle, "build_daily_delays*", "not a step output this version wrote ("),
]


@pytest.mark.parametrize("planted, content, steps, error", PLANTS, ids=[f"{p[0]}:{p[1].__name__}" for p in PLANTS])
def test_a_planted_file_where_a_reexecution_reads_is_refused_and_never_run(
    planted, content, steps, error, local_run, instance, landing_dir, warehouse_path, tmp_path
):
    marker = tmp_path / "code_ran"
    run_dir = os.path.join(instance.storage_directory(), local_run.run_id)
    path = os.path.join(run_dir, planted)
    for stored in os.listdir(os.path.dirname(path)):  # the planted file is the only one the step has
        os.unlink(os.path.join(os.path.dirname(path), stored))
    with open(path, "wb") as handle:
        handle.write(content(marker))
    before = snapshot(warehouse_path)

    again = reexecute_pipeline(flights_daily_pipeline, local_run.run_id, run_config=_run_config(),
                               mode="local", instance=instance, step_selection=[steps], raise_on_error=False)
    assert not again.success
    message = failure_message(again)
    [line] = [line for line in message.splitlines() if path in line]  # one line, naming the file
    assert line.startswith(f"{StepOutputError.__module__}.StepOutputError: {path}: {error}"), line
    assert "re-execute the whole run (Re-execute all)" in line
    assert not marker.exists()
    assert_same_snapshot(before, snapshot(warehouse_path))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_give_a_one_line_error_naming_the_file(data, tmp_path):
    frame = pd.DataFrame({"origin": ["EWR", "JFK"], "flights": [3, 4], "dep_delay_mean": [1.5, np.nan]})
    good = {"parquet": _parquet(frame), "json": json.dumps({"format": "flights-etl step output 1", "value": "x"}).encode()}
    kind = data.draw(st.sampled_from(sorted(good)))
    damaged = bytearray(good[kind])
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    damaged = bytes(damaged[: data.draw(st.integers(0, len(damaged)))])
    path = str(tmp_path / f"result.{kind}")
    try:
        (frame_from_parquet if kind == "parquet" else value_from_json)(damaged, path)
    except StepOutputError as error:
        assert str(error).startswith(f"{path}: not a step output this version wrote (") and "\n" not in str(error)


@pytest.mark.parametrize("name", ["result.parquet", "result.json", "result.landing.json"])
def test_a_planted_fifo_is_refused_not_read_forever(name, tmp_path):
    written = build_output_context(step_key="build_daily_delays", name="result", run_id="run-1")
    path = tmp_path / "run-1" / "build_daily_delays" / name
    path.parent.mkdir(parents=True)
    os.mkfifo(path)  # opening it to read would block until a writer comes
    with pytest.raises(StepOutputError, match=f"^{path}: not a step output this version wrote "
                                              r"\(ValueError: not a regular file\)"):
        StepOutputs(str(tmp_path)).load_input(build_input_context(upstream_output=written))


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


# --- Every output type the pipelines produce comes back exactly -------------------------------------

def _round_trip(tmp_path, value, step_key="build_daily_delays"):
    written = build_output_context(step_key=step_key, name="result", run_id="run-1")
    StepOutputs(str(tmp_path)).handle_output(written, value)
    reader = StepOutputs(str(tmp_path))  # another process: nothing in memory, only the files
    return reader.load_input(build_input_context(upstream_output=written))


def _daily_delays(landing_dir, day) -> pd.DataFrame:
    landing = LandingDir(landing_dir)
    return summarize_daily_delays(landing.read("flights", day)[0], landing.read("weather", day)[0])


@pytest.mark.parametrize("weather_gap", [False, True], ids=["with_weather", "weather_gap"])
def test_daily_delays_come_back_with_the_same_values_and_dtypes(weather_gap, landing_dir, tmp_path):
    day = date(2013, 1, 7)
    if weather_gap:
        os.unlink(os.path.join(landing_dir, "weather", f"{day}.csv"))
    delays = _daily_delays(landing_dir, day)
    expected = expected_daily_delays(day)  # from the raw data, in SQL
    assert delays["flights"].tolist() == expected["flights"].tolist()
    assert delays["weather_hours"].eq(0).all() == weather_gap

    assert step_outputs._comes_back_unchanged(delays)  # stored without reading it back
    loaded = _round_trip(tmp_path, delays)
    pd.testing.assert_frame_equal(loaded, delays, check_exact=True)
    assert loaded.dtypes.to_dict() == delays.dtypes.to_dict()
    assert os.listdir(tmp_path / "run-1" / "build_daily_delays") == ["result.parquet"]


@pytest.mark.parametrize("frame, unchecked", [
    (pd.DataFrame({"origin": ["EWR", "JFK"], "flights": [3, 4], "mean": [1.5, np.nan], "ok": [True, False]}), True),
    (pd.DataFrame({"origin": ["EWR", None]}), False),  # None: read back and compared
    (pd.DataFrame({"rows": pd.array([1, None], dtype="Int64")}), False),
    (pd.DataFrame({"at": pd.to_datetime(["2013-01-07 06:00", None])}), False),
    (pd.DataFrame({"origin": ["EWR"]}, index=[7]), False),
])
def test_frames_come_back_exactly_whether_or_not_they_are_read_back(frame, unchecked, tmp_path):
    """Plain frames skip the read-back when stored; every other frame is read back and compared."""
    assert step_outputs._comes_back_unchanged(frame) is unchecked
    loaded = _round_trip(tmp_path, frame)
    pd.testing.assert_frame_equal(loaded, frame, check_exact=True)


@pytest.mark.parametrize("value", [
    "2013-01-07: 842 flights loaded; worst mean departure delay EV at EWR (51.3 min)",  # load_partition, notify
    "2013-01: 27004 flights over 16 carriers; best on-time share HA (96.8%) — ünïcode",  # build_monthly_report
    None,  # check_month_loaded (Nothing)
    "", 0, -7, 2**70, 1.5, True, False, ["a", 1, None, [2.5]], {"rows": {"flights": 842}, "gap": None},
])
def test_plain_values_come_back_exactly(value, tmp_path):
    loaded = _round_trip(tmp_path, value, step_key="load_partition")
    assert loaded == value and type(loaded) is type(value)
    assert os.listdir(tmp_path / "run-1" / "load_partition") == ["result.json"]


# --- Anything else is refused when it is stored ----------------------------------------------------

@pytest.mark.parametrize("value, kind", [
    ({1, 2}, "a set"),
    (("EWR", 3), "a tuple"),
    (np.int64(3), "a numpy.int64"),
    (date(2013, 1, 7), "a datetime.date"),
    ({"rows": [1, {2: "x"}]}, "a dict with a int key at ['rows'][1]"),
    (["ok", object()], "a object at [1]"),
    (pd.Series([1, 2]), "a pandas.core.series.Series"),
])
def test_unsupported_values_are_refused_naming_step_output_and_type(value, kind, tmp_path):
    with pytest.raises(StepOutputError) as raised:
        _round_trip(tmp_path, value, step_key="load_partition")
    assert str(raised.value).startswith(f"Step output load_partition.result is {kind}: step outputs store a pandas DataFrame")
    assert not (tmp_path / "run-1").exists()


@pytest.mark.parametrize("frame, problem", [
    (pd.DataFrame({"origin": ["EWR", 3]}), "ArrowTypeError"),
    (pd.DataFrame({"a": [[1, 2]]}), "column 'a' has type list<element: int64>, not a plain column type"),
    (pd.DataFrame({"a": pd.Categorical(["x"])}), "not a plain column type"),
    # Parquet has no second-resolution timestamps: it would come back as datetime64[ms]
    (pd.DataFrame({"at": pd.to_datetime(["2013-01-07 06:00"]).astype("datetime64[s]")}),
     "TypeError: column 'at' would come back as datetime64[ms], not datetime64[s]"),
])
def test_frames_parquet_would_change_are_refused(frame, problem, tmp_path):
    with pytest.raises(StepOutputError, match="^Step output build_daily_delays.result is a DataFrame that Parquet "
                                              "cannot store exactly: ") as raised:
        _round_trip(tmp_path, frame)
    assert problem in str(raised.value) and "\n" not in str(raised.value)


@solid
def summary_line(_context) -> str:
    return "3 carriers"


@solid
def carriers(_context, _summary: str):
    return {"AA", "B6"}


@pipeline(mode_defs=[ModeDefinition(resource_defs={"io_manager": step_outputs_io_manager})])
def stores_a_set():
    carriers(summary_line())


def test_a_run_storing_an_unsupported_type_fails_that_step_clearly(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("FLIGHTS_STEP_STORAGE", str(tmp_path / "shared"))
    result = execute_pipeline(stores_a_set, instance=instance, raise_on_error=False)
    assert not result.success
    assert "Step output carriers.result is a set: step outputs store a pandas DataFrame" in failure_message(result)
    run_dir = tmp_path / "shared" / result.run_id  # $FLIGHTS_STEP_STORAGE, not the instance's storage
    assert os.listdir(run_dir / "summary_line") == ["result.json"]
    assert not (run_dir / "carriers").exists()
