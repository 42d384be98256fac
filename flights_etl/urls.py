"""URLs that may carry a password (the warehouse's, the broker's): their scheme, and how to print them.

Whatever a URL looks like, what is printed of it never holds its password: a URL that does not
parse cleanly (a password with an unescaped ``/``, ``?`` or ``#`` moves part of it into the
path) is printed as its scheme only.
"""
import re
from typing import List, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

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


def secrets_of(url: str) -> List[str]:
    """Every spelling of a secret the URL holds, longest first, to scrub from a driver's messages:
    the password as written and decoded (libpq echoes a badly encoded one verbatim), and the values
    of query parameters such as ``password``/``sslpassword``."""
    found = set()
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo = netloc.rsplit("@", 1)[0]
            if ":" in userinfo:
                raw = userinfo.split(":", 1)[1]
                found.update({raw, unquote(raw)})
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if "pass" in key.lower() or "secret" in key.lower() or "token" in key.lower():
                found.add(value)
        for piece in parts.query.split("&"):  # as written, before decoding
            key, _, value = piece.partition("=")
            if value and ("pass" in key.lower() or "secret" in key.lower() or "token" in key.lower()):
                found.add(value)
    except ValueError:
        pass
    return sorted((secret for secret in found if secret), key=len, reverse=True)


def scrubbed(text: str, url: str) -> str:
    """``text`` with every secret of ``url`` replaced by ``***``."""
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return text
