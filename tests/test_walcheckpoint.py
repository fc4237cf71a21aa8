"""The background checkpointer copies the log into the database file beside the writer, and
the log stays bounded however long the writes go on."""

from __future__ import annotations

import time
from pathlib import Path

import apsw

from miniflare_py.d1.engine import Engine
from miniflare_py.kv.storage import KvStorage
from miniflare_py.walcheckpoint import LIMIT_PAGES, THRESHOLD_PAGES, WalCheckpointer


def test_the_log_is_checkpointed_by_the_thread_and_data_survives(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    db = apsw.Connection(str(path))
    db.set_busy_timeout(5000)  # as D1's and KV's connections: the thread holds locks at times
    db.execute("PRAGMA journal_mode=WAL").fetchall()
    checkpointer = WalCheckpointer(path, threshold=20)
    checkpointer.attach(db)
    db.execute("CREATE TABLE t (n INTEGER, pad TEXT)")
    for n in range(500):
        db.execute("INSERT INTO t VALUES (?, ?)", (n, "x" * 500))
    checkpointer.close()
    db.close()  # the last connection: SQLite checkpoints and removes the log
    assert not Path(f"{path}-wal").exists()
    reopened = apsw.Connection(str(path))
    assert reopened.execute("SELECT COUNT(*), SUM(n) FROM t").fetchall() == [(500, 124750)]
    reopened.close()


def test_the_writer_no_longer_checkpoints_itself(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    db = apsw.Connection(str(path))
    db.execute("PRAGMA journal_mode=WAL").fetchall()
    checkpointer = WalCheckpointer(path)
    checkpointer.attach(db)
    assert db.execute("PRAGMA wal_autocheckpoint").fetchall() == [(0,)]
    checkpointer.close()
    db.close()


def test_the_thread_copies_the_log_into_the_database_file(tmp_path: Path) -> None:
    # The thread's own connection must know the file is in WAL mode: a connection that has
    # not read the file yet checkpoints nothing (SQLite answers -1, -1), and the log then held
    # every write until the server stopped.
    path = tmp_path / "db.sqlite"
    db = apsw.Connection(str(path))
    db.set_busy_timeout(5000)  # as D1's and KV's connections: the thread holds locks at times
    db.execute("PRAGMA journal_mode=WAL").fetchall()
    checkpointer = WalCheckpointer(path, threshold=20, limit=10**9)
    checkpointer.attach(db)
    db.execute("CREATE TABLE t (n INTEGER, pad TEXT)")
    for n in range(500):
        db.execute("INSERT INTO t VALUES (?, ?)", (n, "x" * 500))
    # Only a checkpoint writes to the database file itself: wait (at most 10 s) for one.
    deadline = time.monotonic() + 10
    while path.stat().st_size < 200_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size >= 200_000
    checkpointer.close()
    db.close()


def _wal_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def _log_bound(page_size: int = 4096) -> int:
    """The largest log file the limit allows: LIMIT_PAGES frames (page and 24-byte header), the
    32-byte file header, the frames of a few commits made as the limit is reached, and one more
    THRESHOLD_PAGES in case a reader (the KV file writer, on a loaded machine) held the first
    attempt back: the writer tries again that many pages later."""
    return 32 + (LIMIT_PAGES + THRESHOLD_PAGES + 64) * (page_size + 24)


def test_a_d1_database_log_stays_bounded_under_sustained_writes(tmp_path: Path) -> None:
    # Without a complete checkpoint between two writes SQLite never restarts the log: 10,000
    # inserts left a 45 MB log, growing with every write.
    path = tmp_path / "d1.sqlite"
    engine = Engine(path)
    engine.query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", ())
    largest = 0
    for n in range(10_000):
        engine.query("INSERT INTO t (v) VALUES (?)", (f"{n:0200d}",))
        if n % 50 == 0:
            largest = max(largest, _wal_bytes(path))
    largest = max(largest, _wal_bytes(path))
    assert largest <= _log_bound(), f"the log reached {largest:,} bytes"
    engine.close()
    reopened = apsw.Connection(str(path))
    assert reopened.execute("SELECT COUNT(*), MAX(id) FROM t").fetchall() == [(10_000, 10_000)]
    reopened.close()


def test_a_kv_namespace_log_stays_bounded_under_sustained_writes(tmp_path: Path) -> None:
    # 10,000 puts to 1,000 keys left a 144 MB log before the fix.
    path = tmp_path / "kv.sqlite"
    storage = KvStorage(path, tmp_path / "blobs")
    largest = 0
    for n in range(10_000):
        storage.put(f"key:{n % 1000:04d}", f"value {n}".encode(), None, None)
        if n % 50 == 0:
            largest = max(largest, _wal_bytes(path))
    largest = max(largest, _wal_bytes(path))
    assert largest <= _log_bound(), f"the log reached {largest:,} bytes"
    storage.close()
    reopened = KvStorage(path, tmp_path / "blobs")
    assert [reopened.get(k, now_ms=0) for k in ("key:0999", "key:0000")] == [
        (b"value 9999", None, None),
        (b"value 9000", None, None),
    ]
    reopened.close()
