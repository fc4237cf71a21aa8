"""The assets baseline: Starlette's `StaticFiles` on uvicorn, serving one folder.

Run as `python -m bench.static_app --dir PATH --port 0`. Same uvicorn settings and `Ready on`
line as `bench/bare_app.py`, so `bench/assets.py` can drive it beside `pyflare dev`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles


async def serve(host: str, port: int, directory: str) -> None:
    app = Starlette(routes=[Mount("/", app=StaticFiles(directory=directory, html=True))])
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            raise SystemExit(1)
        await asyncio.sleep(0.005)
    bound = server.servers[0].sockets[0].getsockname()[1]
    print(f"Ready on http://{host}:{bound}", flush=True)
    await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.dir))


if __name__ == "__main__":
    main()
