"""``flights-dagit``: the stock ``dagit`` command, serving its websocket with ``wsproto``.

Why: dagit 0.15.10 calls ``uvicorn.run(app, host=, port=, log_level=)`` without ``ws=``, so
uvicorn picks the ``websockets`` library. On Python 3.11 the subscription handshake then
answers with the subprotocol ``GraphQLWS.PROTOCOL`` (dagit's ``(str, Enum)`` rendered by an
f-string) instead of ``graphql-ws``; the browser drops the socket and live run logs never
arrive. ``wsproto`` takes the subprotocol as given. Same flags as ``dagit``.

It also serves Dagit's page with the fixes of ``page_patches`` (the run matrix's loaded window),
and answers ``GET /flights-dagit/identity`` with its pid and workspace files, so that ``make dagit``
can tell its own Dagit from another one already answering on the port. SIGTERM ends it as Ctrl-C
does (Dagit 0.15 leaves SIGTERM to its default action, which skips Dagit's clean-up), and ends the
code servers Dagit started.
"""
import functools
import json
import os
import signal
import sys
from typing import List

import uvicorn

from flights_etl.runs.process import children

WEBSOCKET_IMPLEMENTATION = "wsproto"


def use_wsproto() -> None:
    """Make every later ``uvicorn.run`` call serve websockets with wsproto (idempotent)."""
    if not isinstance(uvicorn.run, functools.partial):
        uvicorn.run = functools.partial(uvicorn.run, ws=WEBSOCKET_IMPLEMENTATION)


IDENTITY_PATH = "/flights-dagit/identity"


def workspace_files(argv: List[str]) -> List[str]:
    """The real paths of the ``-w/--workspace`` files in Dagit's arguments (Dagit's default:
    ./workspace.yaml)."""
    found = []
    for index, arg in enumerate(argv):
        if arg in ("-w", "--workspace") and index + 1 < len(argv):
            found.append(argv[index + 1])
        elif arg.startswith("--workspace="):
            found.append(arg.split("=", 1)[1])
    return [os.path.realpath(path) for path in found or ["workspace.yaml"]]


class Identity:
    """ASGI app: ``GET /flights-dagit/identity`` -> {"pid", "workspace"}; all else goes to ``app``."""

    def __init__(self, app, workspace: List[str]):
        self.app = app
        self.body = json.dumps({"pid": os.getpid(), "workspace": workspace}).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].endswith(IDENTITY_PATH):
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]})
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)


def serve_patched_pages() -> None:
    """Make every later ``uvicorn.run(app, ...)`` serve ``app`` behind ``PatchedPages`` and ``Identity``
    (idempotent)."""
    run = uvicorn.run
    if getattr(run, "serves_patched_pages", False):
        return

    def run_patched(app, *args, **kwargs):
        from flights_etl.dagit_tools.page_patches import PagePatchError, PatchedPages

        try:
            patched = PatchedPages(app)
        except PagePatchError as error:
            raise SystemExit(f"flights-dagit: {error}") from None
        return run(Identity(patched, workspace_files(sys.argv[1:])), *args, **kwargs)

    run_patched.serves_patched_pages = True
    uvicorn.run = run_patched


def main() -> None:
    from flights_etl.dagit_tools.graphql_ids import keep_backfill_partition_ids_apart

    use_wsproto()
    serve_patched_pages()
    keep_backfill_partition_ids_apart()  # a submitted backfill's days keep their status on the Partitions tab
    from dagit.cli import main as dagit_main  # looks up uvicorn.run when it serves

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    before = set(children(os.getpid()))  # what this process had before Dagit (a shell's `cmd & exec flights-dagit`)
    try:
        dagit_main()
    finally:
        # Dagit's code servers: stopped by SIGTERM, Dagit 0.15 leaves them to their 45 s heartbeat.
        for pid in set(children(os.getpid())) - before:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    main()
