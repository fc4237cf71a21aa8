"""The HTTP fetch path: `pyflare dev` serving a trivial worker vs a bare Starlette app.

Both are uvicorn servers in their own process with the same settings (see `bench/bare_app.py`),
both answer "ok" to `GET /`. One load generator drives both, in alternating rounds, in the
same run: `wrk` if it is on PATH, else a cheap asyncio client over raw keep-alive HTTP/1.1
connections (`bench.common.measure_rps`). The figure is the best round of each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import (
    CONNECTIONS,
    bare_app,
    best_of_rounds,
    error_row,
    make_row,
    pyflare_dev,
    rounds_note,
    temp_dir,
    write_project,
)

GROUP = "http"
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
    return write_project(folder, WRANGLER, WORKER)


def run() -> list[dict[str, Any]]:
    """The fetch path's requests/s, beside the bare Starlette app's."""
    name = f"pyflare dev, trivial worker, GET / over {CONNECTIONS} connections"
    try:
        with temp_dir() as tmp:
            folder = write_trivial_worker(tmp / "ok")
            with (
                pyflare_dev(folder, "--no-reload", "--no-persist", "--log-level", "none") as pf,
                bare_app() as bare,
            ):
                ours, theirs = best_of_rounds(pf, bare, "/")
    except Exception as exc:
        return [error_row(GROUP, name, exc)]
    return [
        make_row(
            GROUP,
            name,
            ours,
            "req/s",
            "bare Starlette app on uvicorn",
            theirs,
            min_ratio=TARGET_RATIO,
            note=rounds_note(),
        )
    ]


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
