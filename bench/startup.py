"""Start-up time and resident memory of `pyflare dev`, beside a bare Starlette app on uvicorn.

- start-up: from just before the process is spawned to its `Ready on http://...` line, median of
  several runs (after one unmeasured run that warms the OS caches), for `pyflare dev --no-reload
  --no-persist` on the seed; also to the first response (`GET /api/ai-status`);
- memory: RSS of `pyflare dev` on the seed (persistent, file watcher on, as a developer runs it)
  idle after start, then after 2,000 seed tasks over HTTP; baseline: the bare app's idle RSS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import (
    HttpConnection,
    ServerProcess,
    bare_app,
    build_request,
    copy_seed,
    error_row,
    make_row,
    median,
    pyflare_dev,
    temp_dir,
)
from .seed import CONCURRENCY, SeedClient, prepare_seed

GROUP = "start-up & memory"
RUNS = 7
IDLE_SETTLE = 1.0
TASKS = 2000
TARGET_READY = 0.35
TARGET_IDLE_MIB = 50.0
TARGET_LOADED_MIB = 70.0
BARE_NAME = "bare Starlette app on uvicorn"


async def _first_response(server: ServerProcess, path: str) -> float:
    """Seconds from the spawn of `server` to the end of its first response to `GET path`."""
    async with asyncio.timeout(10):
        conn = await HttpConnection.open(server.host, server.port)
        try:
            status, body = await conn.request(
                build_request("GET", path, f"{server.host}:{server.port}")
            )
        finally:
            conn.close()
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
    return time.perf_counter() - server.started_at


def _startup(start: Callable[[], ServerProcess], path: str) -> tuple[float, float]:
    """Median seconds to `Ready on` and to the first response over `RUNS` runs (+1 warm-up)."""
    ready: list[float] = []
    first: list[float] = []
    for run in range(RUNS + 1):
        with start() as server:
            to_first = asyncio.run(_first_response(server, path))
            if run:
                ready.append(server.ready_seconds)
                first.append(to_first)
    return median(ready), median(first)


def startup_rows() -> list[dict[str, Any]]:
    ready_name = f"start to 'Ready on' (median of {RUNS})"
    first_name = f"start to first response (median of {RUNS})"
    try:
        with temp_dir() as tmp:
            folder = copy_seed(tmp)
            ours = _startup(
                lambda: pyflare_dev(folder, "--no-reload", "--no-persist"), "/api/ai-status"
            )
            theirs = _startup(bare_app, "/")
    except Exception as exc:
        return [error_row(GROUP, ready_name, exc), error_row(GROUP, first_name, exc)]
    return [
        make_row(
            GROUP,
            ready_name,
            ours[0],
            "s",
            BARE_NAME,
            theirs[0],
            max_value=TARGET_READY,
            lower_is_better=True,
            note="pyflare dev --no-reload --no-persist on the seed",
        ),
        make_row(
            GROUP,
            first_name,
            ours[1],
            "s",
            BARE_NAME,
            theirs[1],
            lower_is_better=True,
            note="Miniflare 4: about 0.44 s (DESIGN.md §7, recorded, not measured here)",
        ),
    ]


def _peak_mib(pid: int) -> float | None:
    """The process's peak RSS (VmHWM) in MiB, where /proc has it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def memory_rows() -> list[dict[str, Any]]:
    idle_name = "RSS idle after start"
    loaded_name = f"RSS after {TASKS:,} seed tasks over HTTP"
    try:
        with bare_app() as bare:
            time.sleep(IDLE_SETTLE)
            baseline = bare.rss_mib()
        with temp_dir() as tmp:
            folder = prepare_seed(tmp)
            with pyflare_dev(folder, "--log-level", "none") as server:
                time.sleep(IDLE_SETTLE)
                idle = server.rss_mib()
                asyncio.run(_submit(server, TASKS))
                time.sleep(IDLE_SETTLE)
                loaded = server.rss_mib()
                peak = _peak_mib(server.proc.pid)
    except Exception as exc:
        return [error_row(GROUP, idle_name, exc), error_row(GROUP, loaded_name, exc)]
    setup = "pyflare dev on the seed, persistent, file watcher on"
    return [
        make_row(
            GROUP,
            idle_name,
            idle,
            "MiB",
            BARE_NAME + " (idle)",
            baseline,
            max_value=TARGET_IDLE_MIB,
            lower_is_better=True,
            note=f"{setup}; Miniflare 4: about 215 MiB (DESIGN.md §7)",
        ),
        make_row(
            GROUP,
            loaded_name,
            loaded,
            "MiB",
            BARE_NAME + " (idle)",
            baseline,
            max_value=TARGET_LOADED_MIB,
            lower_is_better=True,
            note=(
                f"{setup}, {CONCURRENCY} concurrent submitters"
                + (f"; peak {peak:.1f} MiB" if peak else "")
                + "; Miniflare 4: about 490 MiB (DESIGN.md §7)"
            ),
        ),
    ]


async def _submit(server: ServerProcess, n: int) -> None:
    client = SeedClient(server.host, server.port)
    try:
        await client.run(n, CONCURRENCY)
    finally:
        client.close()


def run() -> list[dict[str, Any]]:
    """Start-up and memory figures."""
    return [*startup_rows(), *memory_rows()]


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
