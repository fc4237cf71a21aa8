"""The HTTP front of a `Miniflare`: a Starlette app that turns requests into `fetch` events.

Internal routes live under `/__pyflare/` (queue stats) plus wrangler's `/__scheduled` and
`/cdn-cgi/handler/scheduled` to fire the `scheduled` handler by hand.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from .runtime import Miniflare
from .worker import WorkerLoadError
from .workers import Headers, Request, Response

__all__ = ["create_app"]

http_log = logging.getLogger("miniflare_py.http")
error_log = logging.getLogger("miniflare_py.errors")


def create_app(runtime: Callable[[], Miniflare]) -> Starlette:
    """An ASGI app serving the `Miniflare` that `runtime()` returns at each request.

    `runtime` is a callable so `pyflare dev` can swap the runtime on a config reload.
    """

    async def worker_fetch(http_request: HTTPRequest) -> HTTPResponse:
        started = time.perf_counter()
        mf = runtime()
        request = Request(
            str(http_request.url),
            http_request.method,
            Headers(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in http_request.headers.raw
            ),
            await http_request.body(),
        )
        try:
            response = await mf.dispatch_fetch(request)
        except WorkerLoadError as exc:
            error_log.error("%s", exc.details)
            reply: HTTPResponse = PlainTextResponse(exc.details, status_code=500)
            _log_request(request, reply.status_code, "Internal Server Error", started)
            return reply
        except Exception as exc:
            details = "".join(traceback.format_exception(exc))
            error_log.error("%s %s raised:\n%s", request.method, request.url, details.rstrip())
            reply = PlainTextResponse(details, status_code=500)
            _log_request(request, reply.status_code, "Internal Server Error", started)
            return reply
        reply = _to_http(response)
        _log_request(request, response.status, response.status_text, started)
        return reply

    async def queue_stats(_: HTTPRequest) -> JSONResponse:
        return JSONResponse({name: dict(stats) for name, stats in runtime().queues.stats().items()})

    async def scheduled(http_request: HTTPRequest) -> HTTPResponse:
        cron = http_request.query_params.get("cron", "* * * * *")
        time_param = http_request.query_params.get("time")
        when = float(time_param) / 1000 if time_param else None
        result = await runtime().scheduled(cron, when)
        if result["outcome"] != "ok":
            return PlainTextResponse(f"Scheduled event failed: {result['error']}", 500)
        return PlainTextResponse("Ran scheduled event")

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/__pyflare/queues", queue_stats, methods=["GET"]),
            Route("/__scheduled", scheduled, methods=["GET", "POST"]),
            Route("/cdn-cgi/handler/scheduled", scheduled, methods=["GET", "POST"]),
            Route("/{path:path}", worker_fetch, methods=methods),
        ]
    )


def _to_http(response: Response) -> HTTPResponse:
    reply = HTTPResponse(response.body, status_code=response.status)
    reply.raw_headers = [
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in response.headers.multi_items()
        if k != "content-length"
    ]
    reply.raw_headers.append((b"content-length", str(len(response.body)).encode()))
    return reply


def _log_request(request: Request, status: int, status_text: str, started: float) -> None:
    if http_log.isEnabledFor(logging.INFO):
        path = request.url.split("://", 1)[-1].partition("/")[2]
        elapsed = (time.perf_counter() - started) * 1000
        http_log.info("%s /%s %d %s (%dms)", request.method, path, status, status_text, elapsed)
