"""Durable Objects, persistent (WAL files in Miniflare's layout), in-process:

- an RPC call that does a storage `get` + `put` (the classic counter);
- an RPC call that runs one SQL INSERT through `ctx.storage.sql.exec`.

Each is measured beside raw apsw doing the same SQL on its own WAL file in the same run
(the KV pair is a SELECT + INSERT OR REPLACE on a `_cf_KV`-shaped table). Targets: at least
20,000 calls/s each (Miniflare 4 here: 2,400-3,700 and about 3,800, DESIGN.md section 7).
"""

from __future__ import annotations

import asyncio
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from .common import error_row, make_row, timed_rate, wal_connection, write_project

GROUP = "durable objects"
TARGET = 20_000.0
BUDGET = 0.8  # seconds per measurement

WORKER = """
from workers import DurableObject, Response

class Counter(DurableObject):
    async def bump(self):
        n = (await self.ctx.storage.get("n")) or 0
        await self.ctx.storage.put("n", n + 1)
        return n + 1

    async def insert(self, i):
        self.ctx.storage.sql.exec("INSERT INTO hits (n, at) VALUES (?, ?)", i, "now")

    async def setup(self):
        self.ctx.storage.sql.exec(
            "CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, n INTEGER, at TEXT)"
        )

async def on_fetch(request, env):
    return Response("ok")
"""
CONFIG = """
name = "bench"
main = "worker.py"
[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
"""


def _raw(path: Path) -> Any:
    return wal_connection(
        path,
        "CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
        "CREATE TABLE hits (id INTEGER PRIMARY KEY, n INTEGER, at TEXT)",
    )


async def _measure(root: Path) -> dict[str, float]:
    from miniflare_py import Miniflare

    write_project(root, CONFIG, textwrap.dedent(WORKER))
    async with Miniflare(root / "wrangler.toml", persist_to=root / "state") as mf:
        stub = mf.env.COUNTER.getByName("bench")
        await stub.setup()

        async def bumps(n: int) -> int:
            for _ in range(n):
                await stub.bump()
            return n

        async def inserts(n: int) -> int:
            for i in range(n):
                await stub.insert(i)
            return n

        results = {}
        for name, loop in (("kv", bumps), ("sql", inserts)):
            await loop(200)
            n = 1000
            while True:
                start = time.perf_counter()
                await loop(n)
                elapsed = time.perf_counter() - start
                if elapsed > BUDGET / 4 or n >= 1_000_000:
                    break
                n *= 4
            results[name] = n / elapsed
        return results


def run() -> list[dict[str, Any]]:
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            measured = asyncio.run(_measure(root))
            raw = _raw(root / "raw.sqlite")
            value = b"\xff\x0fI\x02"

            def raw_kv(n: int) -> int:
                for _ in range(n):
                    raw.execute("SELECT value FROM _cf_KV WHERE key = ?", ("n",)).fetchall()
                    raw.execute("INSERT OR REPLACE INTO _cf_KV VALUES (?, ?)", ("n", value))
                return n

            def raw_sql(n: int) -> int:
                for i in range(n):
                    raw.execute("INSERT INTO hits (n, at) VALUES (?, ?)", (i, "now"))
                return n

            kv_raw, sql_raw = timed_rate(raw_kv, BUDGET), timed_rate(raw_sql, BUDGET)
            raw.close()
    except Exception as exc:
        return [error_row(GROUP, "RPC calls", exc)]
    for name, key, baseline in (
        ("RPC call doing storage get + put, persistent", "kv", kv_raw),
        ("RPC call running one SQL INSERT, persistent", "sql", sql_raw),
    ):
        rows.append(
            make_row(
                GROUP,
                name,
                measured[key],
                "calls/s",
                "raw apsw, same SQL (WAL)",
                baseline,
                min_value=TARGET,
                note="Miniflare 4: 2,400-3,700 (get + put) and about 3,800 (INSERT) calls/s",
            )
        )
    return rows
