"""An error as one line, for messages a user reads (the one home of these helpers)."""
from typing import Optional


def first_line(text: Optional[str], empty: str = "") -> str:
    """The text's first non-blank line, whole (it may name the file, line and column to fix); ``empty`` if none."""
    text = (text or "").strip()
    return text.splitlines()[0] if text else empty


def error_line(error: BaseException, with_class: bool = False) -> str:
    """An exception's first line, prefixed by its class with ``with_class`` (where the class tells
    what failed: ``OperationalError: ...``); the class alone when it has no message."""
    line = first_line(str(error))
    name = type(error).__name__
    if not line:
        return name
    return f"{name}: {line}" if with_class else line
