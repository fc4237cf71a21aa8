"""Static assets over HTTP: `pyflare dev` serving an [assets] folder vs Starlette's
`StaticFiles` serving the same files, in the same run, under the same load generator as
`bench/fetch_path.py` (`bench.common.best_of_rounds`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .common import (
    CONNECTIONS,
    ROOT,
    ServerProcess,
    best_of_rounds,
    error_row,
    make_row,
    pyflare_dev,
    rounds_note,
    temp_dir,
)
from .fetch_path import write_trivial_worker

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


def run() -> list[dict[str, Any]]:
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
                ours, theirs = best_of_rounds(pf, theirs_server, PATH)
    except Exception as exc:
        return [error_row(GROUP, name, exc)]
    return [
        make_row(
            GROUP,
            name,
            ours,
            "req/s",
            "Starlette StaticFiles on uvicorn, same files",
            theirs,
            min_ratio=TARGET_RATIO,
            note=rounds_note(),
        )
    ]


if __name__ == "__main__":
    from .__main__ import print_table

    print_table(run())
