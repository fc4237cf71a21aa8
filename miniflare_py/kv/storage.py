"""One KV namespace's storage: keys in SQLite, each value in a blob, in Miniflare's layout.

`KvStorage` keeps the rows of Miniflare's `_mf_entries` table (key, blob id, expiration in
milliseconds, metadata as JSON text) in SQLite, on disk (WAL) or in memory, and the values in a
`BlobStore`: one file per value in the namespace's blob folder (`FileBlobs`), or a dict
(`MemoryBlobs`). A blob never changes once written and its id is random, which gives the rules
that keep Miniflare and pyflare safe on one folder:

- put: the value's file is written first, then the row is committed; only then is the old
  value's file deleted. A process killed in between leaves at worst an unreferenced file, never
  a row without its value. A `put` that returned is in the WAL and in the file (both handed to
  the OS, as the queue store's commits are: `synchronous = NORMAL`).
- get: the row is read from SQLite every time (another process may have changed it), and the
  value is served from a cache keyed by blob id when it is there, which is always correct
  because a blob id never names other bytes.
- an expired row is deleted when met, with its file; a missing file reads as a missing key.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple, Protocol

import apsw

from ..walcheckpoint import WalCheckpointer

__all__ = ["BlobStore", "Entry", "FileBlobs", "KvStorage", "ListedKey", "MemoryBlobs"]

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
_OLD_BLOB = "SELECT blob_id FROM _mf_entries WHERE key = ?"
_PUT = "INSERT OR REPLACE INTO _mf_entries (key, blob_id, expiration, metadata) VALUES (?, ?, ?, ?)"
_DELETE = "DELETE FROM _mf_entries WHERE key = ? RETURNING blob_id"
_DELETE_EXPIRED_ROW = "DELETE FROM _mf_entries WHERE key = ? AND blob_id = ?"
_ANY_EXPIRED = "SELECT 1 FROM _mf_entries WHERE expiration <= ? LIMIT 1"
_DELETE_EXPIRED = "DELETE FROM _mf_entries WHERE expiration <= ? RETURNING blob_id"
_LIST = (
    "SELECT key, expiration, metadata FROM _mf_entries WHERE key > ? AND key >= ? {upper}"
    "AND (expiration IS NULL OR expiration > ?) ORDER BY key LIMIT ?"
)
_LIST_ALL = _LIST.format(upper="")
_LIST_BELOW = _LIST.format(upper="AND key < ? ")

#: Values up to this size are kept in the read cache, up to CACHE_BYTES in all.
CACHE_ITEM_BYTES = 1024 * 1024
CACHE_BYTES = 64 * 1024 * 1024


class Entry(NamedTuple):
    value: bytes
    expiration: int | None  # milliseconds since the epoch
    metadata: str | None  # JSON text


class ListedKey(NamedTuple):
    name: str
    expiration: int | None  # milliseconds since the epoch
    metadata: str | None


class BlobStore(Protocol):
    """Immutable values under random ids."""

    def put(self, data: bytes) -> str: ...

    def get(self, blob_id: str) -> bytes | None: ...

    def delete(self, blob_id: str) -> None: ...


def new_blob_id() -> str:
    """A blob id as Miniflare makes them: 32 random bytes, then the time in milliseconds as a
    big-endian 64-bit number, in hex."""
    return os.urandom(32).hex() + f"{int(time.time() * 1000) & (2**64 - 1):016x}"


class MemoryBlobs:
    """Blobs in a dict (persistence off)."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        blob_id = new_blob_id()
        self._blobs[blob_id] = data
        return blob_id

    def get(self, blob_id: str) -> bytes | None:
        return self._blobs.get(blob_id)

    def delete(self, blob_id: str) -> None:
        self._blobs.pop(blob_id, None)


class FileBlobs:
    """One file per blob in `folder`, with a bounded in-memory cache of recent values."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._prefix = str(folder) + os.sep
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached = 0

    def put(self, data: bytes) -> str:
        blob_id = new_blob_id()
        path = self._prefix + blob_id
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:  # the folder was removed under us
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        os.close(fd)
        self._remember(blob_id, data)
        return blob_id

    def get(self, blob_id: str) -> bytes | None:
        data = self._cache.get(blob_id)
        if data is not None:
            self._cache.move_to_end(blob_id)
            return data
        if os.sep in blob_id or blob_id in ("", ".", ".."):
            return None  # a row naming a path outside the folder is not ours to read
        try:
            with open(self._prefix + blob_id, "rb") as file:
                data = file.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        self._remember(blob_id, data)
        return data

    def delete(self, blob_id: str) -> None:
        cached = self._cache.pop(blob_id, None)
        if cached is not None:
            self._cached -= len(cached)
        if os.sep in blob_id or blob_id in ("", ".", ".."):
            return
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.unlink(self._prefix + blob_id)

    def _remember(self, blob_id: str, data: bytes) -> None:
        size = len(data)
        if size > CACHE_ITEM_BYTES:
            return
        self._cache[blob_id] = data
        self._cached += size
        while self._cached > CACHE_BYTES:
            _, old = self._cache.popitem(last=False)
            self._cached -= len(old)


class KvStorage:
    """The keys and values of one namespace (see the module docstring)."""

    def __init__(self, db_path: Path | None, blobs: BlobStore) -> None:
        self.path = db_path
        self.blobs = blobs
        if db_path is not None:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = apsw.Connection(":memory:" if db_path is None else str(db_path))
        self._db.set_busy_timeout(5000)
        self._checkpointer: WalCheckpointer | None = None
        if db_path is not None:
            self._db.execute("PRAGMA journal_mode = WAL").fetchall()
            # NORMAL in WAL mode: a commit survives the process being killed; only a power
            # cut can take back the last commits (see queues/store.py for the measurements).
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(_SCHEMA)
        if db_path is not None:
            self._checkpointer = WalCheckpointer(db_path)
            self._checkpointer.attach(self._db)
        self._cursor = self._db.cursor()

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: str, now_ms: int) -> Entry | None:
        """The live entry under `key`, or None (missing, expired, or its value file gone)."""
        row = self._cursor.execute(_GET, (key,)).fetchone()
        if row is None:
            return None
        blob_id, expiration, metadata = row
        if expiration is not None and expiration <= now_ms:
            self._cursor.execute(_DELETE_EXPIRED_ROW, (key, blob_id))
            self.blobs.delete(blob_id)
            return None
        value = self.blobs.get(blob_id)
        if value is None:
            return None
        return Entry(value, expiration, metadata)

    def list(
        self, prefix: str, start_after: str, limit: int, now_ms: int
    ) -> tuple[list[ListedKey], bool]:
        """Up to `limit` live keys after `start_after` that start with `prefix`, in key order
        (UTF-8 byte order: SQLite's BINARY collation), and whether more follow."""
        upper = _prefix_end(prefix)
        if upper is None:
            sql, bounds = _LIST_ALL, (start_after, prefix)
        else:
            sql, bounds = _LIST_BELOW, (start_after, prefix, upper)
        rows = self._cursor.execute(sql, (*bounds, now_ms, limit + 1))
        keys = [ListedKey(*row) for row in rows]
        self._collect_expired(now_ms)
        return keys[:limit], len(keys) > limit

    # -- writes ------------------------------------------------------------------------------

    def put(self, key: str, value: bytes, expiration: int | None, metadata: str | None) -> None:
        blob_id = self.blobs.put(value)
        try:
            old = self._cursor.execute(_OLD_BLOB, (key,)).fetchone()
            self._cursor.execute(_PUT, (key, blob_id, expiration, metadata))
        except BaseException:
            self.blobs.delete(blob_id)
            raise
        if old is not None:
            self.blobs.delete(old[0])

    def delete(self, key: str) -> None:
        for (blob_id,) in self._cursor.execute(_DELETE, (key,)).fetchall():
            self.blobs.delete(blob_id)

    def _collect_expired(self, now_ms: int) -> None:
        if self._cursor.execute(_ANY_EXPIRED, (now_ms,)).fetchone() is None:
            return
        for (blob_id,) in self._cursor.execute(_DELETE_EXPIRED, (now_ms,)).fetchall():
            self.blobs.delete(blob_id)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._db.close()


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
