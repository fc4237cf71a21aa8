"""D1 binding against raw apsw: the same statements, pragmas and WAL file, in the same run.

`python -m bench.d1` prints the rows; `run()` returns them for `python -m bench`. Each D1 call
is awaited inside one event loop, as a worker makes it: `prepare().bind().run()`,
`prepare().bind().first()`, `batch([...100 bound INSERTs])`. Raw apsw runs the same SQL with the
same parameters on its own WAL file with the same pragmas (journal_mode=WAL, synchronous=NORMAL,
foreign_keys=ON), the batch as BEGIN + 100 INSERTs + COMMIT.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import make_row, timed_rate, wal_connection
from miniflare_py.d1 import D1Database

SCHEMA = "CREATE TABLE tasks (id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT, n INTEGER)"
INSERT = "INSERT INTO tasks (name, status, n) VALUES (?, ?, ?)"
SELECT = "SELECT * FROM tasks WHERE id = ?"
BUDGET = 0.8  # seconds per measurement
BATCH = 100


def _timed(loop: Callable[[int], int]) -> float:
    return timed_rate(loop, BUDGET)


def _atimed(db_loop: Callable[[int], Any]) -> float:
    return _timed(lambda n: asyncio.run(db_loop(n)))


def _row(name: str, unit: str, value: float, baseline: float, floor: float) -> dict[str, Any]:
    return make_row("d1", name, value, unit, "raw apsw", baseline, min_value=floor, min_ratio=1 / 3)


def run() -> list[dict[str, Any]]:
    """Measure `run(INSERT)`, `first(SELECT by key)` and `batch()` of 100 INSERTs."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = wal_connection(root / "raw.sqlite", "PRAGMA foreign_keys=ON", SCHEMA)
        db = D1Database(root / "d1.sqlite")
        asyncio.run(db.exec(SCHEMA))
        counter = iter(range(1, 1 << 62))

        def raw_insert(n: int) -> int:
            for i in range(n):
                raw.execute(INSERT, ("task", "queued", i))
            return n

        async def d1_insert(n: int) -> int:
            for i in range(n):
                await db.prepare(INSERT).bind("task", "queued", i).run()
            return n

        insert_raw = _timed(raw_insert)
        insert_d1 = _atimed(d1_insert)

        rows = min(
            raw.execute("SELECT count(*) FROM tasks").fetchall()[0][0],
            asyncio.run(db.prepare("SELECT count(*) AS n FROM tasks").first("n")),
        )

        def raw_select(n: int) -> int:
            for i in range(n):
                raw.execute(SELECT, (i % rows + 1,)).fetchall()
            return n

        async def d1_select(n: int) -> int:
            for i in range(n):
                await db.prepare(SELECT).bind(i % rows + 1).first()
            return n

        select_raw = _timed(raw_select)
        select_d1 = _atimed(d1_select)

        def raw_batch(n: int) -> int:
            batches = max(1, n // BATCH)
            for _ in range(batches):
                raw.execute("BEGIN")
                try:
                    for _ in range(BATCH):
                        raw.execute(INSERT, ("task", "queued", next(counter)))
                except BaseException:
                    raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
            return batches * BATCH

        async def d1_batch(n: int) -> int:
            batches = max(1, n // BATCH)
            stmt = db.prepare(INSERT)
            for _ in range(batches):
                await db.batch([stmt.bind("task", "queued", next(counter)) for _ in range(BATCH)])
            return batches * BATCH

        batch_raw = _timed(raw_batch)
        batch_d1 = _atimed(d1_batch)
        raw.close()
        db.close()

    return [
        _row("run(INSERT)", "ops/s", insert_d1, insert_raw, 30_000),
        _row("first(SELECT by key)", "ops/s", select_d1, select_raw, 60_000),
        _row("batch() of 100 INSERTs", "rows/s", batch_d1, batch_raw, 38_000),
    ]


if __name__ == "__main__":
    for row in run():
        print(
            f"{row['name']:<24} {row['value']:>10,.0f} {row['unit']:<6} "
            f"{row['baseline_name']} {row['baseline']:>10,.0f}  ratio {row['ratio']:.2f}  "
            f"target {row['target']}  {'met' if row['met'] else 'NOT MET'}"
        )
