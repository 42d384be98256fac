"""``flights-dagit``: the stock ``dagit`` command, serving its websocket with ``wsproto``.

Why: dagit 0.15.10 calls ``uvicorn.run(app, host=, port=, log_level=)`` without ``ws=``, so
uvicorn picks the ``websockets`` library. On Python 3.11 the subscription handshake then
answers with the subprotocol ``GraphQLWS.PROTOCOL`` (dagit's ``(str, Enum)`` rendered by an
f-string) instead of ``graphql-ws``; the browser drops the socket and live run logs never
arrive. ``wsproto`` takes the subprotocol as given. Same flags as ``dagit``.

It also serves Dagit's page with the fixes of ``page_patches`` (the run matrix's loaded window).
"""
import functools

import uvicorn

WEBSOCKET_IMPLEMENTATION = "wsproto"


def use_wsproto() -> None:
    """Make every later ``uvicorn.run`` call serve websockets with wsproto (idempotent)."""
    if not isinstance(uvicorn.run, functools.partial):
        uvicorn.run = functools.partial(uvicorn.run, ws=WEBSOCKET_IMPLEMENTATION)


def serve_patched_pages() -> None:
    """Make every later ``uvicorn.run(app, ...)`` serve ``app`` behind ``PatchedPages`` (idempotent)."""
    run = uvicorn.run
    if getattr(run, "serves_patched_pages", False):
        return

    def run_patched(app, *args, **kwargs):
        from flights_etl.dagit_tools.page_patches import PagePatchError, PatchedPages

        try:
            patched = PatchedPages(app)
        except PagePatchError as error:
            raise SystemExit(f"flights-dagit: {error}") from None
        return run(patched, *args, **kwargs)

    run_patched.serves_patched_pages = True
    uvicorn.run = run_patched


def main() -> None:
    use_wsproto()
    serve_patched_pages()
    from dagit.cli import main as dagit_main  # looks up uvicorn.run when it serves

    dagit_main()


if __name__ == "__main__":
    main()
