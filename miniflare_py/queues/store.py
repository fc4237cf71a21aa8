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
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import apsw

from ..bindings.persist import plugin_path

__all__ = [
    "COUNTERS",
    "MemoryStore",
    "QueueStore",
    "Record",
    "SqliteStore",
    "queue_store_path",
    "read_store_status",
]

#: Event counters kept per queue (and persisted by `SqliteStore`).
COUNTERS = ("acked", "retried", "dead_lettered", "dropped")

Counts = dict[str, dict[str, int]]


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
    """What the broker needs from storage (see the module docstring for when each is called)."""

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
    """One commit around several writes; `active` while it is open."""

    def __init__(self, db: apsw.Connection) -> None:
        self._db = db
        self.active = False

    def __enter__(self) -> _Transaction:
        if self.active:
            raise RuntimeError("SqliteStore transactions do not nest")
        self._db.__enter__()
        self.active = True
        return self

    def __exit__(self, *exc_info: object) -> bool | None:
        self.active = False
        return self._db.__exit__(*exc_info)


class SqliteStore:
    """A `QueueStore` in one SQLite file (WAL), safe against the process being killed anywhere.

    Every transaction is committed before the broker goes on, so a message accepted by `send()`
    is on disk (in the WAL) when `send()` returns. `synchronous = NORMAL` is enough for that: in
    WAL mode a commit is durable against the process being killed (the WAL write has reached the
    OS); only a power cut or kernel panic can lose the last commits. `FULL` adds an fsync per
    commit: measured with `bench/queues.py` on a 2-core machine it cuts send->ack throughput by
    2x at batch size 100 (122k -> 63k msg/s) and 6x at batch size 1 (9.3k -> 1.5k msg/s), to
    guard against a failure a local development emulator does not need to survive.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = apsw.Connection(str(self.path))
        self._db.setbusytimeout(5000)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._outer = _Transaction(self._db)
        with self._db:
            self._db.execute(_SCHEMA)

    def load(self) -> tuple[list[Record], Counts]:
        rows = self._db.execute(
            "SELECT seq, id, queue, content_type, body, size, timestamp, attempts, available_at, "
            "in_flight FROM messages ORDER BY seq"
        ).fetchall()
        records = [Record(*row[:9], bool(row[9])) for row in rows]
        counts = {
            row[0]: dict(zip(COUNTERS, row[1:], strict=True))
            for row in self._db.execute("SELECT * FROM counters")
        }
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
        with self._write():
            self._db.executemany(_INSERT, rows)

    def transaction(self) -> AbstractContextManager[object]:
        return self._outer

    def _write(self) -> AbstractContextManager[object]:
        # Inside `transaction()` a write simply joins it: apsw would otherwise open a savepoint
        # for each nested `with`, which costs as much as the write.
        return _NO_TRANSACTION if self._outer.active else self._db

    def start_delivery(self, records: Sequence[Record]) -> None:
        with self._write():
            self._db.executemany(_START, [(r.attempts, r.seq) for r in records])

    def finish_delivery(
        self,
        removed: Sequence[Record],
        retried: Sequence[Record],
        moved: Sequence[tuple[int, Record]],
        counts: Counts,
    ) -> None:
        db = self._db
        with self._write():
            if removed:
                db.executemany(_DELETE, [(r.seq,) for r in removed])
            if retried:
                db.executemany(_RETRY, [(r.available_at, r.seq) for r in retried])
            if moved:
                db.executemany(_MOVE, [(r.seq, r.queue, r.available_at, old) for old, r in moved])
            if counts:
                db.executemany(_COUNT, _count_rows(counts))

    def close(self) -> None:
        self._db.close()  # apsw: closing twice is harmless


def read_store_status(path: Path, now: float | None = None) -> dict[str, dict[str, int]]:
    """Per queue: pending, delayed, in_flight and the persisted counters, read without writing
    (works while a dev server holds the file, thanks to WAL)."""
    now = time.time() if now is None else now
    db = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        db.setbusytimeout(5000)
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
