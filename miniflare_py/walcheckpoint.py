"""Checkpoint a WAL database from a background thread, and keep the log bounded.

In WAL mode SQLite copies the log back into the database file (a checkpoint) on the commit that
takes the log past `wal_autocheckpoint` pages, and that commit waits for the copy and its
fsyncs. SQLite's documentation suggests running checkpoints from another thread instead; this
does so, so a D1 call or a KV put rarely waits on the disk. apsw releases the GIL while SQLite
works, so the checkpoint runs beside the event loop, not in its way.

A checkpoint only copies; the log file starts over from its beginning (instead of growing) only
after a checkpoint that reached the end of the log, and under sustained writes the background
checkpoint never does: the writer appends while it copies. So once the log holds `LIMIT_PAGES`
pages, the writer's own connection finishes the checkpoint right after a commit (having waited
for a background pass still under way, so only the last pages are left to copy), and its next
write starts the log over; `journal_size_limit` cuts back a file one large transaction grew.
Every commit is in the log or the database file at all times: durability is unchanged.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

import apsw

__all__ = ["LIMIT_PAGES", "THRESHOLD_PAGES", "WalCheckpointer"]

#: Pages in the log that wake the checkpointer (SQLite's own autocheckpoint default).
THRESHOLD_PAGES = 1000
#: Pages in the log past which the writer finishes a checkpoint itself, so the log restarts.
LIMIT_PAGES = 4 * THRESHOLD_PAGES


class WalCheckpointer:
    """Owns a thread and a connection that checkpoint the WAL of `path` when it grows, and
    makes the writer's connection restart the log once it holds `limit` pages."""

    def __init__(
        self, path: Path, threshold: int = THRESHOLD_PAGES, limit: int | None = None
    ) -> None:
        self._path = str(path)
        self._threshold = threshold
        self._limit = limit if limit is not None else LIMIT_PAGES
        self._wake = threading.Event()
        # Held while a checkpoint runs: SQLite allows one at a time, and the writer waits for a
        # background pass rather than have its own refused.
        self._checkpointing = threading.Lock()
        self._stopping = False
        self._woken_at = 0
        self._finished_at = 0  # the log's size when the writer last finished a checkpoint
        self._restart_due = False  # a checkpoint was finished: the next write restarts the log
        self._thread = threading.Thread(
            target=self._run, name=f"pyflare-checkpoint:{path.name}", daemon=True
        )
        self._thread.start()

    def attach(self, connection: apsw.Connection) -> None:
        """Turn `connection`'s own checkpoints off and hand them to this thread; cap its log."""
        connection.wal_autocheckpoint(0)
        page_size = connection.execute("PRAGMA page_size").fetchall()[0][0]
        if isinstance(page_size, int):
            # When the log starts over, a file one large transaction made bigger is cut back.
            connection.execute(f"PRAGMA journal_size_limit = {self._limit * page_size}").fetchall()
        connection.set_wal_hook(self._committed)

    def _committed(self, connection: apsw.Connection, name: str, pages: int) -> int:
        # This commit's write restarted the log if the last finished checkpoint allowed it.
        self._restart_due = False
        if pages < self._woken_at or pages < self._finished_at:
            self._woken_at = self._finished_at = 0  # the log was restarted
        if pages >= self._limit and pages - self._finished_at >= self._threshold:
            self._finish(connection, name, pages)
        elif pages - self._woken_at >= self._threshold:
            self._woken_at = pages  # once per threshold's worth of new pages, not every commit
            self._wake.set()
        return apsw.SQLITE_OK

    def _finish(self, connection: apsw.Connection, name: str, pages: int) -> None:
        """Finish the checkpoint from the writer's connection, between two of its writes, so
        that its next write starts the log over. The copy is PASSIVE first, which never waits:
        when a reader (another process, say) still needs old pages it stops short, and the
        writer leaves the log as it is and tries again `threshold` pages later. After a complete
        copy only readers of the newest pages can be in the way, and RESTART waits for those
        with the connection's busy handler. (TRUNCATE would also empty the file, but then every
        later write grows the file again, which costs the writer about a quarter of its speed.)
        """
        self._finished_at = self._woken_at = pages
        # An error here (another process checkpointing, a full disk) must not fail the commit
        # that has just succeeded: the log still holds everything.
        with self._checkpointing, contextlib.suppress(apsw.Error):
            frames, done = connection.wal_checkpoint(name, apsw.SQLITE_CHECKPOINT_PASSIVE)
            if done >= frames:
                connection.wal_checkpoint(name, apsw.SQLITE_CHECKPOINT_RESTART)
                # Until the next commit a background pass would only get in the way: starting
                # the log over needs, for a moment, the read locks a checkpoint takes.
                self._restart_due = True

    def _run(self) -> None:
        # Copying is background work: on a busy machine the writer (the event loop) should get
        # the CPU first. (Linux: a thread's own nice value; lowering it needs no privilege.)
        if sys.platform.startswith("linux"):
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            # Never create the file: it may have been deleted (its folder too) since the writer
            # opened it, and the writer's connection reports that.
            connection = apsw.Connection(self._path, flags=apsw.SQLITE_OPEN_READWRITE)
        except apsw.Error:
            return  # nothing to checkpoint here: the writer's own checkpoints still cap the log
        try:
            connection.set_busy_timeout(5000)
            # A connection learns that the file is in WAL mode when it first reads it; until
            # then `wal_checkpoint` does nothing at all (it answers -1, -1).
            with contextlib.suppress(apsw.Error):
                connection.execute("PRAGMA journal_mode").fetchall()
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                # PASSIVE never blocks the writer; what it cannot copy now (another process
                # checkpointing, a full disk), the next pass does.
                with self._checkpointing, contextlib.suppress(apsw.Error):
                    if not self._restart_due:
                        connection.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
        finally:
            connection.close()

    def close(self) -> None:
        """Stop the thread; call before closing the working connection, so that closing it
        (the last connection) checkpoints and removes the log as usual."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=10)
