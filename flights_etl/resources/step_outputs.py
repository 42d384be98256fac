"""The ``io_manager`` of the local and prod modes: small step outputs that a re-execution can reload.

Dagit's *Re-execute from failure* runs only the failed step and what follows it, reading the
other steps' outputs from the run that failed. Storing them must not cost more than the data:

- A frame read from a landing file (outputs marked ``metadata={"landing": dataset}``) is not
  stored at all. A marker records the file, the day and the SHA-256 of the bytes that were
  validated; a re-execution reads and validates the file again, and refuses if it changed since
  (then *Re-execute all* loads it as it is now).
- Everything else (the day's ``daily_delays``: a few dozen rows; one-line summaries) is pickled
  under ``base_dir/<run id>/<step>/<output>``.

Within a run every output is also kept in memory, so a run never reads back what it wrote.
``base_dir`` defaults to ``$FLIGHTS_STEP_STORAGE``, else the instance's ``storage`` folder; when
runs may be re-executed on another machine (a worker fleet), point it at storage they all reach.
"""
import hashlib
import json
import os
import pickle
import socket
import tempfile
from datetime import date

from dagster import IOManager, io_manager

from flights_etl.contract.schema import DATASETS
from flights_etl.contract.validation import empty_frame, read_landing_file

STEP_STORAGE_ENV = "FLIGHTS_STEP_STORAGE"
SOURCE_ATTR = "landing_source"  # DataFrame.attrs key set by the landing resource: path, sha256, day


class StepOutputs(IOManager):
    def __init__(self, base_dir: str):
        self.base_dir = base_dir
        self._in_memory = {}  # (run_id, step_key, output name) -> object; lives for one run

    def _path(self, run_id: str, step_key: str, name: str, suffix: str) -> str:
        return os.path.join(self.base_dir, run_id, step_key, f"{name}.{suffix}")

    def handle_output(self, context, obj) -> None:
        key = (context.run_id, context.step_key, context.name)
        self._in_memory[key] = obj
        dataset = (context.metadata or {}).get("landing")
        if dataset is not None:
            source = obj.attrs.get(SOURCE_ATTR)
            if source is None:
                raise ValueError(f"{context.step_key}.{context.name}: a landing frame without its source")
            _write_atomically(self._path(*key, "landing.json"), json.dumps({"dataset": dataset, **source}).encode())
        else:
            _write_atomically(self._path(*key, "pickle"), pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def load_input(self, context):
        upstream = context.upstream_output
        key = (upstream.run_id, upstream.step_key, upstream.name)
        if key in self._in_memory:
            return self._in_memory[key]
        marker = self._path(*key, "landing.json")
        if os.path.exists(marker):
            with open(marker) as handle:
                return _reread(json.load(handle), upstream.run_id)
        stored = self._path(*key, "pickle")
        if not os.path.exists(stored):
            raise FileNotFoundError(
                f"Output {upstream.name!r} of step {upstream.step_key} of run {upstream.run_id} is not in "
                f"{self.base_dir} on {socket.gethostname()}: re-execute the whole run, or point "
                f"${STEP_STORAGE_ENV} at storage every machine that runs steps can reach"
            )
        with open(stored, "rb") as handle:
            return pickle.load(handle)


def landing_source(path: str, day: date, gap) -> dict:
    """What a marker records of a landing frame: the file, the day and the SHA-256 of its bytes."""
    digest = None
    if gap != "is missing":
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    return {"path": os.path.abspath(path), "day": day.isoformat(), "sha256": digest, "gap": gap}


def _reread(marker: dict, run_id: str):
    """The frame a landing marker stands for, read and validated again from the unchanged file."""
    spec = DATASETS[marker["dataset"]]
    path, day = marker["path"], date.fromisoformat(marker["day"])
    now = landing_source(path, day, "is missing" if not os.path.exists(path) else None)
    if now["sha256"] != marker["sha256"]:
        raise ValueError(
            f"{path} changed since run {run_id} validated it: re-execute the whole run "
            "(Re-execute all) to load the file as it is now"
        )
    if marker["sha256"] is None or marker.get("gap"):
        return empty_frame(spec.columns)
    return read_landing_file(path, spec, day, allow_no_rows=spec.optional, landing_dir=None)


def _write_atomically(path: str, data: bytes) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@io_manager(
    # Where runs write is the deployment's: no base_dir in run config (an empty schema refuses it).
    config_schema={},
    description="Small step outputs: landing frames re-read from their (unchanged) files, the rest pickled.",
)
def step_outputs_io_manager(init_context) -> StepOutputs:
    base_dir = os.environ.get(STEP_STORAGE_ENV) or init_context.instance.storage_directory()
    return StepOutputs(base_dir)
