"""What is in the landing directory now: each day file's size, mtime and SHA-256, hashed only when it changed.

Hashing a year of landing files on every ``flights-etl status`` or sensor tick would read ~30 MB each
time; a file whose size, mtime (nanoseconds), inode and ctime are those of the last look keeps the hash it
had (a file landed by rename gets a new inode; an in-place edit that puts size and mtime back still
changes the ctime, which cannot be set back)
(``bench/landing_hashes.py`` measures both). The hashes are kept in one JSON file (``cache_path``,
written atomically); a missing, unreadable or foreign cache only costs a rehash.
"""
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import date
from typing import Dict, Iterable, Optional, Sequence

from flights_etl.contract.paths import landing_file
from flights_etl.contract.schema import DATASETS

CACHE_FORMAT = "flights-etl landing hashes 3"
NOT_A_FILE = "not-a-regular-file"  # the sha256 of a path that exists but is no regular file (a run refuses it)


@dataclass(frozen=True)
class LandedFile:
    dataset: str
    path: str
    size: int
    mtime_ns: int
    sha256: str


def files_digest(sha256s: Sequence[Optional[str]]) -> str:
    """One digest of a day's files (flights, weather in that order; None for a missing file): what a
    load records as its ``source`` and what the landing sensor puts in its run keys."""
    return hashlib.sha256(json.dumps(list(sha256s)).encode()).hexdigest()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LandingHashes:
    """Looks at landing files; remembers (size, mtime_ns, inode, ctime_ns, sha256) per absolute path between looks."""

    def __init__(self, cache_path: Optional[str] = None):
        self.cache_path = cache_path
        self.hashed = 0  # files read and hashed by this object (the rest came from the cache)
        self._known: Dict[str, list] = {}
        self._dirty = False
        if cache_path and os.path.exists(cache_path):
            try:
                with open(cache_path) as handle:
                    document = json.load(handle)
                if document.get("format") == CACHE_FORMAT:
                    self._known = dict(document["files"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self._known = {}  # rebuilt by hashing

    def look(self, dataset: str, path: str) -> Optional[LandedFile]:
        """The file as it is now, or None when there is none."""
        path = os.path.abspath(path)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return LandedFile(dataset, path, info.st_size, info.st_mtime_ns, NOT_A_FILE)
        known = self._known.get(path)
        # ctime too: nobody can set it back, so an in-place edit that restores size and mtime still shows
        seen = [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]
        if known is not None and known[:4] == seen:
            return LandedFile(dataset, path, info.st_size, info.st_mtime_ns, known[4])
        sha256 = file_sha256(path)
        self.hashed += 1
        after = os.lstat(path)
        if [after.st_size, after.st_mtime_ns, after.st_ino, after.st_ctime_ns] == seen:
            self._known[path] = [*seen, sha256]  # not rewritten meanwhile
            self._dirty = True
        return LandedFile(dataset, path, info.st_size, info.st_mtime_ns, sha256)

    def day(self, landing_dir: str, day: date) -> Dict[str, Optional[LandedFile]]:
        """The day's files by dataset (flights, weather), None where missing."""
        return {dataset: self.look(dataset, landing_file(landing_dir, dataset, day)) for dataset in DATASETS}

    def days(self, landing_dir: str, days: Iterable[date]) -> Dict[date, Dict[str, Optional[LandedFile]]]:
        looked = {day: self.day(landing_dir, day) for day in days}
        self.save()
        return looked

    def save(self) -> None:
        if not (self.cache_path and self._dirty):
            return
        try:
            directory = os.path.dirname(os.path.abspath(self.cache_path))
            os.makedirs(directory, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(handle, "w") as out:
                json.dump({"format": CACHE_FORMAT, "files": self._known}, out)
            os.replace(temporary, self.cache_path)
            self._dirty = False
        except OSError:
            pass  # a cache that cannot be written only costs hashing again next time


def day_digest(files: Dict[str, Optional[LandedFile]]) -> str:
    return files_digest([files[dataset].sha256 if files.get(dataset) else None for dataset in DATASETS])

