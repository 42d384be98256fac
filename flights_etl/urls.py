"""URLs that may carry a password (the warehouse's, the broker's): their scheme, and how to print them.

Whatever a URL looks like, what is printed of it never holds its password: a URL that does not
parse cleanly (a password with an unescaped ``/``, ``?`` or ``#`` moves part of it into the
path) is printed as its scheme only.
"""
import re
from typing import Optional
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def url_scheme(text: str) -> Optional[str]:
    """The scheme of ``text`` in lower case if it is written ``scheme://...``, ``""`` if it has a ``://``
    after something that is no scheme, None if it has no ``://`` (a file path)."""
    head, separator, _rest = text.partition("://")
    if not separator:
        return None
    return head.lower() if _SCHEME.fullmatch(head) else ""


def masked(url: str) -> str:
    """The URL without its password (nor query or fragment, which may hold one): ``scheme://user@host:port/path``."""
    scheme = url_scheme(url)
    if not scheme:
        return "(unparseable URL)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{scheme}://(unparseable URL)"
    if "@" in parts.path + parts.query + parts.fragment:  # an '@' after the host: part of the password moved
        return f"{scheme}://(unparseable URL)"
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if parts.username:
        netloc = f"{unquote(parts.username)}@{netloc}"
    return f"{scheme}://{netloc}{parts.path}"
