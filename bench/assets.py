"""Static assets over HTTP: `pyflare dev` serving an [assets] folder vs Starlette's
`StaticFiles` serving the same files, in the same run, under the same load generator as
`bench/fetch_path.py` (wrk if on PATH, else the asyncio keep-alive client).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .common import ROOT, ServerProcess, error_row, make_row, measure_rps, pyflare_dev, temp_dir
from .fetch_path import CONNECTIONS, DURATION, ROUNDS, write_trivial_worker

GROUP = "assets"
TARGET_RATIO = 0.8
FILES = {"app.js": 4 * 1024, "style.css": 2 * 1024, "logo.svg": 1024}
PATH = "/app.js"


def _site(folder: Path) -> Path:
    public = folder / "public"
    public.mkdir(parents=True)
    for name, size in FILES.items():
        (public / name).write_bytes(b"/* asset */" + b"x" * (size - 11))
    (public / "index.html").write_text("<!doctype html><title>bench</title>")
    write_trivial_worker(folder)
    config = folder / "wrangler.toml"
    config.write_text(config.read_text() + '\n[assets]\ndirectory = "public"\n')
    return public


def _load(server: ServerProcess, path: str) -> float:
    if shutil.which("wrk"):
        done = subprocess.run(
            ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(DURATION))}s", server.url + path],
            capture_output=True,
            text=True,
            timeout=DURATION + 30,
        )
        match = re.search(r"Requests/sec:\s*([0-9.]+)", done.stdout)
        if done.returncode != 0 or match is None or "Non-2xx" in done.stdout:
            raise RuntimeError(f"wrk failed:\n{done.stdout}{done.stderr}")
        return float(match.group(1))
    return asyncio.run(measure_rps(server.host, server.port, path, CONNECTIONS, DURATION))


def run() -> list[dict[str, Any]]:
    generator = "wrk" if shutil.which("wrk") else "asyncio raw keep-alive client"
    name = f"pyflare dev, GET {PATH} (4 KiB asset) over {CONNECTIONS} connections"
    try:
        with temp_dir() as tmp:
            public = _site(tmp / "site")
            static = ServerProcess(
                [sys.executable, "-m", "bench.static_app", "--port", "0", "--dir", str(public)],
                ROOT,
                30,
            )
            with (
                pyflare_dev(
                    tmp / "site", "--no-reload", "--no-persist", "--log-level", "none"
                ) as pf,
                static as theirs_server,
            ):
                ours: list[float] = []
                theirs: list[float] = []
                for _ in range(ROUNDS):
                    theirs.append(_load(theirs_server, PATH))
                    ours.append(_load(pf, PATH))
    except Exception as exc:
        return [error_row(GROUP, name, exc)]
    return [
        make_row(
            GROUP,
            name,
            max(ours),
            "req/s",
            "Starlette StaticFiles on uvicorn, same files",
            max(theirs),
            min_ratio=TARGET_RATIO,
            note=f"best of {ROUNDS} x {DURATION}s rounds each, load by {generator}",
        )
    ]


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
