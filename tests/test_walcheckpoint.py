"""The background checkpointer keeps a D1 file's log bounded without the writer checkpointing."""

from __future__ import annotations

from pathlib import Path

import apsw

from miniflare_py.walcheckpoint import WalCheckpointer


def test_the_log_is_checkpointed_by_the_thread_and_data_survives(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    db = apsw.Connection(str(path))
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
