"""Fixes to Dagit 0.15.10's served JavaScript, applied as ``flights-dagit`` serves the files.

The installed files stay untouched: an ASGI wrapper answers the request for a patched file with
the patched text, and passes every other request to Dagit. Each patch replaces one exact snippet
of the minified build; if the installed Dagit's file lacks it (another Dagit version), Dagit does
not start, with a one-line error naming the file.

The run matrix (Partitions tab, *Show per-step status*): Dagit loads the runs of the ``pageSize``
partitions that end ``offset`` partitions before the end, but draws a window clamped to the left
edge (``max(visibleCount, N - offset)``). Clicking the status bar near its left end sets an offset
so large that the window drawn reaches past what was loaded: those days stay grey ("never run")
for good. The patch makes the loader load the window the matrix draws (and rounds the offset,
which the click sets to a half-integer for an odd page size).

The run lists: every row showed the tag ``flights/executor``, ~200 characters of JSON that only
``runs.liveness`` reads; the rows leave it out (the run's own page still shows it).
"""
import os
from dataclasses import dataclass
from typing import Dict, List


@dataclass(frozen=True)
class PagePatch:
    path: str  # under dagit/webapp/build
    old: str
    new: str


PATCHES: List[PagePatch] = [
    # usePartitionStepQuery: loadingCursorIdx = N - offset  ->  min(N, max(round(N - offset), pageSize))
    PagePatch(
        path="static/js/956.6a695a33.chunk.js",
        old="p=n.length-(c||0),h=Math.max(0,p-t)",
        new="p=Math.min(n.length,Math.max(Math.round(n.length-(c||0)),t)),h=Math.max(0,p-t)",
    ),
    # RunTable: the rows of the run lists leave out the tag flights/executor (a JSON process identity,
    # for runs.liveness; ~200 characters on every row). The run's page still lists it under its tags.
    PagePatch(
        path="static/js/956.6a695a33.chunk.js",
        old='(he.Q,{tags:n.tags,mode:d?"default"!==n.mode?n.mode:null:n.mode,onAddTag:r})',
        new='(he.Q,{tags:n.tags.filter(function(t){return t.key!=="flights/executor"}),'
            'mode:d?"default"!==n.mode?n.mode:null:n.mode,onAddTag:r})',
    ),
]


class PagePatchError(RuntimeError):
    pass


def dagit_build_dir() -> str:
    import dagit

    return os.path.join(os.path.dirname(dagit.__file__), "webapp", "build")


def patched_files(build_dir: str, patches: List[PagePatch] = PATCHES) -> Dict[str, bytes]:
    """URL path under the app (``/static/...``) -> patched file content."""
    texts: Dict[str, str] = {}
    for patch in patches:
        path = os.path.join(build_dir, patch.path)
        if patch.path not in texts:
            try:
                with open(path, encoding="utf-8") as handle:
                    texts[patch.path] = handle.read()
            except OSError as error:
                raise PagePatchError(f"{path}: cannot patch Dagit's page: {error.strerror}") from None
        found = texts[patch.path].count(patch.old)
        if found != 1:
            raise PagePatchError(
                f"{path}: cannot patch Dagit's page: the snippet {patch.old!r} occurs {found} times, expected once "
                "(flights-dagit's patches are for dagit 0.15.10)"
            )
        texts[patch.path] = texts[patch.path].replace(patch.old, patch.new)
    return {"/" + path: text.encode("utf-8") for path, text in texts.items()}


class PatchedPages:
    """ASGI app: GET/HEAD of a patched file gets the patched text; everything else goes to ``app``."""

    def __init__(self, app, build_dir: str = None):
        self.app = app
        self.files = patched_files(build_dir or dagit_build_dir())

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            # Dagit's --path-prefix puts its routes under a prefix: match the end of the path.
            body = next((content for path, content in self.files.items() if scope["path"].endswith(path)), None)
            if body is not None:
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"application/javascript; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    # a browser that cached Dagit's own copy of this file under the same name revalidates
                    (b"cache-control", b"no-cache"),
                ]})
                await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
                return
        await self.app(scope, receive, send)
