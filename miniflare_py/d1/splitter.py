"""Splitting SQL text into statements, respecting quotes, comments and trigger bodies."""

from __future__ import annotations

import apsw

__all__ = ["is_blank", "split_file", "split_statements", "without_comments"]


def _complete(sql: str) -> bool:
    """`apsw.complete`, which refuses text with a NUL (running such SQL reports the NUL)."""
    return apsw.complete(sql.replace("\x00", " ") if "\x00" in sql else sql)


_COMMENT_STARTS = ("--", "/*")


def _after_comment(sql: str, i: int) -> int:
    """Index just after the comment that starts at `i` (a `--` one ends with its line)."""
    if sql[i] == "-":
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end + 1
    end = sql.find("*/", i + 2)
    return len(sql) if end < 0 else end + 2


def _after_quoted(sql: str, i: int) -> int:
    """Index just after the quoted string or name that starts at `i` ('...', "...", `...`
    or [...]; a doubled quote inside one of the first three is part of it)."""
    close = "]" if sql[i] == "[" else sql[i]
    n = len(sql)
    i += 1
    while i < n:
        if sql[i] == close:
            if close != "]" and i + 1 < n and sql[i + 1] == close:
                i += 2
                continue
            break
        i += 1
    return i + 1


def _skip_blank(sql: str, i: int) -> int:
    """Index of the first character at or after `i` that is not whitespace or a comment."""
    n = len(sql)
    while i < n:
        if sql[i].isspace():
            i += 1
        elif sql.startswith(_COMMENT_STARTS, i):
            i = _after_comment(sql, i)
        else:
            break
    return i


def is_blank(sql: str) -> bool:
    """True when `sql` holds only whitespace, comments and semicolons."""
    i = 0
    n = len(sql)
    while True:
        i = _skip_blank(sql, i)
        if i < n and sql[i] == ";":
            i += 1
            continue
        return i >= n


def split_statements(sql: str) -> tuple[list[str], str]:
    """Split `sql` after each statement's semicolon.

    Returns ``(pieces, rest)``: each piece ends with the ``;`` that closes a complete statement
    (a trigger body's inner semicolons do not end it), `rest` is what follows the last one.
    """
    pieces: list[str] = []
    start = 0
    i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`[":
            i = _after_quoted(sql, i)
        elif ch in "-/" and sql.startswith(_COMMENT_STARTS, i):
            i = _after_comment(sql, i)
        elif ch == ";":
            i += 1
            if _complete(sql[start:i]) or is_blank(sql[start:i]):
                pieces.append(sql[start:i])
                start = i
        else:
            i += 1
    return pieces, sql[start:]


def without_comments(sql: str) -> str:
    """`sql` with each comment replaced by a space (quoted text is kept as it is)."""
    if "--" not in sql and "/*" not in sql:
        return sql
    out: list[str] = []
    start = 0
    i = 0
    n = len(sql)
    while i < n:
        if sql[i] in "'\"`[":
            i = _after_quoted(sql, i)
        elif sql.startswith(_COMMENT_STARTS, i):
            out.append(sql[start:i])
            out.append(" ")
            i = start = _after_comment(sql, i)
        else:
            i += 1
    out.append(sql[start:])
    return "".join(out)


def split_file(sql: str) -> list[str]:
    """Statements of an SQL file or ``--command``, as ``wrangler d1 execute`` splits them.

    Like wrangler, the ``BEGIN TRANSACTION;`` / ``COMMIT;`` that ``sqlite3 .dump`` writes are
    dropped (D1 runs the whole file in one transaction) and blank pieces are skipped.
    """
    if "BEGIN TRANSACTION" in sql:
        sql = sql.replace("BEGIN TRANSACTION;", "", 1).replace("COMMIT;", "", 1)
    pieces, rest = split_statements(sql)
    statements = [piece.strip() for piece in pieces if not is_blank(piece)]
    if not is_blank(rest):
        statements.append(rest.strip())
    return statements
