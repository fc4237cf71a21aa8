"""The SQLite connection behind a D1 binding: runs statements and builds D1's results.

Work happens inline on the caller's thread: an apsw call on a local file takes microseconds, far
less than handing it to a thread would cost. A statement that runs long is still stopped: SQLite
calls a progress handler every few thousand steps, which ends the statement after D1's time limit
(30 s, `PYFLARE_D1_TIME_LIMIT` seconds if set) or once the time `interrupt_queries()` set has come
(a signal handler of `pyflare dev` sets it, so Ctrl-C works while a runaway query holds the event
loop).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import apsw

from ..sqlguard import (
    SQL_LIMITS,
    QueryTimer,
    interrupt_queries,
    resume_queries,
    seconds_from_env,
    stopping,
)
from ..sqlvalues import SqlRow, int_value
from ..state import FileGuard, StateError, open_error
from ..workers.jsdict import JsDict
from .authorizer import Authorizer
from .errors import (
    EMPTY_STATEMENT,
    NO_STATEMENTS,
    PARAMS_ONLY_LAST,
    STOPPED_MESSAGE,
    TIME_LIMIT_MESSAGE,
    TRANSACTION_MESSAGE,
    WRONG_BINDINGS,
    D1Error,
    sqlite_message,
)
from .splitter import is_blank, split_statements, without_comments
from .values import row_objects

if TYPE_CHECKING:
    from ..walcheckpoint import WalCheckpointer

__all__ = ["SERVED_BY", "TIME_LIMIT", "Engine", "interrupt_queries", "resume_queries"]

SERVED_BY = "pyflare.db"

#: D1's "Maximum SQL query duration" in seconds (a batch counts as one query).
TIME_LIMIT = 30.0
#: How long a statement waits for another process's write lock (`pyflare d1 execute`).
_BUSY_TIMEOUT = 5.0

_WRITE_COUNTING_READS = frozenset({"UPDATE", "DELETE"})
_MAX_PLANS = 1024
_RENAME_TO_RESERVED = re.compile(
    r"ALTER\s+TABLE\b.*\bRENAME\s+TO\s*[\"'`\[]?_cf_", re.IGNORECASE | re.DOTALL
)
_VACUUM = re.compile(r"VACUUM\b", re.IGNORECASE)
_NO_COLUMNS: list[str] = []
# Waits between lock attempts (seconds); they add up to about 5 s, SQLite's own schedule.
_BUSY_WAITS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.025, 0.025, 0.05, 0.05) + (
    0.1,
) * 47


def time_limit() -> float:
    """D1's query time limit in seconds: `PYFLARE_D1_TIME_LIMIT` if set, else 30."""
    return seconds_from_env("PYFLARE_D1_TIME_LIMIT", TIME_LIMIT)


def _statement_start(sql: str) -> str:
    """`sql` without comments, from its first keyword on: comments before or inside a statement
    must not hide what it does."""
    return without_comments(sql).lstrip()


class _Plan:
    """What pyflare learned about one SQL string; cached by the text."""

    __slots__ = (
        "blank",
        "columns",
        "denied",
        "description",
        "direct",
        "fast",
        "has_columns",
        "kind",
        "last",
        "readonly",
        "steps",
        "txn",
    )

    def __init__(self, sql: str) -> None:
        # Only whitespace: "No SQL statements detected." (comments or a lone `;` are an empty
        # statement instead: "SQL code did not contain a statement.").
        self.blank = not sql.strip()
        # Statements before the last one, run without parameters.
        self.steps: list[str] = []
        # None marks an empty last statement (only comments and semicolons).
        self.last: str | None = None if is_blank(sql) else sql
        if ";" in sql and not self.blank:
            pieces, rest = split_statements(sql)
            if rest.strip():
                pieces.append(rest)
            # As workerd does: the whitespace after a `;` is skipped before the next statement
            # (error offsets count from there), an empty statement before the last one is
            # skipped, and an empty last one is an error.
            pieces[1:] = [piece.lstrip() for piece in pieces[1:]]
            self.steps = [piece for piece in pieces[:-1] if not is_blank(piece)]
            self.last = None if is_blank(pieces[-1]) else pieces[-1]
        # Several statements run in a transaction, and so do PRAGMAs, as every D1 query does
        # (e.g. `PRAGMA foreign_keys = OFF` does nothing inside one).
        self.txn = bool(self.steps) or "pragma" in sql.lower()
        words = (self.last or "").split(None, 1)
        self.kind = words[0].upper() if words else ""
        # The text itself is the one statement to run (nothing skipped before it).
        self.direct = not self.steps and self.last is not None and sql.startswith(self.last)
        # Why the plan is refused before it runs, or None.
        self.denied: str | None = None
        statements = [_statement_start(step) for step in (*self.steps, self.last) if step]
        if any(_VACUUM.match(step) for step in statements):
            # D1 runs every query inside a transaction.
            self.denied = "D1_ERROR: cannot VACUUM from within a transaction: SQLITE_ERROR"
        elif any(_RENAME_TO_RESERVED.match(step) for step in statements):
            # SQLite does not show the authorizer the new name of ALTER TABLE ... RENAME TO, so
            # that reserved name is checked here (Miniflare 4 lets it through; DESIGN.md forbids
            # every `_cf_` name).
            self.denied = "D1_ERROR: not authorized: SQLITE_AUTH"
        # Learned on first run of a single statement: does it return columns, does it write?
        self.has_columns: bool | None = None
        self.readonly: bool | None = None
        # One statement, outside a transaction, already learned: run it without detours.
        self.fast = False
        # The last description seen and its column names, reused while it does not change.
        self.description: tuple[tuple[str, str | None], ...] | None = None
        self.columns: list[str] = []

    def learned(self, has_columns: bool, readonly: bool) -> None:
        self.has_columns = has_columns
        self.readonly = readonly
        self.fast = not self.txn and not self.denied and self.direct

    def names(self, description: tuple[tuple[str, str | None], ...]) -> list[str]:
        """Column names of `description`, computed once per distinct description."""
        if description != self.description:
            self.description = description
            self.columns = [d[0] for d in description]
        return self.columns


def _results(cursor: apsw.Cursor, plan: _Plan) -> tuple[list[str], list[SqlRow]]:
    """Column names and rows of the statement `cursor` has just run."""
    if plan.has_columns is False:
        return _NO_COLUMNS, []
    try:
        description = cursor.get_description()
    except apsw.ExecutionCompleteError:  # it ran to completion without a row
        return _NO_COLUMNS, []
    return plan.names(description), cursor.fetchall()


class Engine:
    """One SQLite connection with D1's rules; shared by a database and its sessions."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.auth = Authorizer()
        # Stops a statement after D1's time limit (a batch counts as one query), or when the
        # process is stopping (`interrupt_queries()`).
        self.timer = QueryTimer(time_limit())
        self._guard: FileGuard | None = None
        self._checkpointer: WalCheckpointer | None = None
        try:
            self.conn = self._open(path)
        except (apsw.Error, OSError) as exc:
            raise open_error("Cannot open the D1 database", path, exc) from None
        conn = self.conn
        conn.set_busy_handler(self._busy)
        self.timer.install(conn)
        if path is not None:
            from ..walcheckpoint import WalCheckpointer  # a database in memory has no WAL

            self._checkpointer = WalCheckpointer(path)
            self._checkpointer.attach(conn)
        conn.execute("PRAGMA foreign_keys=ON", can_cache=False)
        conn.config(apsw.SQLITE_DBCONFIG_DEFENSIVE, 1)
        for limit, value in SQL_LIMITS.items():
            conn.limit(limit, value)
        conn.authorizer = self.auth
        self.cursor = conn.cursor()
        self._internal_cursor = conn.cursor()
        # A random tag makes pyflare's own statements impossible to reuse from user SQL
        # through the statement cache (they were compiled with the rules lifted).
        tag = self._tag = f"/*{secrets.token_hex(8)}*/"
        # IMMEDIATE: take the write lock up front, so a batch that reads before it writes
        # waits for `pyflare d1 execute` (busy handler) instead of failing with SQLITE_BUSY.
        self._begin = f"{tag} BEGIN IMMEDIATE"
        self._commit = f"{tag} COMMIT"
        self._rollback = f"{tag} ROLLBACK"
        self._page_count = f"{tag} PRAGMA page_count"
        self._freelist_count = f"{tag} PRAGMA freelist_count"
        self._plans: dict[str, _Plan] = {}
        self._learned: tuple[bool, bool] = (True, False)
        self.in_txn = False
        self.version = 0
        self._token = secrets.token_hex(16)
        # Fixed once the file exists: PRAGMA page_size=N and VACUUM are refused.
        self._page_size = int_value(self.internal("PRAGMA page_size")[0][0])
        self.size = self._measure_size()

    def _open(self, path: Path | None) -> apsw.Connection:
        if path is None:
            return apsw.Connection(":memory:", statementcachesize=512)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = apsw.Connection(str(path), statementcachesize=512)
        try:
            conn.set_busy_timeout(int(_BUSY_TIMEOUT * 1000))
            # Not cached: a statement compiled before the authorizer is in place must never be
            # reused by user SQL with the same text. Reading the mode also checks that the file
            # is an SQLite database at all.
            conn.execute("PRAGMA journal_mode=WAL", can_cache=False).fetchall()
            if conn.readonly("main"):
                raise apsw.ReadOnlyError("the file is read-only")
            # NORMAL in WAL mode: a commit survives a crash of the process, and only a power
            # loss can take back the last commits; the database is never corrupted.
            conn.execute("PRAGMA synchronous=NORMAL", can_cache=False)
            self._guard = FileGuard(path, "The D1 database")
        except BaseException:
            conn.close()
            raise
        return conn

    def _busy(self, attempts: int) -> bool:
        """Wait for another connection's lock, a little longer each time, for at most 5 s;
        give up when the process is stopping."""
        if attempts >= len(_BUSY_WAITS) or stopping():
            return False
        time.sleep(_BUSY_WAITS[attempts])
        return not stopping()

    def check_file(self) -> None:
        """Before a write: raise `D1Error` when the database file was deleted or replaced."""
        if self._guard is not None:
            try:
                self._guard.check()
            except StateError as exc:
                raise D1Error(f"D1_ERROR: {exc}") from None

    # -- pyflare's own statements ------------------------------------------------------------

    def internal(self, sql: str, params: tuple[Any, ...] = ()) -> list[SqlRow]:
        """Run pyflare's own SQL with D1's rules lifted.

        Only SQL carrying this engine's random tag is cached: user SQL with the same text must
        never reuse a statement compiled without the rules.
        """
        if not self.in_txn:
            self.timer.start()
        auth = self.auth
        auth.trusted = True
        try:
            cursor = self._internal_cursor
            return cursor.execute(sql, params, can_cache=sql.startswith(self._tag)).fetchall()
        finally:
            auth.trusted = False

    def _measure_size(self) -> int:
        """Bytes in use, as D1 counts them: (page_count - freelist_count) * page_size."""
        auth = self.auth
        cursor = self._internal_cursor
        auth.trusted = True
        try:
            pages = int_value(cursor.execute(self._page_count).fetchall()[0][0])
            free = int_value(cursor.execute(self._freelist_count).fetchall()[0][0])
        except apsw.Error as exc:
            raise self.error(exc) from None
        finally:
            auth.trusted = False
        return (pages - free) * self._page_size

    def begin(self) -> None:
        if self._guard is not None:
            self.check_file()
        try:
            self.internal(self._begin)
        except apsw.Error as exc:
            raise self.error(exc) from None
        self.in_txn = True

    def commit(self) -> None:
        """Commit; a commit that fails (disk full, I/O error) rolls back and raises `D1Error`."""
        self.in_txn = False
        try:
            self.internal(self._commit)
        except apsw.Error as exc:
            error = self.error(exc)
            self.rollback()
            raise error from None

    def rollback(self) -> None:
        self.in_txn = False
        if not self.conn.get_autocommit():
            # SQLite rolls back on its own after the errors that make ROLLBACK fail.
            with contextlib.suppress(apsw.Error):
                self.internal(self._rollback)

    def bookmark(self) -> str:
        """A D1-style session bookmark that sorts after every earlier one."""
        return f"{self.version:08x}-00000000-00000000-{self._token}"

    # -- errors ------------------------------------------------------------------------------

    def error(self, exc: BaseException, intermediate: bool = False) -> D1Error:
        """The `D1Error` a worker sees for `exc` (anything else is re-raised as it is)."""
        auth = self.auth
        if auth.transaction_denied:
            auth.transaction_denied = False
            if isinstance(exc, apsw.AuthError):
                return D1Error(f"D1_ERROR: {TRANSACTION_MESSAGE}")
        if isinstance(exc, D1Error):
            return exc
        if isinstance(exc, apsw.InterruptError):
            return D1Error(STOPPED_MESSAGE if self.timer.stopped else TIME_LIMIT_MESSAGE)
        if isinstance(exc, apsw.BindingsError):
            return D1Error(f"D1_ERROR: {PARAMS_ONLY_LAST if intermediate else WRONG_BINDINGS}")
        if isinstance(exc, apsw.Error):
            return D1Error(f"D1_ERROR: {sqlite_message(exc)}")
        if isinstance(exc, (OverflowError, ValueError, TypeError)):
            return D1Error(f"D1_ERROR: {exc}")
        if isinstance(exc, StateError):
            return D1Error(f"D1_ERROR: {exc}")
        raise exc

    # -- running statements ------------------------------------------------------------------

    def plan(self, sql: str) -> _Plan:
        plan = self._plans.get(sql)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            plan = self._plans[sql] = _Plan(sql)
        return plan

    def _learn(self, cursor: apsw.Cursor, sql: str, bindings: Any) -> bool:
        self._learned = (bool(cursor.description), cursor.is_readonly)
        return True

    def _last(self, plan: _Plan, params: tuple[Any, ...]) -> tuple[list[str], list[SqlRow]]:
        """Run the plan's last statement (the one with parameters): column names and rows."""
        self.cursor.execute(plan.last, params)  # type: ignore[arg-type]
        return _results(self.cursor, plan)

    def _run(self, plan: _Plan, params: tuple[Any, ...]) -> tuple[list[str], list[SqlRow]]:
        """Run every statement of the plan; the last one's column names and rows."""
        if plan.denied:
            raise D1Error(plan.denied)
        cursor = self.cursor
        for step in plan.steps:
            try:
                cursor.execute(step).fetchall()
            except Exception as exc:
                raise self.error(exc, intermediate=True) from None
        if plan.last is None:
            raise D1Error(f"D1_ERROR: {EMPTY_STATEMENT}")
        try:
            if plan.has_columns is not None:
                return self._last(plan, params)
            cursor.exec_trace = self._learn
            try:
                result = self._last(plan, params)
            finally:
                cursor.exec_trace = None
            if not plan.steps:
                plan.learned(*self._learned)
            return result
        except Exception as exc:
            raise self.error(exc) from None

    def _run_atomic(self, plan: _Plan, params: tuple[Any, ...]) -> tuple[list[str], list[SqlRow]]:
        if self.in_txn:  # begin() checked the file
            return self._run(plan, params)
        if not plan.txn:
            if not plan.readonly and self._guard is not None:
                self.check_file()  # a write, or not known yet
            return self._run(plan, params)
        self.begin()
        try:
            result = self._run(plan, params)
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return result

    def columns(self, sql: str, params: tuple[Any, ...]) -> list[str]:
        """Column names of `sql`'s last statement, without running it."""
        plan = self.plan(sql)
        if plan.has_columns is False or plan.last is None:
            return []
        found: list[str] = []

        def trace(cursor: apsw.Cursor, _sql: str, _bindings: Any) -> bool:
            found.extend(d[0] for d in cursor.get_description())
            return False

        cursor = self.conn.cursor()
        cursor.exec_trace = trace
        try:
            cursor.execute(plan.last, params)
        except apsw.ExecTraceAbort:
            pass
        except apsw.Error:
            return []
        return found

    def rows(self, sql: str, params: tuple[Any, ...]) -> tuple[list[str], list[SqlRow]]:
        """Run a query for `first()` / `raw()`: column names and rows, no metadata."""
        self.timer.start()
        plan = self._plans.get(sql)
        if plan is None or not plan.fast:
            plan = self.plan(sql)
            if plan.blank:
                raise D1Error(f"D1_ERROR: {NO_STATEMENTS}")
            result = self._run_atomic(plan, params)
            if not plan.readonly:
                self.version += 1
            return result
        # The common case, inlined: one learned statement.
        if not plan.readonly and self._guard is not None:
            self.check_file()
        cursor = self.cursor
        try:
            cursor.execute(sql, params)
            if not plan.readonly:
                self.version += 1
            return _results(cursor, plan)
        except Exception as exc:
            raise self.error(exc) from None

    def query(self, sql: str, params: tuple[Any, ...], measure: bool = True) -> JsDict:
        """Run a query for `all()` / `run()` / `batch()`: `{success, meta, results}`.

        `rows_written` is the number of rows changed (as `changes`); `rows_read` is the number
        of rows returned, plus the rows changed by an UPDATE or DELETE. SQLite does not count
        the rows a statement scans, so this is a floor of what D1 would bill.
        """
        plan = self._plans.get(sql)
        if plan is None:
            plan = self.plan(sql)
        if plan.blank:
            raise D1Error(f"D1_ERROR: {NO_STATEMENTS}")
        conn = self.conn
        start = perf_counter()
        if not self.in_txn:
            self.timer.started = start
        changes_before = conn.total_changes()
        rowid_before = conn.last_insert_rowid()
        if plan.fast:
            if not plan.readonly and self._guard is not None and not self.in_txn:
                self.check_file()
            cursor = self.cursor
            try:
                cursor.execute(sql, params)
                columns, rows = _results(cursor, plan)
            except Exception as exc:
                raise self.error(exc) from None
        else:
            columns, rows = self._run_atomic(plan, params)
        changes = conn.total_changes() - changes_before
        rowid = conn.last_insert_rowid()
        size = self.size
        changed = changes != 0 or rowid != rowid_before
        if not plan.readonly:
            self.version += 1
            if measure:
                size = self._measure_size()
                changed = changed or size != self.size
                self.size = size
        meta = JsDict(
            served_by=SERVED_BY,
            duration=(perf_counter() - start) * 1000.0,
            changes=changes,
            last_row_id=rowid,
            changed_db=changed,
            size_after=size,
            rows_read=len(rows) + (changes if plan.kind in _WRITE_COUNTING_READS else 0),
            rows_written=changes,
        )
        return JsDict(success=True, meta=meta, results=row_objects(columns, rows) if rows else [])

    def batch(self, queries: list[tuple[str, tuple[Any, ...]]]) -> list[JsDict]:
        """Run queries in one transaction; any failure rolls back all of them.

        Every result's `size_after` is the size after the whole batch: D1 commits the batch at
        once, and measuring after each statement would cost more than the statement.
        """
        plan = self.plan
        queries = [q for q in queries if not plan(q[0]).blank]
        if not queries:
            raise D1Error(f"D1_ERROR: {NO_STATEMENTS}")
        outer = self.in_txn
        if not outer:
            self.timer.start()  # D1's time limit covers the whole batch
            self.begin()
        try:
            query = self.query
            results = [query(sql, params, False) for sql, params in queries]
        except BaseException:
            if not outer:
                self.rollback()
            raise
        if not outer:
            self.commit()
        size_before = self.size
        size = self.size = self._measure_size()
        grown = size != size_before
        for result in results:
            meta = result["meta"]
            meta["size_after"] = size
            if grown:
                meta["changed_db"] = True
        return results

    def exec(self, sql: str) -> JsDict:
        """`exec()`: each line a query, all in one transaction; `{count, duration}`."""
        lines = sql.strip().split("\n")
        # Empty lines are skipped; a line of only a comment is an empty statement, as on D1.
        todo = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
        if not todo:
            raise D1Error(f"D1_EXEC_ERROR: Error in line 1: {lines[0]}: {NO_STATEMENTS}")
        duration = 0.0
        self.timer.start()
        self.begin()
        try:
            for number, line in todo:
                try:
                    meta = self.query(line, (), False)["meta"]
                except D1Error as exc:
                    message = exc.message.removeprefix("D1_ERROR: ")
                    raise D1Error(
                        f"D1_EXEC_ERROR: Error in line {number}: {line}: {message}"
                    ) from None
                duration += meta["duration"]
        except BaseException:
            self.rollback()
            raise
        self.commit()
        self.size = self._measure_size()
        return JsDict(count=len(todo), duration=duration)

    def dump(self) -> bytes:
        """The database as the bytes of an SQLite file (rollback-journal header, opens anywhere)."""
        # serialize() reads the pages through SQL, which the rules would refuse.
        self.auth.trusted = True
        try:
            data = self.conn.serialize("main")
        finally:
            self.auth.trusted = False
        if data is None:
            return b""
        image = bytearray(data)
        if len(image) >= 20 and image[18] == 2:
            # WAL mode is recorded in the header; a plain file image should not claim it.
            image[18] = image[19] = 1
        return bytes(image)

    def image(self) -> bytes:
        """The in-memory database's pages, for `restore()` into another engine (the pytest
        plugin migrates once per session and starts each test from this copy)."""
        if self.path is not None:
            raise ValueError("image() is for in-memory databases")
        self.auth.trusted = True  # serialize() reads the pages through SQL the rules refuse
        try:
            return bytes(self.conn.serialize("main") or b"")
        finally:
            self.auth.trusted = False

    def restore(self, image: bytes) -> None:
        """Make this in-memory database a copy of `image` (what `image()` returned)."""
        if self.path is not None:
            raise ValueError("restore() is for in-memory databases")
        if image:
            # apsw copies the bytes into memory SQLite owns, so the image can serve many tests.
            self.auth.trusted = True
            try:
                self.conn.deserialize("main", image)
            finally:
                self.auth.trusted = False
        self.version += 1  # statements cached against the old schema are re-prepared
        self.size = self._measure_size()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.conn.close()
