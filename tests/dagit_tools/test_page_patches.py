"""flights-dagit's patches of Dagit's served JavaScript: they apply to the installed Dagit, once each,
are served in place of the file, and a build without the snippet stops Dagit with a clear error."""
import asyncio
import os

import pytest

from flights_etl.dagit_tools.page_patches import PATCHES, PagePatchError, PatchedPages, dagit_build_dir, patched_files


def test_each_patch_applies_once_to_the_installed_dagit():
    files = patched_files(dagit_build_dir())
    for path, body in files.items():
        with open(os.path.join(dagit_build_dir(), path.lstrip("/"))) as handle:
            expected = handle.read()
        for patch in [p for p in PATCHES if "/" + p.path == path]:
            assert expected.count(patch.old) == 1
            expected = expected.replace(patch.old, patch.new)
        assert body.decode() == expected


def test_a_build_without_the_snippet_is_a_one_line_error(tmp_path):
    patch = PATCHES[0]
    target = tmp_path / patch.path
    target.parent.mkdir(parents=True)
    target.write_text("console.log('another dagit')")
    with pytest.raises(PagePatchError) as error:
        patched_files(str(tmp_path))
    assert str(target) in str(error.value) and "occurs 0 times" in str(error.value)
    assert "\n" not in str(error.value)


def _serve(app, path, method="GET"):
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "method": method, "path": path}, None, send))
    return sent


def test_patched_file_is_served_and_other_paths_reach_dagit():
    passed = []

    async def dagit(scope, _receive, _send):
        passed.append(scope["path"])

    app = PatchedPages(dagit)
    start, body = _serve(app, "/prefix/" + PATCHES[0].path)
    assert start["status"] == 200 and PATCHES[0].new.encode() in body["body"]
    assert _serve(app, "/static/js/main.js") == [] and passed == ["/static/js/main.js"]
