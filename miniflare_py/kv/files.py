"""The value files of a namespace on disk, and the thread that writes them.

Miniflare keeps each value in its own file, `<blob folder>/<blob id>`. Creating a file costs
far more than a SQLite commit (tens of microseconds on a quiet disk, hundreds on a busy one), so
pyflare does not create it while a worker waits: `put()` commits the value into the table
`_pyflare_unwritten` of the namespace's SQLite file, in the same transaction as its row, and
`FileWriter`'s thread writes the file moments later. The main connection then drops the value
from that table, a batch at a time; closing the storage writes whatever is left, and a storage
opened after a crash writes what the crashed process left. Until its file exists a value is
read from the table, so pyflare sees its own writes at once; Miniflare sees a value once its
file is written (milliseconds later, and always once pyflare has closed the namespace).

Blob files are never changed once written, and their ids are random and never reused, so every
step can be repeated safely: a file that exists already holds the right bytes, a file deleted
twice is gone, and the worst a crash leaves is an unreferenced file (as Miniflare's own design
accepts).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Final

import apsw

from ..state import write_new_file

__all__ = ["DROP_WRITTEN", "PENDING_SCHEMA", "BlobFiles", "FileWriter"]

#: Values committed whose file is not written yet (a table pyflare adds to Miniflare's file).
PENDING_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS _pyflare_unwritten (blob_id TEXT PRIMARY KEY, value BLOB NOT NULL)"
    " WITHOUT ROWID"
)
#: Drops the rows of values whose files are written (the ids as a JSON array).
DROP_WRITTEN: Final = (
    "DELETE FROM _pyflare_unwritten WHERE blob_id IN (SELECT value FROM json_each(?))"
)
_PENDING_IDS = "SELECT blob_id FROM _pyflare_unwritten"
_PENDING_VALUE = "SELECT value FROM _pyflare_unwritten WHERE blob_id = ?"

#: The writer starts once no value was staged for this long (seconds), or once this many values
#: or bytes wait in memory: writing files while a worker keeps storing would slow every put (the
#: writer and the main thread contend for the disk and the GIL: measured, puts went from about
#: 37,000 to 10,000-25,000 a second), so files are written when the worker pauses.
QUIET = 0.02
BACKLOG_VALUES = 100_000
BACKLOG_BYTES = 64 * 1024 * 1024

#: Values up to this size are kept in the read cache, up to CACHE_BYTES in all.
CACHE_ITEM_BYTES = 1024 * 1024
CACHE_BYTES = 64 * 1024 * 1024


def _safe(blob_id: str) -> bool:
    # A row names its file; one naming a path outside the folder is not ours to touch.
    return bool(blob_id) and os.sep not in blob_id and blob_id not in (".", "..")


class BlobFiles:
    """The blob folder of one namespace, with a bounded cache of recently used values (safe
    because a blob id never names other bytes)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._prefix = str(folder) + os.sep
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached = 0

    def write(self, blob_id: str, data: bytes) -> None:
        """Create the file of `blob_id`, whole or not at all: the bytes go to a temporary file
        that is then renamed, so a reader (Miniflare, another pyflare) never sees it half
        written. A file that exists already holds the same bytes."""
        path = self._prefix + blob_id
        temporary = f"{self._prefix}.{blob_id}.{os.urandom(4).hex()}.tmp"
        try:
            try:
                write_new_file(temporary, data)
            except FileNotFoundError:  # the folder was removed under us
                self.folder.mkdir(parents=True, exist_ok=True)
                write_new_file(temporary, data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def read(self, blob_id: str) -> bytes | None:
        """The bytes of `blob_id`'s file, or None when there is no such file."""
        data = self._cache.get(blob_id)
        if data is not None:
            self._cache.move_to_end(blob_id)
            return data
        if not _safe(blob_id):
            return None
        try:
            with open(self._prefix + blob_id, "rb") as file:
                data = file.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        self.remember(blob_id, data)
        return data

    def remove(self, blob_id: str) -> None:
        self.forget(blob_id)
        if _safe(blob_id):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                os.unlink(self._prefix + blob_id)

    def remember(self, blob_id: str, data: bytes) -> None:
        size = len(data)
        if size > CACHE_ITEM_BYTES:
            return
        self._cache[blob_id] = data
        self._cached += size
        while self._cached > CACHE_BYTES:
            _, old = self._cache.popitem(last=False)
            self._cached -= len(old)

    def forget(self, blob_id: str) -> None:
        cached = self._cache.pop(blob_id, None)
        if cached is not None:
            self._cached -= len(cached)


class FileWriter:
    """The thread that writes committed values to their files and deletes replaced ones.

    The main connection hands it each value it committed with `stage()` (the bytes come along,
    so the thread does not read them back) and each replaced blob with `discard()`;
    `take_written()` gives back the ids whose files exist, for the main connection to drop
    from `_pyflare_unwritten`. The first round (and every `flush()`) also writes what the
    table holds from earlier processes. Deletes run after the writes of the same round, and a
    value discarded before its file was written is not written at all.
    """

    def __init__(self, db_path: Path, files: BlobFiles) -> None:
        self._db_path = str(db_path)
        self._files = files
        self._wake = threading.Event()
        self._round_lock = threading.Lock()  # a round, or a flush, at a time
        self._stopping = False
        self._stopped = threading.Event()
        self._scan = True  # look at the table once: a crashed process may have left values
        self._staged: deque[tuple[str, bytes | None]] = deque()
        self._last_stage = 0.0
        # bytes held by `_staged`: each counter is written by one thread only
        self._bytes_in = 0
        self._bytes_out = 0
        self._discarded: deque[str] = deque()
        self._done: deque[str] = deque()
        self._thread = threading.Thread(
            target=self._run, name=f"pyflare-kv-files:{files.folder.parent.name}", daemon=True
        )
        self._thread.start()
        self._wake.set()

    def stage(self, blob_id: str, data: bytes) -> None:
        """Write `blob_id`'s file soon (its value is committed in `_pyflare_unwritten`). A
        large value is read back from there rather than held in memory meanwhile."""
        kept = data if len(data) <= CACHE_ITEM_BYTES else None
        if kept is not None:
            self._bytes_in += len(kept)
        self._staged.append((blob_id, kept))
        self._last_stage = time.monotonic()
        if not self._wake.is_set():
            self._wake.set()

    def discard(self, blob_id: str) -> None:
        """Delete `blob_id`'s file (its pending row, if any, is gone already)."""
        self._files.forget(blob_id)
        self._discarded.append(blob_id)
        if not self._wake.is_set():
            self._wake.set()

    def take_written(self) -> list[str]:
        """Ids whose files were written since the last call."""
        taken: list[str] = []
        while self._done:
            taken.append(self._done.popleft())
        return taken

    def _run(self) -> None:
        connection = apsw.Connection(self._db_path)
        connection.set_busy_timeout(5000)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                self._wait_for_a_pause()
                if self._stopping:
                    return
                with self._round_lock, contextlib.suppress(apsw.Error, OSError):
                    self._round(connection)  # a failure is retried on the next wake
        finally:
            connection.close()

    def _wait_for_a_pause(self) -> None:
        while (
            not self._stopping
            and len(self._staged) < BACKLOG_VALUES
            and self._bytes_in - self._bytes_out < BACKLOG_BYTES
        ):
            quiet = time.monotonic() - self._last_stage
            if quiet >= QUIET:
                return
            self._stopped.wait(QUIET - quiet)

    def _round(self, connection: apsw.Connection) -> None:
        discarded: set[str] = set()
        while self._discarded:
            discarded.add(self._discarded.popleft())
        if self._scan:
            # values committed by a process that is gone (or that has not written them yet):
            # their ids first, then each value in a read of its own, so that no read spans the
            # writing of the files (a long read keeps SQLite from checkpointing past it)
            ids = [str(row[0]) for row in connection.execute(_PENDING_IDS).fetchall()]
            for blob_id in ids:
                if blob_id not in discarded and _safe(blob_id):
                    found = connection.execute(_PENDING_VALUE, (blob_id,)).fetchall()
                    if found and isinstance(found[0][0], bytes):
                        self._files.write(blob_id, found[0][0])
                self._done.append(blob_id)
            self._scan = False
        while self._staged:
            blob_id, data = self._staged.popleft()
            if data is not None:
                self._bytes_out += len(data)
            if blob_id not in discarded:
                if data is None:
                    row = connection.execute(_PENDING_VALUE, (blob_id,)).fetchone()
                    data = None if row is None else row[0]  # None: written by the scan
                if data is not None:
                    self._files.write(blob_id, data)
            self._done.append(blob_id)
        for blob_id in discarded:
            self._files.remove(blob_id)

    def flush(self, connection: apsw.Connection) -> None:
        """Write now, on the caller's connection, everything staged or left in the table, and
        delete the discarded files."""
        with self._round_lock:
            self._scan = True
            self._round(connection)

    def close(self) -> None:
        """Stop the thread (the caller then calls `flush()` for what is left)."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=30)
