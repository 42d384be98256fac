"""``flights-dagit``: the stock ``dagit`` command, serving its websocket with ``wsproto``.

Why: dagit 0.15.10 calls ``uvicorn.run(app, host=, port=, log_level=)`` without ``ws=``, so
uvicorn picks the ``websockets`` library. On Python 3.11 the subscription handshake then
answers with the subprotocol ``GraphQLWS.PROTOCOL`` (dagit's ``(str, Enum)`` rendered by an
f-string) instead of ``graphql-ws``; the browser drops the socket and live run logs never
arrive. ``wsproto`` takes the subprotocol as given. Same flags as ``dagit``.
"""
import functools

import uvicorn

WEBSOCKET_IMPLEMENTATION = "wsproto"


def use_wsproto() -> None:
    """Make every later ``uvicorn.run`` call serve websockets with wsproto (idempotent)."""
    if not isinstance(uvicorn.run, functools.partial):
        uvicorn.run = functools.partial(uvicorn.run, ws=WEBSOCKET_IMPLEMENTATION)


def main() -> None:
    use_wsproto()
    from dagit.cli import main as dagit_main  # looks up uvicorn.run when it serves

    dagit_main()


if __name__ == "__main__":
    main()
