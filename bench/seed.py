"""The seed flow end to end: POST a task (INSERT + send), consume it (UPDATE x2), ack.

- in-process: `Miniflare.fetch` on a virtual clock (each fetch returns once the full batch of
  one message was consumed), persistent (WAL files) and in memory; baseline: raw apsw running
  the same SQL statements plus a queue insert/delete in a second database, per task;
- over HTTP against a real `pyflare dev` (persistent, as a developer runs it): one sequential
  client, then 50 concurrent submitters; tasks/s = N / time until all N are completed, as seen
  by polling `/api/queue-status`. The baseline is Miniflare 4's figure recorded in DESIGN.md §7
  (not measured in this run: Miniflare is a Node program).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from .common import (
    SEED,
    HttpConnection,
    Stopwatch,
    build_request,
    copy_seed,
    error_row,
    make_row,
    median,
    pyflare_dev,
    run_pyflare,
    temp_dir,
    wal_connection,
)

GROUP = "seed flow"
IN_PROCESS_TASKS = 2000
HTTP_TASKS = 1000
CONCURRENCY = 50
WARMUP_TASKS = 50
REPEAT = 3  # in-process runs (fresh Miniflare each); the median is shown
TARGET_IN_PROCESS = 1500.0  # with the Durable Object step (issue 12); 3000 before it
TARGET_HTTP_SEQUENTIAL = 700.0
MINIFLARE_SEQUENTIAL = 280.0  # DESIGN.md §7, Miniflare 4.20260426 on 2 cores
MINIFLARE_CONCURRENT = 430.0
MINIFLARE_NAME = "Miniflare 4 (DESIGN §7)"
RECORDED_NOTE = "baseline is Miniflare's recorded figure from DESIGN.md §7, not measured here"
TASK = {"user": "u", "taskType": "analysis", "question": "short question"}
TASK_BODY = json.dumps(TASK).encode()
COMPLETED_SQL = "SELECT COUNT(*) AS n FROM tasks WHERE status = 'completed'"


# in-process


async def _in_process(persist_to: Path | None, n: int, timeout: float = 120.0) -> float:
    """Tasks/s of `n` sequential `Miniflare.fetch` POSTs on a virtual clock, then a drain."""
    async with asyncio.timeout(timeout):
        return await _in_process_unbounded(persist_to, n)


async def _in_process_unbounded(persist_to: Path | None, n: int) -> float:
    from miniflare_py import Miniflare
    from miniflare_py.d1 import apply_migrations

    async with Miniflare(SEED / "wrangler.toml", clock="virtual", persist_to=persist_to) as mf:
        apply_migrations(mf.d1["DB"], mf.config.d1_databases[0], mf.config.root)
        for _ in range(WARMUP_TASKS):
            await mf.fetch("/api/tasks", method="POST", json=TASK)
        await mf.queues.drain()
        with Stopwatch() as sw:
            for _ in range(n):
                response = await mf.fetch("/api/tasks", method="POST", json=TASK)
                if response.status != 202:
                    raise RuntimeError(f"POST /api/tasks answered {response.status}")
            await mf.queues.drain()
        row = await mf.d1["DB"].prepare(COMPLETED_SQL).first()
        completed = row["n"]
        if completed != n + WARMUP_TASKS:
            raise RuntimeError(f"{completed} of {n + WARMUP_TASKS} tasks completed")
    return n / sw.seconds


def _raw_apsw(folder: Path | None, n: int) -> float:
    """The baseline: the seed's SQL per task on raw apsw, plus a queue insert/delete."""
    import apsw

    def connect(name: str) -> apsw.Connection:
        if folder is None:
            return apsw.Connection(":memory:")
        return wal_connection(folder / name, "PRAGMA foreign_keys = ON")  # as D1 opens its files

    db = connect("d1.sqlite")
    for migration in sorted((SEED / "migrations").glob("*.sql")):
        with db:
            db.execute(migration.read_text())
    queue = connect("queues.sqlite")
    queue.execute(
        "CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, queue TEXT NOT NULL,"
        " body BLOB NOT NULL, timestamp REAL NOT NULL, attempts INTEGER NOT NULL)"
    )
    insert_task = (
        "INSERT INTO tasks (id, task_type, user, language, question, status, message,"
        " created_at) VALUES (?, ?, ?, ?, ?, 'pending', 'queued', ?)"
    )
    processing = (
        "UPDATE tasks SET status = ?, message = ?, attempts = COALESCE(?, attempts),"
        " started_at = COALESCE(started_at, ?) WHERE id = ?"
    )
    completed = (
        "UPDATE tasks SET status = 'completed', message = ?, result = ?, error = NULL,"
        " error_type = NULL, completed_at = ? WHERE id = ?"
    )
    enqueue = "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)"
    dequeue = "DELETE FROM messages WHERE seq = ?"
    body = json.dumps({**TASK, "language": "en"}).encode()
    started = time.perf_counter()
    for seq in range(n):
        task_id = uuid.uuid4().hex
        now = time.time()
        db.execute(insert_task, (task_id, "analysis", "u", "en", "short question", now))
        queue.execute(enqueue, (seq, task_id, "ai-processing-queue", body, now, 0))
        db.execute(processing, ("processing", "AI queue processing...", 1, now, task_id))
        with db:
            db.execute(completed, ("completed in 1 segment(s)", "result", now, task_id))
        queue.execute(dequeue, (seq,))
    rate = n / (time.perf_counter() - started)
    (count,) = db.execute(COMPLETED_SQL).fetchone()
    if count != n:
        raise RuntimeError(f"baseline completed {count} of {n}")
    db.close()
    queue.close()
    return rate


def in_process_rows(n: int = IN_PROCESS_TASKS) -> list[dict[str, Any]]:
    rows = []
    for label, persistent in (("persistent (WAL)", True), ("in memory", False)):
        name = f"in-process Miniflare.fetch + drain, {label}"
        try:
            values, baselines = [], []
            for _ in range(REPEAT):
                with temp_dir() as tmp:
                    values.append(
                        asyncio.run(_in_process(tmp / "state" if persistent else None, n))
                    )
                with temp_dir() as tmp:
                    baselines.append(_raw_apsw(tmp if persistent else None, n))
            value, baseline = median(values), median(baselines)
        except Exception as exc:
            rows.append(error_row(GROUP, name, exc))
            continue
        rows.append(
            make_row(
                GROUP,
                name,
                value,
                "tasks/s",
                f"raw apsw, same SQL{' (WAL)' if persistent else ' (:memory:)'}",
                baseline,
                min_value=TARGET_IN_PROCESS,
                note=f"{n} tasks, virtual clock, median of {REPEAT} runs",
            )
        )
    return rows


# over HTTP


class SeedClient:
    """Talks to the seed worker behind a `pyflare dev` over keep-alive connections."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        authority = f"{host}:{port}"
        self.post = build_request(
            "POST", "/api/tasks", authority, TASK_BODY, content_type="application/json"
        )
        self.status = build_request("GET", "/api/queue-status", authority)
        self._poller: HttpConnection | None = None

    async def connect(self, n: int = 1) -> list[HttpConnection]:
        return [await HttpConnection.open(self.host, self.port) for _ in range(n)]

    async def completed(self) -> int:
        """How many tasks the worker reports as completed."""
        if self._poller is None:
            (self._poller,) = await self.connect()
        status, body = await self._poller.request(self.status)
        if status != 200:
            raise RuntimeError(f"GET /api/queue-status answered {status}: {body[:200]!r}")
        return int(json.loads(body)["tasks"].get("completed", 0))

    async def submit(self, conn: HttpConnection) -> None:
        status, body = await conn.request(self.post)
        if status != 202:
            raise RuntimeError(f"POST /api/tasks answered {status}: {body[:200]!r}")

    async def wait_completed(self, total: int, timeout: float = 60.0) -> None:
        """Poll until `total` tasks are completed (every 5 ms); raise after `timeout` s."""
        deadline = time.monotonic() + timeout
        while (done := await self.completed()) < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done} of {total} tasks completed after {timeout}s")
            await asyncio.sleep(0.005)

    async def run(self, n: int, concurrency: int = 1, timeout: float = 120.0) -> float:
        """Submit `n` tasks over `concurrency` connections; tasks/s until all are completed."""
        async with asyncio.timeout(timeout):
            before = await self.completed()
            conns = await self.connect(concurrency)
            remaining = n

            async def submitter(conn: HttpConnection) -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await self.submit(conn)

            try:
                started = time.perf_counter()
                await asyncio.gather(*(submitter(c) for c in conns))
                await self.wait_completed(before + n, timeout)
                elapsed = time.perf_counter() - started
            finally:
                for conn in conns:
                    conn.close()
        return n / elapsed

    def close(self) -> None:
        if self._poller is not None:
            self._poller.close()


def prepare_seed(tmp: Path) -> Path:
    """A copy of the seed in `tmp` with its D1 migrations applied (local, persistent)."""
    folder = copy_seed(tmp)
    run_pyflare(["d1", "migrations", "apply", "DB"], folder)
    return folder


async def _http(host: str, port: int, n: int) -> tuple[float, float]:
    client = SeedClient(host, port)
    try:
        await client.run(WARMUP_TASKS)
        sequential = await client.run(n)
        concurrent = await client.run(n, CONCURRENCY)
    finally:
        client.close()
    return sequential, concurrent


def http_rows(n: int = HTTP_TASKS) -> list[dict[str, Any]]:
    seq_name = "HTTP pyflare dev, 1 sequential client"
    conc_name = f"HTTP pyflare dev, {CONCURRENCY} concurrent submitters"
    try:
        with temp_dir() as tmp:
            folder = prepare_seed(tmp)
            with pyflare_dev(folder, "--no-reload", "--log-level", "none") as server:
                sequential, concurrent = asyncio.run(_http(server.host, server.port, n))
    except Exception as exc:
        return [error_row(GROUP, seq_name, exc), error_row(GROUP, conc_name, exc)]
    note = f"{n} tasks, persistent; {RECORDED_NOTE}"
    return [
        make_row(
            GROUP,
            seq_name,
            sequential,
            "tasks/s",
            MINIFLARE_NAME,
            MINIFLARE_SEQUENTIAL,
            min_value=TARGET_HTTP_SEQUENTIAL,
            note=note,
        ),
        make_row(
            GROUP,
            conc_name,
            concurrent,
            "tasks/s",
            MINIFLARE_NAME,
            MINIFLARE_CONCURRENT,
            note=note,
        ),
    ]


def run() -> list[dict[str, Any]]:
    """Every seed-flow figure."""
    return [*in_process_rows(), *http_rows()]


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
