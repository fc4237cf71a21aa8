"""R2 through the binding, persistent (SQLite metadata + blob files, Miniflare's layout):
`put` and `get` + `text()` of 1 KiB objects, each beside a raw baseline measured in the same
run (apsw INSERT/SELECT on the same schema + a file write/read); and the peak memory a 200 MB
object adds while it is put and read back (in a subprocess, so nothing else is counted).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from .common import ROOT, best_rate, error_row, make_row, temp_dir, wal_connection

GROUP = "r2"
N = 3000
VALUE = "x" * 1024
MIN_OPS = 10_000
MAX_RSS_MIB = 30
BIG_MB = 200


def _bucket(folder: Path) -> Any:
    from miniflare_py.r2 import open_bucket

    return open_bucket(folder, "bench-bucket")


def _raw(folder: Path) -> tuple[float, float]:
    """The floor: what one SQLite row and one file cost, without any R2 logic."""
    folder.mkdir(parents=True)
    conn = wal_connection(
        folder / "raw.sqlite",
        "CREATE TABLE o (key TEXT PRIMARY KEY, blob_id TEXT, version TEXT, size INTEGER, "
        "etag TEXT, uploaded INTEGER, checksums TEXT, http_metadata TEXT, custom_metadata TEXT)",
    )
    data = VALUE.encode()
    counter = iter(range(10**9))

    def put(n: int) -> None:
        for _ in range(n):
            i = next(counter) % N
            blob = secrets.token_hex(40)
            fd = os.open(folder / blob, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
            conn.execute(
                "INSERT OR REPLACE INTO o VALUES (?,?,?,?,?,?,?,?,?)",
                (f"k{i}", blob, "v", len(data), "e", 0, "{}", "{}", "{}"),
            )

    def get(n: int) -> None:
        for j in range(n):
            row = conn.execute("SELECT * FROM o WHERE key = ?", (f"k{j % N}",)).fetchone()
            with open(folder / row[1], "rb") as f:
                f.read().decode()

    put_rate = best_rate(N, lambda: put(N))
    get_rate = best_rate(N, lambda: get(N))
    conn.close()
    return put_rate, get_rate


def _ours(folder: Path) -> tuple[float, float]:
    bucket = _bucket(folder)

    async def puts(n: int) -> None:
        for i in range(n):
            await bucket.put(f"k{i % N}", VALUE)

    async def gets(n: int) -> None:
        for i in range(n):
            await (await bucket.get(f"k{i % N}")).text()

    put_rate = best_rate(N, lambda: asyncio.run(puts(N)))
    get_rate = best_rate(N, lambda: asyncio.run(gets(N)))
    bucket.close()
    return put_rate, get_rate


_BIG = f"""
import asyncio, json, resource, sys
from pathlib import Path
from miniflare_py.r2 import open_bucket

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def main():
    bucket = open_bucket(Path(sys.argv[1]), "big")
    await bucket.put("warm", b"w" * 1024)
    await (await bucket.get("warm")).text()
    before = peak()
    chunk = b"z" * (1024 * 1024)

    async def body():
        for _ in range({BIG_MB}):
            yield chunk

    obj = await bucket.put("big", body())
    total = 0
    async for part in (await bucket.get("big")).body:
        total += len(part)
    assert total == obj.size == {BIG_MB} * 1024 * 1024, total
    print(json.dumps({{"before": before, "after": peak()}}))
    bucket.close()

asyncio.run(main())
"""


def _big(folder: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _BIG, str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return float(found["after"] - found["before"])


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    put_name = "R2 put, 1 KiB objects, persistent"
    get_name = "R2 get + text(), 1 KiB objects, persistent"
    try:
        with temp_dir() as tmp:
            raw_put, raw_get = _raw(tmp / "raw")
            our_put, our_get = _ours(tmp / "ours")
        baseline = "raw apsw row + file write"
        rows.append(
            make_row(GROUP, put_name, our_put, "ops/s", baseline, raw_put, min_value=MIN_OPS)
        )
        baseline = "raw apsw SELECT + file read"
        rows.append(
            make_row(GROUP, get_name, our_get, "ops/s", baseline, raw_get, min_value=MIN_OPS)
        )
    except Exception as exc:
        rows.append(error_row(GROUP, put_name, exc))
    big_name = f"R2 put + streamed get of a {BIG_MB} MB object: peak RSS added"
    try:
        with temp_dir() as tmp:
            added = _big(tmp)
        rows.append(
            make_row(
                GROUP,
                big_name,
                added,
                "MiB",
                f"object size ({BIG_MB} MB)",
                BIG_MB * 1024 * 1024 / 2**20,
                max_value=MAX_RSS_MIB,
                lower_is_better=True,
                note="peak RSS of a subprocess, after minus before",
            )
        )
    except Exception as exc:
        rows.append(error_row(GROUP, big_name, exc))
    return rows


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
