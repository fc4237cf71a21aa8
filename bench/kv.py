"""Workers KV against raw apsw: the same keys and values, on disk, in the same run.

`python -m bench.kv` prints the rows; `run()` returns them for `python -m bench`. pyflare's
`env.KV.put()` / `get()` are awaited one after another inside one event loop, as a worker makes
them, on a namespace stored on disk in Miniflare's layout (a SQLite row per key, a file per
value; see `miniflare_py/kv/storage.py`). Short values over 1,000 keys, so most puts replace a
value (and delete its file). Raw apsw does the equivalent work on its own WAL file with the same
pragmas (journal_mode=WAL, synchronous=NORMAL): one `INSERT OR REPLACE` of key, value,
expiration and metadata per put, one `SELECT` by key per get.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.common import best_rate, make_row, wal_connection
from miniflare_py.clock import RealClock
from miniflare_py.kv import KvNamespace, open_storage

KEYS = [f"user:{i:04d}:profile" for i in range(1000)]
VALUE = "short value, about forty bytes long......"
PUTS = 20_000
GETS = 100_000
SCHEMA = "CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB, expiration INTEGER, metadata TEXT)"
PUT = "INSERT OR REPLACE INTO kv (key, value, expiration, metadata) VALUES (?, ?, ?, ?)"
GET = "SELECT value, expiration, metadata FROM kv WHERE key = ?"

# Miniflare 4.20260426 on this kind of machine (DESIGN.md section 7), sequential, persistent.
MINIFLARE = "Miniflare: put about 925 ops/s, get about 2,000 ops/s"


def run() -> list[dict[str, Any]]:
    """Measure `put` and `get` of pyflare's KV and of raw apsw, best of three each."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = wal_connection(root / "raw.sqlite", SCHEMA)
        cursor = raw.cursor()
        kv = KvNamespace(open_storage("bench", root / "state"), RealClock(), "KV", "bench")
        data = VALUE.encode()
        try:

            def raw_put() -> None:
                for i in range(PUTS):
                    cursor.execute(PUT, (KEYS[i % 1000], data, None, None))

            def raw_get() -> None:
                for i in range(GETS):
                    cursor.execute(GET, (KEYS[i % 1000],)).fetchone()

            async def kv_puts() -> None:
                for i in range(PUTS):
                    await kv.put(KEYS[i % 1000], VALUE)

            async def kv_gets() -> None:
                for i in range(GETS):
                    await kv.get(KEYS[i % 1000])

            put_raw = best_rate(PUTS, raw_put)
            put_kv = best_rate(PUTS, lambda: asyncio.run(kv_puts()))
            get_raw = best_rate(GETS, raw_get)
            get_kv = best_rate(GETS, lambda: asyncio.run(kv_gets()))
            assert asyncio.run(kv.get(KEYS[0])) == VALUE
        finally:
            kv.storage.close()
            raw.close()
    return [
        make_row(
            "kv",
            "put (persistent)",
            put_kv,
            "ops/s",
            "raw apsw",
            put_raw,
            min_value=20_000,
            note=f"a file per value, as Miniflare keeps them; {MINIFLARE}",
        ),
        make_row("kv", "get (persistent)", get_kv, "ops/s", "raw apsw", get_raw, min_value=50_000),
    ]


if __name__ == "__main__":
    for row in run():
        print(
            f"{row['name']:<18} {row['value']:>10,.0f} {row['unit']:<6} "
            f"{row['baseline_name']} {row['baseline']:>10,.0f}  ratio {row['ratio']:.2f}  "
            f"target {row['target']}  {'met' if row['met'] else 'NOT MET'}"
        )
