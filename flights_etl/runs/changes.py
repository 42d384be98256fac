"""Which days have yet to be processed: each day's landing files now, against what the warehouse built it from.

A day's status (``flights-etl status``, ``--only changed``, the landing sensor) combines its latest
run, its load in the warehouse (table partition_loads: the digest of the files it was built from)
and its landing files now (``contract.fingerprints``: hashed only when their size or mtime changed):

- ``SUCCESS``: loaded, and the landed files are the very bytes it was built from;
- ``CHANGED``: loaded, but a landed file's content differs (or the load recorded no files);
- ``LANDED``: files landed, not in the warehouse (no run yet, or a run whose load is not there);
- ``FILES_GONE``: loaded (or a run succeeded) but its flights file is no longer in the landing directory;
- ``MISSING``: no file and no run; a failed, canceled, queued or running latest run keeps the run's status.
"""
import os
from dataclasses import dataclass
from datetime import date
from typing import Dict, Iterable, Optional

from dagster import DagsterInstance, PartitionSetDefinition

from flights_etl.contract.fingerprints import LandedFile, LandingHashes, day_digest
from flights_etl.contract.paths import default_landing_dir
from flights_etl.warehouse import Warehouse, default_location, open_warehouse

CURRENT, CHANGED, LANDED, FILES_GONE, MISSING = "SUCCESS", "CHANGED", "LANDED", "FILES_GONE", "MISSING"


@dataclass(frozen=True)
class DayFiles:
    """A day's landing files as they are now (None for a missing one)."""

    files: Dict[str, Optional[LandedFile]]

    @property
    def landed(self) -> bool:
        return self.files.get("flights") is not None

    @property
    def digest(self) -> str:
        return day_digest(self.files)

    @property
    def newest_mtime_s(self) -> float:
        return max((found.mtime_ns for found in self.files.values() if found), default=0) / 1e9


def hash_cache_path(instance: DagsterInstance) -> str:
    """Where the landing hashes are remembered between looks: beside the instance's own storage."""
    return os.path.join(instance.root_directory, "flights_etl", "landing_hashes.json")


def landing_now(instance: DagsterInstance, days: Iterable[date], landing_dir: Optional[str] = None) -> Dict[str, DayFiles]:
    """Every day's landing files now, by partition name."""
    looked = LandingHashes(hash_cache_path(instance)).days(landing_dir or default_landing_dir(), days)
    return {day.isoformat(): DayFiles(files) for day, files in looked.items()}


def day_status(run_status: Optional[str], files: DayFiles, loaded: bool, source: Optional[str]) -> str:
    """One day's status (see the module's docstring) from its latest run's status (None: no run),
    its files now and its load (``loaded``; ``source``: the digest the load recorded)."""
    if run_status not in (None, CURRENT):
        return run_status
    if loaded:
        if not files.landed:
            return FILES_GONE
        return CURRENT if source == files.digest else CHANGED
    if files.landed:
        return LANDED
    return MISSING if run_status is None else FILES_GONE


def day_statuses(
    instance: DagsterInstance, partition_set: PartitionSetDefinition, latest: Dict[str, object],
    warehouse: Optional[Warehouse] = None, landing_dir: Optional[str] = None,
) -> Dict[str, str]:
    """``day_status`` of every day of a daily partition set; ``latest``: its latest runs by partition."""
    names = partition_set.get_partition_names()
    files = landing_now(instance, [date.fromisoformat(name) for name in names], landing_dir)
    sources = (warehouse or open_warehouse(default_location())).last_sources()
    return {
        name: day_status(latest[name].status.value if name in latest else None, files[name], name in sources,
                         sources.get(name))
        for name in names
    }
