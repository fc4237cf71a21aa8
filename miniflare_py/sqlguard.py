"""What every SQLite connection that runs a worker's SQL shares (D1 and Durable Object SQL):
the limits of Cloudflare's SQLite, a time limit per query, and a process-wide stop.

- `SQL_LIMITS`: `sqlite3_limit` values; D1 and SQLite-backed Durable Objects document the same
  ones (a string, BLOB or row of at most 2,000,000 bytes, SQL of at most 100,000 bytes, 100
  columns, 100 bound parameters, 32 function arguments, LIKE patterns of 50 bytes), otherwise
  those workerd takes from sqlite.org/security.html.
- `QueryTimer`: SQLite's progress handler for one connection. It stops the running statement
  once it has run longer than its limit, or once `interrupt_queries()` was called (Ctrl-C,
  SIGTERM); `stopped` then says which.
"""

from __future__ import annotations

import math
import os
from time import perf_counter

import apsw

from .state import StateError

__all__ = [
    "PROGRESS_STEPS",
    "SQL_LIMITS",
    "QueryTimer",
    "interrupt_queries",
    "resume_queries",
    "seconds_from_env",
    "stopping",
]

#: SQLite virtual-machine steps between two looks at the clock and the stop flag: about a
#: tenth of a millisecond of work, so a check costs nothing a query would notice.
PROGRESS_STEPS = 10_000

SQL_LIMITS = {
    apsw.SQLITE_LIMIT_LENGTH: 2_000_000,
    apsw.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    apsw.SQLITE_LIMIT_COLUMN: 100,
    apsw.SQLITE_LIMIT_EXPR_DEPTH: 100,
    apsw.SQLITE_LIMIT_COMPOUND_SELECT: 5,
    apsw.SQLITE_LIMIT_VDBE_OP: 25_000,
    apsw.SQLITE_LIMIT_FUNCTION_ARG: 32,
    apsw.SQLITE_LIMIT_ATTACHED: 0,
    apsw.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 50,
    apsw.SQLITE_LIMIT_VARIABLE_NUMBER: 100,
    apsw.SQLITE_LIMIT_TRIGGER_DEPTH: 10,
    apsw.SQLITE_LIMIT_WORKER_THREADS: 0,
}


class _Stop:
    """When every statement of this process stops (`perf_counter()` time; never by default)."""

    at = math.inf


def interrupt_queries(after: float = 0.0) -> None:
    """Stop every D1 and Durable Object SQL statement of this process that still runs `after`
    seconds from now (and every later one). `resume_queries()` undoes it.

    Safe to call from a signal handler: it only sets a number that the progress handler of each
    connection reads while SQLite works.
    """
    _Stop.at = min(_Stop.at, perf_counter() + after)


def resume_queries() -> None:
    """Let statements run again after `interrupt_queries()`."""
    _Stop.at = math.inf


def stopping(now: float | None = None) -> bool:
    """Whether `interrupt_queries()` has stopped statements (as of `now`, a perf_counter())."""
    return (perf_counter() if now is None else now) > _Stop.at


def seconds_from_env(variable: str, default: float) -> float:
    """A time limit in seconds from the environment variable `variable`, else `default`."""
    value = os.environ.get(variable)
    if not value:
        return default
    try:
        limit = float(value)
    except ValueError:
        raise StateError(f"{variable}={value!r} is not a number of seconds") from None
    return limit if limit > 0 else default


class QueryTimer:
    """SQLite's progress handler for one connection (install with `install()`).

    `start()` marks the start of a query (a batch counts as one); `idle()` turns the time limit
    off between queries. After SQLite reports an interrupt, `stopped` is True when the process
    is stopping and False when the time limit was reached.
    """

    __slots__ = ("limit", "started", "stopped")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.started = perf_counter()
        self.stopped = False

    def install(self, connection: apsw.Connection) -> None:
        connection.set_progress_handler(self, PROGRESS_STEPS)

    def start(self) -> None:
        self.started = perf_counter()

    def idle(self) -> None:
        self.started = math.inf

    def __call__(self) -> bool:
        """True stops the running statement (SQLITE_INTERRUPT)."""
        now = perf_counter()
        if now > _Stop.at:
            self.stopped = True
            return True
        if now - self.started > self.limit:
            self.stopped = False
            return True
        return False
