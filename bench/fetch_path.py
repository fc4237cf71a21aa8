"""The HTTP fetch path: `pyflare dev` serving a trivial worker vs a bare Starlette app.

Both are uvicorn servers in their own process with the same settings (see `bench/bare_app.py`),
both answer "ok" to `GET /`. One load generator drives both, in alternating rounds, in the
same run: `wrk` if it is on PATH, else a cheap asyncio client over raw keep-alive HTTP/1.1
connections (`bench.common.measure_rps`). The figure is the best round of each.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .common import (
    ServerProcess,
    bare_app,
    error_row,
    make_row,
    measure_rps,
    pyflare_dev,
    temp_dir,
)

GROUP = "http"
CONNECTIONS = 16
DURATION = 2.5
ROUNDS = 2
TARGET_RATIO = 0.7

WORKER = """\
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return Response("ok")
"""

WRANGLER = """\
name = "bench-ok"
main = "worker.py"
compatibility_date = "2025-08-01"
compatibility_flags = ["python_workers"]
"""


def write_trivial_worker(folder: Path) -> Path:
    """A worker answering "ok" to everything, with a minimal wrangler.toml, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "worker.py").write_text(WORKER)
    (folder / "wrangler.toml").write_text(WRANGLER)
    return folder


def _wrk(server: ServerProcess, duration: float) -> float:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s", server.url + "/"],
        capture_output=True,
        text=True,
        timeout=duration + 30,
    )
    match = re.search(r"Requests/sec:\s*([0-9.]+)", done.stdout)
    if done.returncode != 0 or match is None or "Non-2xx" in done.stdout:
        raise RuntimeError(f"wrk failed:\n{done.stdout}{done.stderr}")
    return float(match.group(1))


def load(server: ServerProcess, duration: float = DURATION) -> float:
    """Requests/s `server` answers on `GET /` under the load generator."""
    if shutil.which("wrk"):
        return _wrk(server, duration)
    return asyncio.run(measure_rps(server.host, server.port, "/", CONNECTIONS, duration))


def run() -> list[dict[str, Any]]:
    """The fetch path's requests/s, beside the bare Starlette app's."""
    generator = "wrk" if shutil.which("wrk") else "asyncio raw keep-alive client"
    name = f"pyflare dev, trivial worker, GET / over {CONNECTIONS} connections"
    try:
        with temp_dir() as tmp:
            folder = write_trivial_worker(tmp / "ok")
            with (
                pyflare_dev(folder, "--no-reload", "--no-persist", "--log-level", "none") as pf,
                bare_app() as bare,
            ):
                ours: list[float] = []
                theirs: list[float] = []
                for _ in range(ROUNDS):
                    theirs.append(load(bare))
                    ours.append(load(pf))
    except Exception as exc:
        return [error_row(GROUP, name, exc)]
    return [
        make_row(
            GROUP,
            name,
            max(ours),
            "req/s",
            "bare Starlette app on uvicorn",
            max(theirs),
            min_ratio=TARGET_RATIO,
            note=f"best of {ROUNDS} x {DURATION}s rounds each, load by {generator}",
        )
    ]


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
