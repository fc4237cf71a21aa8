"""Checkpoint a WAL database from a background thread.

In WAL mode SQLite copies the log back into the database file (a checkpoint) on the commit that
takes the log past `wal_autocheckpoint` pages, and that commit waits for two fsyncs. SQLite's
documentation suggests running checkpoints from another thread instead; this does so, so a D1
call or a queue send never waits on the disk. apsw releases the GIL while SQLite works, so the
checkpoint runs beside the event loop, not in its way.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import apsw

__all__ = ["WalCheckpointer"]

#: Pages in the log that wake the checkpointer (SQLite's own autocheckpoint default).
THRESHOLD_PAGES = 1000


class WalCheckpointer:
    """Owns a thread and a connection that checkpoint the WAL of `path` when it grows."""

    def __init__(self, path: Path, threshold: int = THRESHOLD_PAGES) -> None:
        self._path = str(path)
        self._threshold = threshold
        self._wake = threading.Event()
        self._stopping = False
        self._woken_at = 0
        self._thread = threading.Thread(
            target=self._run, name=f"pyflare-checkpoint:{path.name}", daemon=True
        )
        self._thread.start()

    def attach(self, connection: apsw.Connection) -> None:
        """Turn `connection`'s own checkpoints off and hand them to this thread."""
        connection.wal_autocheckpoint(0)
        connection.set_wal_hook(self._committed)

    def _committed(self, _connection: apsw.Connection, _name: str, pages: int) -> int:
        if pages < self._woken_at:
            self._woken_at = 0  # the log was restarted after a complete checkpoint
        if pages - self._woken_at >= self._threshold:
            self._woken_at = pages  # once per threshold's worth of new pages, not every commit
            self._wake.set()
        return apsw.SQLITE_OK

    def _run(self) -> None:
        connection = apsw.Connection(self._path)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                # PASSIVE never blocks the writer; what it cannot copy now, the next one does.
                with contextlib.suppress(apsw.BusyError):
                    connection.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
        finally:
            connection.close()

    def close(self) -> None:
        """Stop the thread; call before closing the working connection, so that closing it
        (the last connection) checkpoints and removes the log as usual."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=10)
