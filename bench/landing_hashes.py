"""How long reading a year of landing hashes takes: every file hashed (no cache: the first look),
then again with the cache (nothing changed: only a stat per file), then after one file changed.

    .venv/bin/python bench/landing_hashes.py [REPEATS]

Lands the packaged year (2013) into a temp directory and prints the median of REPEATS (default 5)
for each case.
"""
import os
import statistics
import sys
import tempfile
import time
from datetime import date

from flights_etl.contract.fingerprints import LandingHashes
from flights_etl.dates import days_between
from flights_etl.upstream.land import land_days

FIRST, LAST = date(2013, 1, 1), date(2013, 12, 31)


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main(repeats: int) -> None:
    days = list(days_between(FIRST, LAST))
    with tempfile.TemporaryDirectory() as directory:
        landing, cache = os.path.join(directory, "landing"), os.path.join(directory, "hashes.json")
        land_days(landing, FIRST, LAST)
        files = sum(len(names) for _root, _dirs, names in os.walk(landing))
        megabytes = sum(os.path.getsize(os.path.join(root, name)) for root, _dirs, names in os.walk(landing)
                        for name in names) / 1e6
        print(f"{len(days)} days, {files} files, {megabytes:.1f} MB")
        cold, warm, one = [], [], []
        changed = os.path.join(landing, "flights", "2013-06-15.csv")
        for _ in range(repeats):
            if os.path.exists(cache):
                os.unlink(cache)
            cold.append(_timed(lambda: LandingHashes(cache).days(landing, days)))
            warm.append(_timed(lambda: LandingHashes(cache).days(landing, days)))
            os.utime(changed)  # a new mtime: that file alone is hashed again
            one.append(_timed(lambda: LandingHashes(cache).days(landing, days)))
        for label, times in (("no cache (every file hashed)", cold), ("cache, nothing changed", warm),
                             ("cache, one file changed", one)):
            print(f"{label:32s} median {statistics.median(times) * 1000:8.1f} ms  (of {repeats})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
