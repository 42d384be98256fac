"""The error of a landing file that breaks the contract: its own module, so that what only names it
(the solids, the landing resource) does not import the validator and with it pandas and Arrow."""
from typing import Optional


class LandingFileError(ValueError):
    """A landing file that cannot be loaded; ``str()`` is the message shown to the user."""

    def __init__(self, path: str, problem: str, line: Optional[int] = None, column: Optional[str] = None):
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column
        where = path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
