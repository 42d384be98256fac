"""The ``io_manager`` of the local and prod modes: small step outputs that a re-execution can reload.

Dagit's *Re-execute from failure* runs only the failed step and what follows it, reading the
other steps' outputs from the run that failed. Storing them must not cost more than the data:

- A frame read from a landing file (outputs marked ``metadata={"landing": dataset}``) is not
  stored at all. A marker records the file, the day and the SHA-256 of the bytes that were
  validated; a re-execution reads and validates the file again, and refuses if it changed since
  (then *Re-execute all* loads it as it is now).
- Everything else is stored as data, never as code: a DataFrame (the day's ``daily_delays``: a few
  dozen rows) as Parquet, and plain values (one-line summaries, ``None``) as JSON, under
  ``base_dir/<run id>/<step>/<output>.parquet|.json``. Any other type is refused when the step
  stores it. Loading only parses data: a planted or damaged file (a pickle, say: step storage may be
  shared by a worker fleet) is refused with an error naming it, and nothing in it is executed.

Within a run every output is also kept in memory, so a run never reads back what it wrote.
``base_dir`` is ``$FLIGHTS_STEP_STORAGE``, else the instance's ``storage`` folder; when runs may be
re-executed on another machine (a worker fleet), point it at storage they all reach.
"""
import hashlib
import io
import json
import os
import socket
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from dagster import IOManager, io_manager

from flights_etl import settings
from flights_etl.contract.schema import DATASETS
from flights_etl.errors import error_line
from flights_etl.files import write_atomically

if TYPE_CHECKING:  # pandas, NumPy and Arrow are imported when a step stores or loads, not with the repository
    import pandas as pd

STEP_STORAGE_ENV = settings.STEP_STORAGE
SOURCE_ATTR = "landing_source"  # DataFrame.attrs key set by the landing resource: path, sha256, day
JSON_FORMAT = "flights-etl step output 1"  # the envelope of a .json output: tells ours from any other JSON
PLAIN_TYPES = (str, int, float, bool, type(None))
STORABLE = (
    "a pandas DataFrame (stored as Parquet), or str, int, float, bool, None and lists and string-keyed "
    "dicts of them (stored as JSON)"
)


class StepOutputError(ValueError):
    """A step output that cannot be stored, or a stored file that is not one this module wrote."""


class StepOutputs(IOManager):
    def __init__(self, base_dir: str):
        self.base_dir = base_dir
        self._in_memory = {}  # (run_id, step_key, output name) -> object; lives for one run

    def _path(self, run_id: str, step_key: str, name: str, suffix: str) -> str:
        return os.path.join(self.base_dir, run_id, step_key, f"{name}.{suffix}")

    def handle_output(self, context, obj) -> None:
        import pandas as pd

        key = (context.run_id, context.step_key, context.name)
        dataset = (context.metadata or {}).get("landing")
        if dataset is not None:
            source = obj.attrs.get(SOURCE_ATTR)
            if source is None:
                raise ValueError(f"{context.step_key}.{context.name}: a landing frame without its source")
            write_atomically(self._path(*key, "landing.json"), json.dumps({"dataset": dataset, **source}).encode())
        elif isinstance(obj, pd.DataFrame):
            write_atomically(self._path(*key, "parquet"), frame_to_parquet(obj, f"{context.step_key}.{context.name}"))
        else:
            write_atomically(self._path(*key, "json"), value_to_json(obj, f"{context.step_key}.{context.name}"))
        self._in_memory[key] = obj  # only what was stored: a refused output fails its step

    def load_input(self, context):
        upstream = context.upstream_output
        key = (upstream.run_id, upstream.step_key, upstream.name)
        if key in self._in_memory:
            return self._in_memory[key]
        marker = self._path(*key, "landing.json")
        if os.path.lexists(marker):
            return _reread(_landing_marker(marker), upstream.run_id)
        for suffix, load in (("parquet", frame_from_parquet), ("json", value_from_json)):
            stored = self._path(*key, suffix)
            if os.path.lexists(stored):
                return load(_read_regular_file(stored), stored)
        legacy = self._path(*key, "pickle")
        if os.path.exists(legacy):
            raise StepOutputError(
                f"{legacy}: a pickled step output (from before outputs were stored as Parquet/JSON) is never "
                "loaded, since unpickling can run code: re-execute the whole run (Re-execute all)"
            )
        raise FileNotFoundError(
            f"Output {upstream.name!r} of step {upstream.step_key} of run {upstream.run_id} is not in "
            f"{self.base_dir} on {socket.gethostname()}: re-execute the whole run, or point "
            f"${STEP_STORAGE_ENV} at storage every machine that runs steps can reach"
        )


def frame_to_parquet(frame: "pd.DataFrame", where: str) -> bytes:
    """``frame`` as Parquet bytes, or a refusal when Parquet would not give back exactly this frame."""
    import pandas as pd
    import pyarrow as pa

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, engine="pyarrow")
        if _comes_back_unchanged(frame):
            return buffer.getvalue()
        # Refuse now what would come back different (dtypes, index, values) rather than hand a
        # re-execution another frame than the failed run had.
        again = _decode_frame(buffer.getvalue())
        for column, dtype in again.dtypes.items():
            if dtype != frame.dtypes[column]:
                raise TypeError(f"column {column!r} would come back as {dtype}, not {frame.dtypes[column]}")
        pd.testing.assert_frame_equal(frame, again, check_exact=True)
        if again.attrs != frame.attrs:
            raise ValueError("its attrs do not survive Parquet")
    except (ValueError, TypeError, AssertionError, pa.ArrowException) as error:
        raise StepOutputError(
            f"Step output {where} is a DataFrame that Parquet cannot store exactly: {error_line(error, with_class=True)}"
        ) from None
    return buffer.getvalue()


@lru_cache(maxsize=None)
def _plain_dtypes() -> frozenset:
    import numpy as np

    return frozenset(np.dtype(name) for name in (
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "bool"))


def _comes_back_unchanged(frame: "pd.DataFrame") -> bool:
    """Whether Parquet is known to give ``frame`` back exactly without reading it back (a few ms a
    run): NumPy numbers and booleans and columns holding only str, under unique str names, a
    RangeIndex, no attrs. Anything else is written, read back and compared."""
    import numpy as np
    import pandas as pd

    columns = frame.columns
    if (frame.attrs or not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None
            or type(columns) is not pd.Index or columns.name is not None or not columns.is_unique
            or not all(type(name) is str for name in columns)):
        return False
    for name, dtype in frame.dtypes.items():
        if dtype in _plain_dtypes():
            continue
        if dtype == np.dtype(object) and pd.api.types.infer_dtype(frame[name], skipna=False) == "string":
            continue
        return False
    return True


def frame_from_parquet(data: bytes, path: str) -> "pd.DataFrame":
    """The frame of a ``.parquet`` step output: data only (plain column types), never code."""
    import pyarrow as pa

    try:
        return _decode_frame(data)
    except (ValueError, TypeError, KeyError, IndexError, OSError, RecursionError, pa.ArrowException) as error:
        raise _unreadable(path, error) from None


def _decode_frame(data: bytes) -> "pd.DataFrame":
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Plain columns only, checked before any is read: nested and extension types (Arrow's
    # extension types once unpickled their metadata) are refused.
    plain = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_string,
             pa.types.is_large_string, pa.types.is_timestamp, pa.types.is_date32, pa.types.is_null)
    for field in pq.read_schema(io.BytesIO(data)):
        extension = any(key.startswith(b"ARROW:extension") for key in (field.metadata or {}))
        if extension or not any(is_type(field.type) for is_type in plain):
            raise ValueError(f"column {field.name!r} has type {field.type}, not a plain column type")
    table = pq.read_table(io.BytesIO(data))
    frame = table.to_pandas()
    attrs = (table.schema.metadata or {}).get(b"PANDAS_ATTRS")  # what pandas' to_parquet keeps of .attrs
    if attrs is not None:
        frame.attrs = json.loads(attrs)
    return frame


def value_to_json(value, where: str) -> bytes:
    """A plain value as JSON bytes in our envelope, or a refusal naming the output and the type."""
    try:
        _check_plain(value)
    except StepOutputError as error:
        raise StepOutputError(f"Step output {where} is {error}: step outputs store {STORABLE}") from None
    return json.dumps({"format": JSON_FORMAT, "value": value}).encode()


def value_from_json(data: bytes, path: str):
    """The value of a ``.json`` step output (parsing only)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise _unreadable(path, error) from None
    if not isinstance(document, dict) or document.get("format") != JSON_FORMAT or set(document) != {"format", "value"}:
        raise _unreadable(path, ValueError(f"not a {JSON_FORMAT!r} document"))
    return document["value"]


def _check_plain(value, inside: str = ""):
    """``value`` itself when JSON gives it back unchanged (exact types: no tuple, numpy scalar, int key)."""
    if type(value) in PLAIN_TYPES:
        return value
    if type(value) is list:
        for index, item in enumerate(value):
            _check_plain(item, f"{inside}[{index}]")
        return value
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise StepOutputError(f"a dict with a {type(key).__name__} key at {inside or 'top'}")
            _check_plain(item, f"{inside}[{key!r}]")
        return value
    kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
    raise StepOutputError(f"a {kind}" + (f" at {inside}" if inside else ""))


def _read_regular_file(path: str) -> bytes:
    # A device or FIFO planted in the shared storage would block or never end the read.
    if not os.path.isfile(path):
        raise _unreadable(path, ValueError("not a regular file"))
    with open(path, "rb") as handle:
        return handle.read()


def _landing_marker(path: str) -> dict:
    data = _read_regular_file(path)
    try:
        marker = json.loads(data.decode("utf-8"))
        if not (isinstance(marker, dict) and marker.get("dataset") in DATASETS
                and all(type(marker.get(key)) is str for key in ("path", "day"))
                and type(marker.get("sha256")) in (str, type(None))):
            raise ValueError("not a landing marker")
        date.fromisoformat(marker["day"])
    except (ValueError, RecursionError) as error:
        raise _unreadable(path, error) from None
    return marker


def _unreadable(path: str, error: BaseException) -> StepOutputError:
    return StepOutputError(
        f"{path}: not a step output this version wrote ({error_line(error, with_class=True)}); nothing in it was run: "
        "re-execute the whole run (Re-execute all)"
    )


def landing_source(path: str, day: date, gap) -> dict:
    """What a marker records of a landing frame: the file, the day, the size and SHA-256 of its bytes."""
    digest = size = None
    if gap != "is missing":
        with open(path, "rb") as handle:
            data = handle.read()
        digest, size = hashlib.sha256(data).hexdigest(), len(data)
    return {"path": os.path.abspath(path), "day": day.isoformat(), "sha256": digest, "size": size, "gap": gap}


def _reread(marker: dict, run_id: str):
    """The frame a landing marker stands for, read and validated again from the unchanged file."""
    from flights_etl.contract.validation import empty_frame, read_landing_file

    spec = DATASETS[marker["dataset"]]
    path, day = marker["path"], date.fromisoformat(marker["day"])
    now = landing_source(path, day, "is missing" if not os.path.exists(path) else None)
    if now["sha256"] != marker["sha256"]:
        raise ValueError(
            f"{path} changed since run {run_id} validated it: re-execute the whole run "
            "(Re-execute all) to load the file as it is now"
        )
    if marker["sha256"] is None or marker.get("gap"):
        frame = empty_frame(spec.columns)
    else:
        frame = read_landing_file(path, spec, day, allow_no_rows=spec.optional, landing_dir=None)
    frame.attrs[SOURCE_ATTR] = {key: value for key, value in marker.items() if key != "dataset"}  # the load records it
    return frame


@io_manager(
    # Where runs write is the deployment's: no base_dir in run config (an empty schema refuses it).
    config_schema={},
    description=f"Small step outputs, in ${STEP_STORAGE_ENV}, else the instance's storage folder: landing frames "
    "re-read from their (unchanged) files, other frames as Parquet, plain values as JSON.",
)
def step_outputs_io_manager(init_context) -> StepOutputs:
    base_dir = settings.read(STEP_STORAGE_ENV) or init_context.instance.storage_directory()
    return StepOutputs(base_dir)
