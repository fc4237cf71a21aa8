"""Where queued messages live: `MemoryStore` (persistence off) or `SqliteStore` (on).

The broker keeps the working state in memory and writes through to a store at the three moments
that matter for durability, each one transaction:

1. `add`: a send is committed before `send()` returns.
2. `start_delivery`: the attempt is counted and the message marked in flight before the
   handler runs, so a crash during the handler counts that attempt.
3. `finish_delivery`: a batch's outcome (acks, retries, dead-letter moves, drops and the event
   counters) is applied at once; a dead-letter move is an update of the same row, so a message is
   never in two queues or in none.

After a crash, `load()` returns every message still stored, in flight or not; the broker makes
in-flight ones deliverable again with their attempts kept.

A write that fails (disk full, I/O error, the file deleted under a running server) raises
`StoreError` with one line naming the file, and leaves the file as it was before that write. One
process at a time uses a `SqliteStore`: it holds a lock next to the file while it is open.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, cast

import apsw

from ..bindings.persist import plugin_path
from ..sqlvalues import SqlRow
from ..state import FileGuard, StateError, StateLock, open_error

__all__ = [
    "COUNTERS",
    "MemoryStore",
    "QueueStore",
    "Record",
    "SqliteStore",
    "StoreError",
    "queue_store_path",
    "read_store_status",
]

#: Event counters kept per queue (and persisted by `SqliteStore`).
COUNTERS = ("acked", "retried", "dead_lettered", "dropped")

Counts = dict[str, dict[str, int]]


class StoreError(Exception):
    """A store could not be written or read now (disk full, I/O error, file deleted); nothing of
    the failed write was kept. `str(error)` is one line naming the file."""


def _record(row: SqlRow) -> Record:
    """A `messages` row (in `load()`'s column order) as a Record. The table's column types
    (INTEGER, TEXT, BLOB, REAL) fix what SQLite hands back; `in_flight` is stored as 0/1."""
    seq, id_, queue, content_type, data, size, timestamp, attempts, available_at, in_flight = row
    return Record(
        cast(int, seq),
        cast(str, id_),
        cast(str, queue),
        cast(str, content_type),
        cast(bytes, data),
        cast(int, size),
        cast(float, timestamp),
        cast(int, attempts),
        cast(float, available_at),
        bool(in_flight),
    )


def queue_store_path(persist_root: Path) -> Path:
    """The SQLite file of the queues under a persist folder (e.g. `.wrangler/state`)."""
    return plugin_path(Path(persist_root), "queues") / "pyflare-queues.sqlite"


class Record:
    """One stored message. `attempts` counts deliveries started; `seq` orders a queue."""

    __slots__ = (
        "attempts",
        "available_at",
        "content_type",
        "data",
        "id",
        "in_flight",
        "queue",
        "seq",
        "size",
        "timestamp",
    )

    def __init__(
        self,
        seq: int,
        id: str,
        queue: str,
        content_type: str,
        data: bytes,
        size: int,
        timestamp: float,
        attempts: int = 0,
        available_at: float = 0.0,
        in_flight: bool = False,
    ) -> None:
        self.seq = seq
        self.id = id
        self.queue = queue
        self.content_type = content_type
        self.data = data
        self.size = size
        self.timestamp = timestamp  # epoch seconds, set at send
        self.attempts = attempts
        # epoch seconds: when it became (or becomes) deliverable; a partial batch waits
        # max_batch_timeout from its first message's available_at
        self.available_at = available_at
        self.in_flight = in_flight

    def __repr__(self) -> str:
        return f"Record(seq={self.seq}, id={self.id!r}, queue={self.queue!r})"


class QueueStore(Protocol):
    """What the broker needs from storage (see the module docstring for when each is called).

    A write that fails raises `StoreError` and keeps nothing of that write; the broker then
    retries it later (the failure may pass: a disk that was full gets room again).
    """

    def load(self) -> tuple[list[Record], Counts]:
        """Every stored message in `seq` order, and the persisted event counters."""
        ...

    def add(self, records: Sequence[Record]) -> None: ...

    def transaction(self) -> AbstractContextManager[object]:
        """Group the writes made inside into one commit (they nest: inner ones join it)."""
        ...

    def start_delivery(self, records: Sequence[Record]) -> None:
        """Persist the (already incremented) `attempts` of `records` and mark them in flight."""
        ...

    def finish_delivery(
        self,
        removed: Sequence[Record],
        retried: Sequence[Record],
        moved: Sequence[tuple[int, Record]],
        counts: Counts,
    ) -> None:
        """Apply one batch's outcome: delete `removed` (acked or dropped); make `retried`
        deliverable at their `available_at`; move each `(old_seq, record)` to `record.queue`
        under its new seq; add `counts` to the counters."""
        ...

    def close(self) -> None: ...


class MemoryStore:
    """A `QueueStore` in memory. It survives its broker: a new broker on the same store (after a
    reload) finds what the old one left."""

    def __init__(self) -> None:
        self._records: dict[int, Record] = {}
        self._counts: Counts = {}

    def load(self) -> tuple[list[Record], Counts]:
        records = [copy.copy(r) for _, r in sorted(self._records.items())]
        self._records = {r.seq: r for r in records}
        return records, {q: dict(c) for q, c in self._counts.items()}

    def add(self, records: Sequence[Record]) -> None:
        for record in records:
            self._records[record.seq] = record

    def transaction(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def start_delivery(self, records: Sequence[Record]) -> None:
        for record in records:
            record.in_flight = True

    def finish_delivery(
        self,
        removed: Sequence[Record],
        retried: Sequence[Record],
        moved: Sequence[tuple[int, Record]],
        counts: Counts,
    ) -> None:
        records = self._records
        for record in removed:
            records.pop(record.seq, None)
        for record in retried:
            record.in_flight = False
        for old_seq, record in moved:
            records.pop(old_seq, None)
            record.in_flight = False
            records[record.seq] = record
        _add_counts(self._counts, counts)

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    queue TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    attempts INTEGER NOT NULL,
    available_at REAL NOT NULL,
    in_flight INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    queue TEXT PRIMARY KEY,
    acked INTEGER NOT NULL DEFAULT 0,
    retried INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0
);
"""

_INSERT = "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_START = "UPDATE messages SET attempts = ?, in_flight = 1 WHERE seq = ?"
_DELETE = "DELETE FROM messages WHERE seq = ?"
_RETRY = "UPDATE messages SET available_at = ?, in_flight = 0 WHERE seq = ?"
_MOVE = (
    "UPDATE messages SET seq = ?, queue = ?, attempts = 0, available_at = ?, in_flight = 0 "
    "WHERE seq = ?"
)
_COUNT = (
    "INSERT INTO counters VALUES (?, ?, ?, ?, ?) ON CONFLICT (queue) DO UPDATE SET "
    "acked = acked + excluded.acked, retried = retried + excluded.retried, "
    "dead_lettered = dead_lettered + excluded.dead_lettered, dropped = dropped + excluded.dropped"
)


_NO_TRANSACTION = contextlib.nullcontext()


class _Transaction:
    """One commit around several writes; `active` while it is open.

    Plain BEGIN IMMEDIATE / COMMIT rather than apsw's savepoints: after SQLITE_FULL or an I/O
    error SQLite may already have rolled the transaction back, and the savepoint a context
    manager would then release is gone (it reports "cannot rollback - no transaction is active"
    instead of the error that happened).
    """

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._db = store._db
        self._cursor = store._db.cursor()  # its own cursor: cheaper than `Connection.execute`
        self.active = False

    def __enter__(self) -> _Transaction:
        if self.active:
            raise RuntimeError("SqliteStore transactions do not nest")
        store = self._store
        try:
            self._cursor.execute("BEGIN IMMEDIATE")
        except apsw.Error as exc:
            raise store.error(exc) from None
        self.active = True
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.active = False
        if exc_type is None:
            try:
                self._cursor.execute("COMMIT")
                return
            except apsw.Error as error:
                self._rollback()
                raise self._store.error(error) from None
        self._rollback()

    def _rollback(self) -> None:
        if not self._db.get_autocommit():  # SQLite may have rolled back on its own
            with contextlib.suppress(apsw.Error):
                self._db.execute("ROLLBACK")


class SqliteStore:
    """A `QueueStore` in one SQLite file (WAL), safe against the process being killed anywhere.

    Every transaction is committed before the broker goes on, so a message accepted by `send()`
    is on disk (in the WAL) when `send()` returns. `synchronous = NORMAL` is enough for that: in
    WAL mode a commit is durable against the process being killed (the WAL write has reached the
    OS); only a power cut or kernel panic can lose the last commits. `FULL` adds an fsync per
    commit: measured with `bench/queues.py` on a 2-core machine it cuts send->ack throughput by
    2x at batch size 100 (122k -> 63k msg/s) and 6x at batch size 1 (9.3k -> 1.5k msg/s), to
    guard against a failure a local development emulator does not need to survive.

    Opening raises `StateError` (one line naming the file) when the file is read-only, damaged,
    or open in another process: two brokers on one file would deliver each message twice.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = StateLock(
            self.path.with_name(self.path.stem + ".lock"),
            f"The queue store {self.path}",
            "stop that process, or give this one another state folder (--persist-to)",
        )
        self._lock.acquire()
        try:
            self._db = self._open()
        except BaseException:
            self._lock.release()
            raise
        self._outer = _Transaction(self)

    def _open(self) -> apsw.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = apsw.Connection(str(self.path))
        except (apsw.Error, OSError) as exc:
            raise open_error("Cannot open the queue store", self.path, exc) from None
        try:
            db.set_busy_timeout(5000)
            db.execute("PRAGMA journal_mode = WAL").fetchall()
            if db.readonly("main"):
                raise apsw.ReadOnlyError("the file is read-only")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("BEGIN IMMEDIATE")
            db.execute(_SCHEMA)
            db.execute("COMMIT")
            self._guard = FileGuard(self.path, "The queue store")
        except (apsw.Error, OSError) as exc:
            db.close()
            raise open_error("Cannot open the queue store", self.path, exc) from None
        return db

    def check_file(self) -> None:
        """Raise `StoreError` when the file was deleted or replaced since it was opened.

        `add` checks before it writes: a message accepted into a deleted file would be gone at
        the next start. The other writes need no check (one `stat()` each): they only record
        what happened to messages, and those went with the file already.
        """
        try:
            self._guard.check()
        except StateError as exc:
            raise StoreError(str(exc)) from None

    def error(self, exc: BaseException) -> StoreError:
        """The `StoreError` for an SQLite error met while writing."""
        reason = exc.args[0] if exc.args else type(exc).__name__
        return StoreError(f"The queue store {self.path} could not be written: {reason}")

    def load(self) -> tuple[list[Record], Counts]:
        try:
            rows = self._db.execute(
                "SELECT seq, id, queue, content_type, body, size, timestamp, attempts, "
                "available_at, in_flight FROM messages ORDER BY seq"
            ).fetchall()
            records = [_record(row) for row in rows]
            counts = {
                row[0]: dict(zip(COUNTERS, row[1:], strict=True))
                for row in self._db.execute("SELECT * FROM counters")
            }
        except apsw.Error as exc:
            raise open_error("Cannot read the queue store", self.path, exc) from None
        return records, counts

    def add(self, records: Sequence[Record]) -> None:
        rows = [
            (
                r.seq,
                r.id,
                r.queue,
                r.content_type,
                r.data,
                r.size,
                r.timestamp,
                r.attempts,
                r.available_at,
                0,
            )
            for r in records
        ]
        self.check_file()
        try:
            with self._write():
                self._db.executemany(_INSERT, rows)
        except apsw.Error as exc:
            raise self.error(exc) from None

    def transaction(self) -> AbstractContextManager[object]:
        return self._outer

    def _write(self) -> AbstractContextManager[object]:
        # Inside `transaction()` a write simply joins it.
        return _NO_TRANSACTION if self._outer.active else self._outer

    def start_delivery(self, records: Sequence[Record]) -> None:
        try:
            with self._write():
                self._db.executemany(_START, [(r.attempts, r.seq) for r in records])
        except apsw.Error as exc:
            raise self.error(exc) from None

    def finish_delivery(
        self,
        removed: Sequence[Record],
        retried: Sequence[Record],
        moved: Sequence[tuple[int, Record]],
        counts: Counts,
    ) -> None:
        db = self._db
        try:
            with self._write():
                if removed:
                    db.executemany(_DELETE, [(r.seq,) for r in removed])
                if retried:
                    db.executemany(_RETRY, [(r.available_at, r.seq) for r in retried])
                if moved:
                    db.executemany(
                        _MOVE, [(r.seq, r.queue, r.available_at, old) for old, r in moved]
                    )
                if counts:
                    db.executemany(_COUNT, _count_rows(counts))
        except apsw.Error as exc:
            raise self.error(exc) from None

    def close(self) -> None:
        self._db.close()  # apsw: closing twice is harmless
        self._lock.release()


def read_store_status(path: Path, now: float | None = None) -> dict[str, dict[str, int]]:
    """Per queue: pending, delayed, in_flight and the persisted counters, read without writing
    (works while a dev server holds the file, thanks to WAL)."""
    now = time.time() if now is None else now
    try:
        return _read_status(path, now)
    except apsw.Error as exc:
        raise open_error("Cannot read the queue store", path, exc) from None


def _read_status(path: Path, now: float) -> dict[str, dict[str, int]]:
    db = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        db.set_busy_timeout(5000)
        status: dict[str, dict[str, int]] = {}

        def entry(queue: str) -> dict[str, int]:
            return status.setdefault(
                queue, {"pending": 0, "delayed": 0, "in_flight": 0} | dict.fromkeys(COUNTERS, 0)
            )

        with db:  # one read transaction: a consistent snapshot of both tables
            for queue, in_flight, delayed, n in db.execute(
                "SELECT queue, in_flight, available_at > ?, count(*) FROM messages "
                "GROUP BY 1, 2, 3",
                (now,),
            ):
                key = "in_flight" if in_flight else "delayed" if delayed else "pending"
                entry(queue)[key] += n
            for row in db.execute("SELECT * FROM counters"):
                entry(row[0]).update(zip(COUNTERS, row[1:], strict=True))
        return status
    finally:
        db.close()


def _add_counts(into: Counts, counts: Counts) -> None:
    for queue, deltas in counts.items():
        totals = into.setdefault(queue, dict.fromkeys(COUNTERS, 0))
        for key, n in deltas.items():
            totals[key] += n


def _count_rows(counts: Counts) -> Iterable[tuple[str, int, int, int, int]]:
    for queue, c in counts.items():
        yield (
            queue,
            c.get("acked", 0),
            c.get("retried", 0),
            c.get("dead_lettered", 0),
            c.get("dropped", 0),
        )
