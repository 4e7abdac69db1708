"""The one error type genolm raises for bad input.

Every message names the file and, where there is one, the record, so that a user who sees it in a rule's
log knows exactly what to fix: `<file>: <record>: <what is wrong and what to do>`. The CLI prints it as one
line, `genolm <command>: error: ...`, and exits with status 2.
"""

from __future__ import annotations


class GenolmInputError(Exception):
    """Bad input: a file that is missing, malformed, truncated, or disagrees with another input."""

    def __init__(self, path: object, message: str, record: object | None = None):
        self.path = str(path)
        self.record = record
        self.reason = message
        where = self.path if record is None else f"{self.path}: {record}"
        super().__init__(f"{where}: {message}")
