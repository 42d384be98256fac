"""Landing hashes are cached by what the file system says of a file; any rewrite is seen, even one
that puts the size and the modification time back (its ctime cannot be put back)."""
import hashlib
import os

from flights_etl.contract.fingerprints import LandingHashes


def test_an_in_place_edit_that_restores_size_and_mtime_is_still_seen(tmp_path):
    path = tmp_path / "flights" / "2013-01-02.csv"
    path.parent.mkdir()
    path.write_bytes(b"year,month\n2013,1\n")
    cache = str(tmp_path / "hashes.json")
    first = LandingHashes(cache)
    assert first.look("flights", str(path)).sha256 == hashlib.sha256(b"year,month\n2013,1\n").hexdigest()
    first.save()
    before = os.stat(path)
    with open(path, "r+b") as handle:  # one byte changed in place, size kept
        handle.seek(len(b"year,month\n2013,"))
        handle.write(b"2")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the mtime put back
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns and os.stat(path).st_size == before.st_size
    again = LandingHashes(cache)
    assert again.look("flights", str(path)).sha256 == hashlib.sha256(b"year,month\n2013,2\n").hexdigest()
    assert again.hashed == 1


def test_an_unchanged_file_is_not_hashed_again(tmp_path):
    path = tmp_path / "weather.csv"
    path.write_bytes(b"a,b\n1,2\n")
    cache = str(tmp_path / "hashes.json")
    first = LandingHashes(cache)
    first.look("weather", str(path))
    first.save()
    again = LandingHashes(cache)
    again.look("weather", str(path))
    assert again.hashed == 0
