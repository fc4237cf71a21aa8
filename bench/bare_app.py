"""The baseline server: a bare Starlette app on uvicorn answering "ok" to every path.

Run as `python -m bench.bare_app --port 0`. It uses the uvicorn settings and the
start-up sequence of `pyflare dev` (same host, log level, no access log, no lifespan, the
default loop and HTTP implementation) and prints the same `Ready on http://IP:PORT` line, so the
two can be compared on throughput, start-up time and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def ok(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", ok, methods=METHODS)])


async def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve `app` as `pyflare dev` serves a worker, and print its `Ready on` line (the assets
    baseline, `bench/static_app.py`, serves its app with this too)."""
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
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(create_app(), args.host, args.port))


if __name__ == "__main__":
    main()
