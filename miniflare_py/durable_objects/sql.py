"""`ctx.storage.sql`: SQL on the object's own SQLite database, as workerd offers it.

`exec(sql, *binds)` runs at once and returns a cursor over its rows: iterate it for dict rows,
`toArray()`, `one()`, `raw()` for lists, `columnNames`, `rowsRead`, `rowsWritten`. Transactions go
through `storage.transaction()` / `transactionSync()`; names starting `_cf_` are the runtime's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apsw

from .database import ObjectDatabase
from .errors import SqlStorageError

__all__ = ["SqlStorage", "SqlStorageCursor"]

#: A statement stopped after the time limit, and one stopped because the server is stopping:
#: the documented errors of a Durable Object reset for those reasons.
TIME_LIMIT_MESSAGE = (
    "Durable Object storage operation exceeded timeout which caused object to be reset."
)
STOPPED_MESSAGE = "Durable Object reset because its code was updated."
_TRANSACTION_MESSAGE = (
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT "
    "statements. The JavaScript API is safer because it will automatically roll back on "
    "exceptions, and because it interacts correctly with Durable Objects' automatic atomic "
    "write coalescing."
)


def _code_name(exc: apsw.Error) -> str:
    name = type(exc).__name__.removesuffix("Error").upper()
    return {"SQL": "ERROR", "AUTH": "AUTH", "CONSTRAINT": "CONSTRAINT"}.get(name, name)


def _bind_value(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"Unsupported SQL binding type: {type(value).__name__}")


class SqlStorageCursor:
    """The rows of one `sql.exec()`; each row is read once (iterate, `toArray()` or `one()`)."""

    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]], written: int) -> None:
        self.columnNames = columns
        self._rows = rows
        self._next = 0
        self.rowsRead = len(rows) + written
        self.rowsWritten = written

    column_names = property(lambda self: self.columnNames)
    rows_read = property(lambda self: self.rowsRead)
    rows_written = property(lambda self: self.rowsWritten)

    def _take(self) -> list[tuple[Any, ...]]:
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        columns = self.columnNames
        while self._next < len(self._rows):
            row = self._rows[self._next]
            self._next += 1
            yield dict(zip(columns, row, strict=True))

    def next(self) -> dict[str, Any]:
        """`{"done": False, "value": row}` or `{"done": True}`, as a JS iterator answers."""
        if self._next < len(self._rows):
            row = self._rows[self._next]
            self._next += 1
            return {"done": False, "value": dict(zip(self.columnNames, row, strict=True))}
        return {"done": True}

    def toArray(self) -> list[dict[str, Any]]:
        columns = self.columnNames
        return [dict(zip(columns, row, strict=True)) for row in self._take()]

    to_array = toArray

    def one(self) -> dict[str, Any]:
        rows = self._take()
        if not rows:
            raise SqlStorageError("Expected exactly one result from SQL query, but got no results.")
        if len(rows) > 1:
            raise SqlStorageError(
                "Expected exactly one result from SQL query, but got multiple results."
            )
        return dict(zip(self.columnNames, rows[0], strict=True))

    def raw(self) -> Iterator[list[Any]]:
        """The remaining rows as lists of values, in column order."""
        return iter([list(row) for row in self._take()])


class SqlStorage:
    """`ctx.storage.sql` of one object."""

    def __init__(self, db: ObjectDatabase) -> None:
        self._db = db

    def exec(self, query: str, *bindings: Any) -> SqlStorageCursor:
        db = self._db
        with db.writing() as conn:
            return self._exec(db, conn, query, bindings)

    def _exec(
        self, db: ObjectDatabase, conn: apsw.Connection, query: str, bindings: tuple[Any, ...]
    ) -> SqlStorageCursor:
        columns: list[str] = []

        def trace(cursor: apsw.Cursor, _sql: str, _binds: Any) -> bool:
            nonlocal columns
            columns = [d[0] for d in cursor.description]
            return True

        cursor = conn.cursor()
        cursor.exec_trace = trace
        before = conn.total_changes()
        db.user_sql = True
        db.denied = None
        timer = db.timer
        timer.start()
        try:
            rows = list(cursor.execute(query, [_bind_value(b) for b in bindings]))
        except apsw.InterruptError as exc:
            raise SqlStorageError(STOPPED_MESSAGE if timer.stopped else TIME_LIMIT_MESSAGE) from exc
        except apsw.BindingsError as exc:
            raise SqlStorageError("Wrong number of parameter bindings for SQL query.") from exc
        except apsw.AuthError as exc:
            denied = db.denied
            if denied == "transaction":
                raise SqlStorageError(_TRANSACTION_MESSAGE) from exc
            raise SqlStorageError(f"{denied or exc}: SQLITE_AUTH") from exc
        except apsw.Error as exc:
            message = str(exc)
            offset = getattr(exc, "error_offset", -1)
            where = f" at offset {offset}" if isinstance(offset, int) and offset >= 0 else ""
            raise SqlStorageError(f"{message}{where}: SQLITE_{_code_name(exc)}") from exc
        finally:
            timer.idle()
            db.user_sql = False
        return SqlStorageCursor(columns, rows, conn.total_changes() - before)

    @property
    def databaseSize(self) -> int:
        """The size of the object's database in bytes."""
        return self._db.size()

    database_size = databaseSize
