"""Running an SQL script (a `--file`, a `--command`, a migration) so that a failure says where.

`wrangler d1 execute` reports `near "limit": syntax error at offset 205`, an offset inside a
statement it does not name. Here every statement keeps its number and the line it starts on in
the script, and a failure raises `ScriptError` naming both (the line of SQLite's offset, when it
gives one). The script still runs as one batch: all of it applies, or none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..workers.jsdict import JsDict
from .database import D1Database
from .errors import D1Error
from .splitter import split_file

__all__ = ["ScriptError", "Statement", "read_script", "run_script", "script_statements"]

_OFFSET = re.compile(r" at offset (\d+)")
# How often a long script reports progress (in statements): cheap enough to not be seen.
PROGRESS_EVERY = 500


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its SQL, 1-based number and the line it starts on."""

    sql: str
    number: int
    line: int | None


class ScriptError(D1Error):
    """A statement of a script failed; nothing of the script was applied.

    `error` is D1's error; `statement` the failing `Statement`; `line` the line of the script it
    failed at (SQLite's offset taken into account); `source` names the script (a file path, or
    None for a `--command`).
    """

    def __init__(
        self,
        error: D1Error,
        statement: Statement,
        line: int | None,
        source: str | None,
        multiline: bool = True,
    ) -> None:
        self.error = error
        self.statement = statement
        self.line = line
        self.source = source
        self.multiline = multiline  # a line number only helps in a script of several lines
        super().__init__(f"{error.message} ({self.where})")

    @property
    def where(self) -> str:
        """`at seed.sql:12, statement 3`, or `in statement 3 of the command` for a command."""
        if self.source is not None:
            at = f"at {self.source}:{self.line}" if self.line is not None else f"in {self.source}"
            return f"{at}, statement {self.statement.number}"
        line = f", line {self.line}" if self.line is not None and self.multiline else ""
        return f"in statement {self.statement.number}{line} of the command"


def script_statements(text: str) -> list[Statement]:
    """The statements of `text` as `wrangler d1 execute` splits them, with where each starts."""
    statements = split_file(text)
    result = []
    position = 0
    line = 1
    for number, sql in enumerate(statements, 1):
        found = text.find(sql, position)
        if found < 0:  # reshaped by the split (a dropped BEGIN TRANSACTION inside it)
            result.append(Statement(sql, number, None))
            continue
        line += text.count("\n", position, found)
        result.append(Statement(sql, number, line))
        line += sql.count("\n")
        position = found + len(sql)
    return result


def read_script(path: str) -> str:
    """The text of an SQL file; `D1Error` with wrangler's words when it is not one."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise D1Error(
            f'Unable to read SQL text file "{path}". Please check the file path and try again.'
        ) from None
    if data.startswith(b"SQLite format 3\x00"):
        raise D1Error(
            "Provided file is a binary SQLite database file instead of an SQL text file. The "
            "execute command can only process SQL text files. Please export an SQL file from "
            "your SQLite database and try again."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise D1Error(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None


def _failure_line(statement: Statement, error: D1Error) -> int | None:
    if statement.line is None:
        return None
    match = _OFFSET.search(error.message)
    if match is None:
        return statement.line
    offset = int(match.group(1))  # SQLite counts bytes of UTF-8
    return statement.line + statement.sql.encode("utf-8")[:offset].count(b"\n")


def run_script(
    db: D1Database,
    statements: Sequence[Statement],
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[JsDict]:
    """Run `statements` in one transaction, as `D1Database.batch()` does; their results.

    Raises `ScriptError` naming the statement (and line) that failed, after rolling back.
    `progress(done)` is called every `PROGRESS_EVERY` statements and at the end.
    """
    engine = db._engine
    if not statements:
        raise D1Error("D1_ERROR: No SQL statements detected.")
    outer = engine.in_txn
    if not outer:
        engine.begin()
    results: list[JsDict] = []
    query = engine.query
    statement = statements[0]
    try:
        # The loop `D1Database.batch()` runs, keeping the index so a failure can name it.
        for done, statement in enumerate(statements, 1):
            results.append(query(statement.sql, (), False))
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done)
    except D1Error as exc:
        if not outer:
            engine.rollback()
        multiline = statements[-1].line != 1 or "\n" in statements[-1].sql
        line = _failure_line(statement, exc)
        raise ScriptError(exc, statement, line, source, multiline) from None
    except BaseException:
        if not outer:
            engine.rollback()
        raise
    if not outer:
        engine.commit()
    if progress is not None:
        progress(len(statements))
    # As batch(): one size for the whole script, measured once after it.
    size_before = engine.size
    size = engine.size = engine._measure_size()
    for result in results:
        meta = result["meta"]
        meta["size_after"] = size
        if size != size_before:
            meta["changed_db"] = True
    return results
