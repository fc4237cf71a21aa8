"""The assets baseline: Starlette's `StaticFiles` on uvicorn, serving one folder.

Run as `python -m bench.static_app --dir PATH --port 0`. Same uvicorn settings and `Ready on`
line as `bench/bare_app.py`, so `bench/assets.py` can drive it beside `pyflare dev`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from .bare_app import serve


def create_app(directory: str) -> Starlette:
    return Starlette(routes=[Mount("/", app=StaticFiles(directory=directory, html=True))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(create_app(args.dir), args.host, args.port))


if __name__ == "__main__":
    main()
