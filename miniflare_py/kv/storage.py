"""One KV namespace's storage: keys in SQLite, each value a blob, in Miniflare's layout.

`KvStorage` keeps the rows of Miniflare's `_mf_entries` table (key, blob id, expiration in
milliseconds, metadata as JSON text) in SQLite, and each value as a blob named by a random id
that never names other bytes:

- in memory (persistence off): an in-memory SQLite database and a dict of blobs;
- on disk: the namespace's SQLite file (WAL, `synchronous = NORMAL` as the other stores) and
  one file per value in its blob folder, written by a background thread (see `files.py`). A
  `put` that returned is committed, value and row in one transaction: a process killed after
  it loses nothing, and one killed before it leaves the old value in place.

Reads consult SQLite every time, so changes made by another process (`pyflare kv key put`
while `pyflare dev` runs, or Miniflare) are seen at once; values are cached by blob id, which is
always correct because a blob never changes. An expired row is deleted when met, with its blob;
a row whose blob is gone reads as a missing key, as in Miniflare.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import apsw

from ..state import FileGuard, StateError, open_error
from ..walcheckpoint import WalCheckpointer
from .files import DROP_WRITTEN, PENDING_SCHEMA, BlobFiles, FileWriter

__all__ = ["Entry", "KvStorage", "ListedKey", "new_blob_id"]

log = logging.getLogger("miniflare_py")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _mf_entries (
  key TEXT PRIMARY KEY,
  blob_id TEXT NOT NULL,
  expiration INTEGER,
  metadata TEXT
);
CREATE INDEX IF NOT EXISTS _mf_entries_expiration_idx ON _mf_entries(expiration);
"""
_GET = "SELECT blob_id, expiration, metadata FROM _mf_entries WHERE key = ?"
_OLD = "SELECT blob_id, expiration FROM _mf_entries WHERE key = ?"
# Upserts rather than Miniflare's INSERT OR REPLACE: the same row in the end, but an overwrite
# leaves the key's index entry alone, and the expiration index too when the expiration stays
# NULL (measured: 1 page per commit instead of 4.6).
_UPSERT = (
    "INSERT INTO _mf_entries (key, blob_id, expiration, metadata) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET blob_id = excluded.blob_id, "
    "expiration = excluded.expiration, metadata = excluded.metadata"
)
_UPSERT_NO_EXPIRY = (
    "INSERT INTO _mf_entries (key, blob_id, expiration, metadata) VALUES (?, ?, NULL, ?) "
    "ON CONFLICT(key) DO UPDATE SET blob_id = excluded.blob_id, metadata = excluded.metadata"
)
#: Rows of written values are dropped from `_pyflare_unwritten` this many at a time.
_DROP_BATCH = 64
_STAGE = "INSERT INTO _pyflare_unwritten (blob_id, value) VALUES (?, ?)"
_PENDING_VALUE = "SELECT value FROM _pyflare_unwritten WHERE blob_id = ?"
_DELETE = "DELETE FROM _mf_entries WHERE key = ? RETURNING blob_id"
_DELETE_EXPIRED_ROW = "DELETE FROM _mf_entries WHERE key = ? AND blob_id = ? RETURNING blob_id"
_ANY_EXPIRED = "SELECT 1 FROM _mf_entries WHERE expiration <= ? LIMIT 1"
_DELETE_EXPIRED = "DELETE FROM _mf_entries WHERE expiration <= ? RETURNING blob_id"
_LIST = (
    "SELECT key, expiration, metadata FROM _mf_entries WHERE key > ? AND key >= ? {upper}"
    "AND (expiration IS NULL OR expiration > ?) ORDER BY key LIMIT ?"
)
_LIST_ALL = _LIST.format(upper="")
_LIST_BELOW = _LIST.format(upper="AND key < ? ")


class Entry(NamedTuple):
    value: bytes
    expiration: int | None  # milliseconds since the epoch
    metadata: str | None  # JSON text


class ListedKey(NamedTuple):
    name: str
    expiration: int | None  # milliseconds since the epoch
    metadata: str | None


_Keys = list[ListedKey]


def new_blob_id() -> str:
    """A blob id as Miniflare makes them: 32 random bytes, then the time in milliseconds as a
    big-endian 64-bit number, in hex."""
    return os.urandom(32).hex() + f"{int(time.time() * 1000) & (2**64 - 1):016x}"


class KvStorage:
    """The keys and values of one namespace (see the module docstring). `db_path` and
    `blob_folder` are both given (on disk) or both None (in memory)."""

    def __init__(self, db_path: Path | None, blob_folder: Path | None = None) -> None:
        self.path = db_path
        self._guard: FileGuard | None = None
        self._memory: dict[str, bytes] | None = None
        self._files: BlobFiles | None = None
        self._writer: FileWriter | None = None
        self._checkpointer: WalCheckpointer | None = None
        if db_path is None:
            self._db = apsw.Connection(":memory:")
            self._memory = {}
            self._db.execute(_SCHEMA)
        else:
            assert blob_folder is not None
            try:
                self._db = _open(db_path)
                self._guard = FileGuard(db_path, "The KV namespace")
            except (apsw.Error, OSError) as exc:
                raise open_error("Cannot open the KV namespace", db_path, exc) from None
            self._checkpointer = WalCheckpointer(db_path)
            self._checkpointer.attach(self._db)
            self._files = BlobFiles(blob_folder)
            self._writer = FileWriter(db_path, self._files)
        # On disk: ids staged by this process whose files are not written yet, and ids whose
        # files are written but whose rows are still in `_pyflare_unwritten`.
        self._unwritten: set[str] = set()
        self._to_drop: set[str] = set()
        self._cursor = self._db.cursor()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction, taking the write lock at once: a deferred one could meet
        another process's commit between its read and its write and fail at once with
        SQLITE_BUSY, where this one waits (busy timeout) for the lock. The file is checked
        first: writes to a file deleted under us would be lost without a word."""
        if self._guard is not None:
            self._guard.check()
        self._cursor.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if not self._db.get_autocommit():
                self._cursor.execute("ROLLBACK")
            raise
        self._cursor.execute("COMMIT")

    # -- blobs -------------------------------------------------------------------------------

    def _blob(self, blob_id: str) -> bytes | None:
        if self._memory is not None:
            return self._memory.get(blob_id)
        assert self._files is not None
        data = self._files.read(blob_id)  # the cache, then the file
        if data is None:  # not written yet?
            row = self._cursor.execute(_PENDING_VALUE, (blob_id,)).fetchone()
            if row is None:
                return None
            data = bytes(row[0])
            self._files.remember(blob_id, data)
        return data

    def _discard(self, blob_id: str) -> None:
        """Delete the blob of a row just deleted or replaced (its pending row, if any, must
        be gone already: see `_deleting`)."""
        if self._memory is not None:
            self._memory.pop(blob_id, None)
        elif self._writer is not None:
            self._writer.discard(blob_id)

    def _deleting(self, sql: str, params: tuple[object, ...]) -> list[str]:
        """Run a DELETE of rows that returns their blob ids and drop those blobs' pending
        values in the same transaction; then delete the blobs."""
        cursor = self._cursor
        if self._memory is not None:
            ids = [str(row[0]) for row in cursor.execute(sql, params).fetchall()]
        else:
            with self._writing():
                ids = [str(row[0]) for row in cursor.execute(sql, params).fetchall()]
                if ids:
                    cursor.execute(DROP_WRITTEN, (json.dumps(ids),))
        for blob_id in ids:
            self._discard(blob_id)
        return ids

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: str, now_ms: int) -> Entry | None:
        """The live entry under `key`, or None (missing, expired, or its value gone)."""
        try:
            return self._get(key, now_ms)
        except (apsw.Error, OSError) as exc:
            raise self._fault("read", exc) from None

    def _get(self, key: str, now_ms: int) -> Entry | None:
        row = self._cursor.execute(_GET, (key,)).fetchone()
        if row is None:
            return None
        blob_id, expiration, metadata = row
        if expiration is not None and expiration <= now_ms:
            self._deleting(_DELETE_EXPIRED_ROW, (key, blob_id))
            return None
        value = self._blob(blob_id)
        if value is None:
            return None
        return Entry(value, expiration, metadata)

    def list(self, prefix: str, start_after: str, limit: int, now_ms: int) -> tuple[_Keys, bool]:
        """Up to `limit` live keys after `start_after` that start with `prefix`, in key order
        (UTF-8 byte order: SQLite's BINARY collation), and whether more follow."""
        try:
            return self._list(prefix, start_after, limit, now_ms)
        except (apsw.Error, OSError) as exc:
            raise self._fault("read", exc) from None

    def _list(self, prefix: str, start_after: str, limit: int, now_ms: int) -> tuple[_Keys, bool]:
        upper = _prefix_end(prefix)
        bounds: tuple[str, ...]
        if upper is None:
            sql, bounds = _LIST_ALL, (start_after, prefix)
        else:
            sql, bounds = _LIST_BELOW, (start_after, prefix, upper)
        keys = [ListedKey(*row) for row in self._cursor.execute(sql, (*bounds, now_ms, limit + 1))]
        self._collect_expired(now_ms)
        return keys[:limit], len(keys) > limit

    # -- writes ------------------------------------------------------------------------------

    def put(self, key: str, value: bytes, expiration: int | None, metadata: str | None) -> None:
        """Store `value` under `key` (expiration in milliseconds, metadata as JSON text)."""
        try:
            self._put(key, value, expiration, metadata)
        except (apsw.Error, OSError) as exc:
            raise self._fault("write to", exc) from None

    def _put(self, key: str, value: bytes, expiration: int | None, metadata: str | None) -> None:
        blob_id = new_blob_id()
        cursor = self._cursor
        if self._memory is not None:
            old = cursor.execute(_OLD, (key,)).fetchone()
            _upsert(cursor, old, key, blob_id, expiration, metadata)
            self._memory[blob_id] = value
        else:
            assert self._writer is not None and self._files is not None
            written = self._writer.take_written()
            if written:
                self._unwritten.difference_update(written)
                self._to_drop.update(written)
            drop = self._to_drop if len(self._to_drop) >= _DROP_BATCH else set()
            with self._writing():
                old = cursor.execute(_OLD, (key,)).fetchone()
                old_id: str | None = None if old is None else old[0]
                # the replaced value's row goes too if it is still there, so that nobody
                # writes its file again
                replaced = old_id is not None and (
                    old_id in self._unwritten or old_id in self._to_drop
                )
                if drop or replaced:
                    dropped = [*drop, old_id] if replaced else [*drop]
                    cursor.execute(DROP_WRITTEN, (json.dumps(dropped),))
                cursor.execute(_STAGE, (blob_id, value))
                _upsert(cursor, old, key, blob_id, expiration, metadata)
            if drop:
                self._to_drop = set()
            if replaced and old_id is not None:
                self._unwritten.discard(old_id)
                self._to_drop.discard(old_id)
            self._unwritten.add(blob_id)
            self._files.remember(blob_id, value)
            self._writer.stage(blob_id, value)
        if old is not None:
            self._discard(old[0])

    def delete(self, key: str) -> None:
        try:
            self._deleting(_DELETE, (key,))
        except (apsw.Error, OSError) as exc:
            raise self._fault("write to", exc) from None

    def _fault(self, verb: str, exc: BaseException) -> StateError:
        return open_error(f"Cannot {verb} the KV namespace", self.path or Path(":memory:"), exc)

    def _collect_expired(self, now_ms: int) -> None:
        if self._cursor.execute(_ANY_EXPIRED, (now_ms,)).fetchone() is not None:
            self._deleting(_DELETE_EXPIRED, (now_ms,))

    def flush(self) -> None:
        """Write every value still waiting for its file now (and delete the replaced ones), so
        that Miniflare sees all that was stored."""
        if self._writer is not None:
            self._writer.flush(self._db)
            self._drop_written()

    def _drop_written(self) -> None:
        assert self._writer is not None
        written = self._writer.take_written()
        self._unwritten.difference_update(written)
        dropped = [*self._to_drop, *written]
        if dropped:
            with self._writing():
                self._cursor.execute(DROP_WRITTEN, (json.dumps(dropped),))
        self._to_drop = set()

    def close(self) -> None:
        """Write every value still waiting for its file, then close: once closed, Miniflare
        sees everything pyflare stored."""
        if self._writer is not None:
            self._writer.close()
            try:
                self._writer.flush(self._db)
                self._drop_written()
            except (apsw.Error, OSError, StateError) as exc:
                # nothing is lost: the values stay in the table, and get their files the next
                # time pyflare opens the namespace
                log.error("%s", self._fault("write the value files of", exc))
            self._writer = None
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._db.close()


def _open(path: Path) -> apsw.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = apsw.Connection(str(path))
    try:
        db.set_busy_timeout(5000)
        db.execute("PRAGMA journal_mode = WAL").fetchall()
        # NORMAL in WAL mode: a commit survives the process being killed; only a power cut can
        # take back the last commits (see queues/store.py for the measurements).
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(_SCHEMA + PENDING_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def _upsert(
    cursor: apsw.Cursor,
    old: tuple[str, int | None] | None,
    key: str,
    blob_id: str,
    expiration: int | None,
    metadata: str | None,
) -> None:
    if expiration is None and (old is None or old[1] is None):
        cursor.execute(_UPSERT_NO_EXPIRY, (key, blob_id, metadata))
    else:
        cursor.execute(_UPSERT, (key, blob_id, expiration, metadata))


def _prefix_end(prefix: str) -> str | None:
    """The smallest string above every string starting with `prefix` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:  # surrogates are not stored text
                following = 0xE000
            return "".join(chars) + chr(following)
    return None
