"""One object's SQLite database: a file in Miniflare's layout, or memory.

`<persist>/v3/do/<worker>-<Class>/<object id>.sqlite`, in WAL mode with synchronous=NORMAL and
one transaction per storage call, so a call that returned is on disk in the WAL before the caller
sees its result: a killed process loses nothing it acknowledged (the queue store's guarantee).
Files open on first use; the pool keeps at most `MAX_OPEN` open and closes the least recently used.

The connection has the limits of the edge's SQLite (`sqlguard.SQL_LIMITS`, as D1) and a time limit
per `sql.exec()` (30 s, the documented CPU time of a request; `PYFLARE_DO_TIME_LIMIT` seconds if
set), and Ctrl-C/SIGTERM stop a running statement (`sqlguard.interrupt_queries`). A state file that
is damaged, read-only or deleted while in use is a `DurableObjectError` of one line naming it,
logged once.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw

from ..sqlguard import SQL_LIMITS, QueryTimer, seconds_from_env
from ..sqlvalues import int_value
from ..state import FileGuard, StateError, open_error
from .errors import DurableObjectError

__all__ = ["TIME_LIMIT", "DatabasePool", "ObjectDatabase"]

log = logging.getLogger("miniflare_py")

#: Seconds a `sql.exec()` may run: the default CPU time of a Durable Object request.
TIME_LIMIT = 30.0

MAX_OPEN = 256
KV_TABLE = "_cf_KV"

_FORBIDDEN_OPS = {
    apsw.SQLITE_TRANSACTION,
    apsw.SQLITE_SAVEPOINT,
    apsw.SQLITE_ATTACH,
    apsw.SQLITE_DETACH,
}


class ObjectDatabase:
    """The SQLite database behind one object's `ctx.storage`."""

    def __init__(self, path: Path | None, pool: DatabasePool | None = None) -> None:
        self.path = path
        self._pool = pool
        self._conn: apsw.Connection | None = None
        self.tx_depth = 0
        self.user_sql = False  # the authorizer checks user statements only
        self.denied: str | None = None
        self.last_columns: list[str] = []
        # Stops a user statement after the time limit, or when the process is stopping.
        self.timer = QueryTimer(seconds_from_env("PYFLARE_DO_TIME_LIMIT", TIME_LIMIT))
        self.timer.idle()
        self._guard: FileGuard | None = None
        self._fault_logged = False

    @property
    def conn(self) -> apsw.Connection:
        conn = self._conn
        if conn is None:
            conn = self._open()
        elif self._pool is not None:
            self._pool.touch(self)
        return conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def has_data(self) -> bool:
        """Whether there can be anything to read: reads of an object that never wrote answer
        empty without creating its file."""
        if self._conn is not None or self.path is None:
            return True
        return self.path.exists()

    def _open(self) -> apsw.Connection:
        if self.path is None:
            conn = apsw.Connection(":memory:")
            self._create(conn)
        else:
            conn = self._open_file(self.path)
        conn.config(apsw.SQLITE_DBCONFIG_DEFENSIVE, 1)
        for limit, value in SQL_LIMITS.items():
            conn.limit(limit, value)
        self.timer.install(conn)
        conn.authorizer = self._authorize
        self._conn = conn
        if self._pool is not None:
            self._pool.opened(self)
        return conn

    def _create(self, conn: apsw.Connection) -> None:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {KV_TABLE} (key TEXT PRIMARY KEY, value BLOB)"
            " WITHOUT ROWID"
        )

    def _open_file(self, path: Path) -> apsw.Connection:
        conn: apsw.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = apsw.Connection(str(path))
            conn.set_busy_timeout(5000)
            # A new file is set up without syncing (an empty object lost to a crash is simply
            # created again); user data is written under NORMAL in WAL, as the queue store is.
            # Reading the mode also checks that the file is an SQLite database at all.
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            if conn.readonly("main"):
                raise apsw.ReadOnlyError("the file is read-only")
            # Closing (the pool closes idle files) leaves the WAL for the next open to use
            # instead of checkpointing with an fsync; a process kill is covered either way.
            conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
            self._create(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            self._guard = FileGuard(path, "The Durable Object storage file")
        except (apsw.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            what = "Cannot open the Durable Object storage file"
            raise self._fault(open_error(what, path, exc)) from None
        return conn

    def _fault(self, error: StateError) -> DurableObjectError:
        """`error` as the worker sees it, logged the first time (a worker may swallow it)."""
        if not self._fault_logged:
            self._fault_logged = True
            log.error("%s", error)
        return DurableObjectError(str(error))

    @contextlib.contextmanager
    def writing(self) -> Iterator[apsw.Connection]:
        """The connection, for a write: the file is checked first (writes to a deleted file
        would be lost without a word), and a storage fault becomes one line naming the file."""
        conn = self.conn
        if self._guard is not None:
            try:
                self._guard.check()  # logs the deletion once itself
            except StateError as exc:
                self._fault_logged = True
                raise DurableObjectError(str(exc)) from None
        try:
            yield conn
        except (apsw.ReadOnlyError, apsw.IOError, apsw.FullError, apsw.CorruptError) as exc:
            if self.path is None:
                raise
            what = "Cannot write the Durable Object storage file"
            raise self._fault(open_error(what, self.path, exc)) from None

    def _authorize(
        self, op: int, p1: str | None, p2: str | None, db: str | None, trig: str | None
    ) -> int:
        if not self.user_sql:
            return apsw.SQLITE_OK
        if op in _FORBIDDEN_OPS:
            self.denied = (
                "transaction" if op in (apsw.SQLITE_TRANSACTION, apsw.SQLITE_SAVEPOINT) else None
            )
            return apsw.SQLITE_DENY
        for name in (p1, p2):
            if name and name.lower().startswith("_cf_") and op != apsw.SQLITE_FUNCTION:
                if op in (apsw.SQLITE_READ, apsw.SQLITE_UPDATE) and p2:
                    self.denied = f"access to {p1}.{p2} is prohibited"
                else:
                    self.denied = f"access to {name} is prohibited"
                return apsw.SQLITE_DENY
        return apsw.SQLITE_OK

    def savepoint(self) -> Callable[[bool], None]:
        """Start a (nested) transaction; call the result with True to commit, False to roll back."""
        depth = self.tx_depth
        name = f"_cf_tx{depth}"
        self.conn.execute(f"SAVEPOINT {name}")
        self.tx_depth += 1

        def finish(commit: bool) -> None:
            self.tx_depth = depth
            if self._conn is None:
                return
            if not commit:
                self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")

        return finish

    def size(self) -> int:
        page_count = int_value(self.conn.execute("PRAGMA page_count").fetchall()[0][0])
        page_size = int_value(self.conn.execute("PRAGMA page_size").fetchall()[0][0])
        return page_count * page_size

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._pool is not None:
                self._pool.closed(self)
            conn.close()

    def execute(self, sql: str, binds: Any = None) -> apsw.Cursor:
        return self.conn.execute(sql, binds)


class DatabasePool:
    """Keeps the number of open object files bounded (least recently used closes first);
    a database in a transaction is never closed."""

    def __init__(self, limit: int = MAX_OPEN) -> None:
        self.limit = limit
        self._open: collections.OrderedDict[int, ObjectDatabase] = collections.OrderedDict()

    def opened(self, db: ObjectDatabase) -> None:
        self._open[id(db)] = db
        while len(self._open) > self.limit:
            for key, oldest in self._open.items():
                if oldest.tx_depth == 0 and oldest is not db:
                    del self._open[key]
                    oldest.close()
                    break
            else:
                break

    def touch(self, db: ObjectDatabase) -> None:
        key = id(db)
        if key in self._open:
            self._open.move_to_end(key)

    def closed(self, db: ObjectDatabase) -> None:
        self._open.pop(id(db), None)
