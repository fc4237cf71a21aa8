"""D1's errors, with the exact text D1 (workerd's SQLite layer) gives."""

from __future__ import annotations

import apsw

from ..workers.jsobject import JsException

__all__ = ["D1Error", "MigrationError", "sqlite_message"]

# What workerd's Durable Object SQL layer says when SQL tries to open a transaction.
TRANSACTION_MESSAGE = (
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)
WRONG_BINDINGS = "Wrong number of parameter bindings for SQL query."
NO_STATEMENTS = "No SQL statements detected."
EMPTY_STATEMENT = "SQL code did not contain a statement."
# What D1 answers when a query runs past its 30 s limit: D1 resets the Durable Object that holds
# the database and fails the query with this (developers.cloudflare.com/d1/observability/debug-d1,
# "List of D1_ERRORs"; the D1 team ties it to the 30 s limit on community.cloudflare.com).
TIME_LIMIT_MESSAGE = (
    "D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset."
)
# A query stopped because the local server is shutting down (Ctrl-C, SIGTERM): the object that
# holds the database goes away, which D1 reports with this documented text.
STOPPED_MESSAGE = "D1_ERROR: D1 DB reset because its code was updated."
PARAMS_ONLY_LAST = (
    "When executing multiple SQL statements in a single call, only the last statement can have "
    "parameters."
)

_CODES: dict[int, str] = {
    code: name
    for code, name in apsw.mapping_result_codes.items()
    if isinstance(code, int) and isinstance(name, str)
}
_EXTENDED: dict[int, str] = {
    code: name
    for code, name in apsw.mapping_extended_result_codes.items()
    if isinstance(code, int) and isinstance(name, str)
}


class D1Error(JsException):
    """Every error the D1 binding raises; `str(error)` is D1's exact message. It is a
    `pyodide.ffi.JsException`, as D1's errors are on Cloudflare (the SDK's tests catch them so).

    e.g. ``D1_ERROR: no such table: t: SQLITE_ERROR`` or
    ``D1_TYPE_ERROR: Type 'object' not supported for value '{}'``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class MigrationError(D1Error):
    """A migration file failed to apply; `file` names it and nothing after it was applied."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


def sqlite_message(exc: apsw.Error) -> str:
    """The message workerd builds from an SQLite error (without the ``D1_ERROR: `` prefix).

    ``<sqlite message>[ at offset N]: SQLITE_<CODE>[ (extended: SQLITE_<EXT>)]``
    """
    text = exc.args[0] if exc.args else str(exc)
    offset = getattr(exc, "error_offset", -1)
    if offset is not None and offset >= 0:
        text = f"{text} at offset {offset}"
    code = getattr(exc, "result", None)
    if code is None or code < 0:
        return text
    text = f"{text}: {_CODES.get(code, f'SQLITE_UNKNOWN_ERROR_CODE({code})')}"
    extended = getattr(exc, "extendedresult", code)
    if extended is not None and extended != code and extended in _EXTENDED:
        text = f"{text} (extended: {_EXTENDED[extended]})"
    return text
