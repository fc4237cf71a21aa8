"""Queue throughput: messages/s from the first send to the last ack, through a consumer that does
nothing, for batch sizes 1, 10 and 100, persistent (SQLite in a temp folder) and in memory.

Each send (`send` for batch size 1, else `sendBatch` of a full batch) is made from test code on a
virtual clock, so it returns once its batch has been delivered and acked: the time is the full
path (validate, serialize, commit, deliver, decode, resolve, commit) with no sleeping. Beside
each figure, the floor: raw apsw inserting and deleting the same rows in the same batches with
the same pragmas (one transaction per insert batch and one per delete batch; the broker needs a
third per batch to mark it in flight).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from miniflare_py.clock import VirtualClock
from miniflare_py.config import QueueConsumerConfig
from miniflare_py.queues import MemoryStore, MessageBatch, QueueBroker, SqliteStore
from miniflare_py.queues.store import _INSERT, _SCHEMA

from .common import make_row, wal_connection

TARGET = 20_000  # msg/s, persistent, batch 100
BATCH_SIZES = (1, 10, 100)


def _messages(batch_size: int) -> int:
    return {1: 3_000, 10: 10_000, 100: 30_000}[batch_size]


def _bodies(n: int) -> list[dict[str, Any]]:
    return [
        {"body": {"taskId": i, "prompt": "summarise this text", "priority": 1}} for i in range(n)
    ]


async def _through_broker(batch_size: int, folder: Path | None) -> float:
    n = _messages(batch_size)
    messages = _bodies(n)
    store = SqliteStore(folder / "queues.sqlite") if folder is not None else MemoryStore()
    acked = 0

    async def consume(batch: MessageBatch) -> None:
        nonlocal acked
        acked += len(batch.messages)

    broker = QueueBroker(
        clock=VirtualClock(),
        store=store,
        consumers=[QueueConsumerConfig("bench", max_batch_size=batch_size)],
        deliver=consume,
    )
    await broker.start()
    producer = broker.producer("bench")
    started = time.perf_counter()
    if batch_size == 1:
        for message in messages:
            await producer.send(message["body"])
    else:
        for i in range(0, n, batch_size):
            await producer.sendBatch(messages[i : i + batch_size])
    await broker.queues.drain()
    elapsed = time.perf_counter() - started
    assert acked == n, (acked, n)
    await broker.close()
    store.close()
    return n / elapsed


def _raw_apsw(batch_size: int, path: str) -> float:
    """Insert `batch_size` rows in one transaction, delete them in another, repeat."""
    import json

    n = _messages(batch_size)
    db = wal_connection(Path(path), _SCHEMA)
    now = time.time()
    rows = [
        (
            i,
            os.urandom(16).hex(),
            "bench",
            "json",
            json.dumps(m["body"]).encode(),
            60,
            now,
            0,
            now,
            0,
        )
        for i, m in enumerate(_bodies(n), 1)
    ]
    started = time.perf_counter()
    for i in range(0, n, batch_size):
        chunk = rows[i : i + batch_size]
        with db:
            db.executemany(_INSERT, chunk)
        with db:
            db.executemany("DELETE FROM messages WHERE seq = ?", [(r[0],) for r in chunk])
    elapsed = time.perf_counter() - started
    db.close()
    return n / elapsed


def run() -> list[dict[str, Any]]:
    """One row per (batch size, persistent or in memory)."""
    rows: list[dict[str, Any]] = []
    for persistent in (True, False):
        for batch_size in BATCH_SIZES:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) if persistent else None
                value = asyncio.run(_through_broker(batch_size, folder))
                raw_path = str(Path(tmp) / "raw.sqlite") if persistent else ":memory:"
                baseline = _raw_apsw(batch_size, raw_path)
            kind = "persistent" if persistent else "in memory"
            where = "file" if persistent else ":memory:"
            gated = persistent and batch_size == 100
            rows.append(
                make_row(
                    "queues",
                    f"send->ack batch {batch_size} ({kind})",
                    value,
                    "msg/s",
                    f"raw apsw insert+delete ({where})",
                    baseline,
                    min_value=TARGET if gated else None,
                )
            )
    return rows


if __name__ == "__main__":
    for row in run():
        target = (
            f"  target {row['target']}: {'met' if row['met'] else 'NOT met'}"
            if row["target"]
            else ""
        )
        print(
            f"{row['name']:<40} {row['value']:>9,.0f} {row['unit']}   "
            f"{row['baseline_name']}: {row['baseline']:>9,.0f}   ratio {row['ratio']:.2f}{target}"
        )
