"""The HTTP front of a `Miniflare`: an ASGI app that turns requests into `fetch` events.

Internal routes are a Starlette app: `/__pyflare/queues` (queue stats as JSON), wrangler's
`/__scheduled` and `/cdn-cgi/handler/scheduled` and current Miniflare's `/cdn-cgi/local/scheduled`
to fire the `scheduled` handler by hand, and the Local Explorer (`/cdn-cgi/local/explorer`, see
`miniflare_py.explorer`, imported on the first request to it). Every `/cdn-cgi/` path is
pyflare's, as at the edge, where a worker never sees one.
Everything else goes to the worker through a lean ASGI path, since it is the hot one; WebSocket
upgrades go to the worker through `server_websocket`.

Internal routes answer only requests addressed to this server by a loopback name or its own IP
address (`Host: localhost:8787`, `127.0.0.1:8787`, `[::1]:8787`) and not sent by another site,
so a web page can neither reach them through DNS rebinding (`Host: evil.example`) nor fire them
cross-site (`Origin` / `Sec-Fetch-Site`); they get 403. Worker routes see any Host, as under
`wrangler dev`. A request body over 100 MB gets 413 (the edge's limit on Free and Pro plans)
before it is read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .explorer.paths import is_explorer_path, is_quiet
from .runtime import Miniflare
from .server_assets import serve_asset
from .server_common import (
    INTERNAL_PREFIXES,
    http_log,
    load_failure,
    log_line,
    request_headers,
    request_url,
    worker_failure,
)
from .worker import WorkerLoadError
from .workers import Request, Response

__all__ = ["create_app"]

#: Request bodies larger than this get 413, as on Cloudflare's Free and Pro plans.
MAX_BODY_BYTES = 100 * 1000 * 1000
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
# Sec-Fetch-Site values of requests a browser makes from this server's own pages or by hand.
_SAME_SITE = (b"same-origin", b"none")
_NO_BODY_METHODS = frozenset({"GET", "HEAD"})


def create_app(runtime: Callable[[], Miniflare]) -> ASGIApp:
    """An ASGI app serving the `Miniflare` that `runtime()` returns at each request.

    `runtime` is a callable so `pyflare dev` can swap the runtime on a config reload.
    """
    internal = _internal_app(runtime)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                from .server_websocket import serve_websocket  # on the first upgrade

                await serve_websocket(runtime, scope, receive, send)
            else:
                await internal(scope, receive, send)
            return
        started = time.perf_counter()
        if scope["path"].startswith(INTERNAL_PREFIXES):
            refusal = _refusal(scope)
            if refusal is None and is_quiet(scope):  # the explorer page's polls
                await internal(scope, receive, send)
            elif refusal is None:
                await _logged(internal, scope, receive, send, started)
            else:
                await _logged(PlainTextResponse(refusal, 403), scope, receive, send, started)
            return
        if scope["method"] not in _NO_BODY_METHODS and _declared_length(scope) > MAX_BODY_BYTES:
            await _logged(_too_large(), scope, receive, send, started)
            return
        body = await _read_body(receive)
        if body is None:
            await _logged(_too_large(), scope, receive, send, started)
            return
        served = await serve_asset(runtime(), scope, send)  # [assets] before the worker
        if served is not None:
            if http_log.isEnabledFor(logging.INFO):
                log_line(scope, served, started)
            return
        request = Request._make(request_url(scope), scope["method"], request_headers(scope), body)
        try:
            response = await runtime().dispatch_fetch(request)
        except Exception as exc:
            response = _error_response(worker_failure(runtime(), request, exc))
        if response.js_response.webSocket is not None:  # a 101 to a request without Upgrade
            from .server_websocket import websocket_without_upgrade

            response = _error_response(websocket_without_upgrade(request))
        await _send_response(response, send)
        if http_log.isEnabledFor(logging.INFO):
            _log_request(scope, response, started)

    return app


def _internal_app(runtime: Callable[[], Miniflare]) -> ASGIApp:
    """pyflare's own routes; the Local Explorer's (whose paths no other route shares) are
    built on the first request to one of them, so a server nobody browses never imports it."""
    routes = _routes_app(runtime)
    explorer: list[ASGIApp] = []

    async def internal(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_explorer_path(scope["path"]):
            if not explorer:
                from .explorer.api import explorer_routes

                explorer.append(Starlette(routes=explorer_routes(runtime)))
            await explorer[0](scope, receive, send)
        else:
            await routes(scope, receive, send)

    return internal


def _routes_app(runtime: Callable[[], Miniflare]) -> Starlette:
    async def queue_stats(_: HTTPRequest) -> JSONResponse:
        return JSONResponse({name: dict(stats) for name, stats in runtime().queues.stats().items()})

    async def scheduled(http_request: HTTPRequest) -> HTTPResponse:
        cron = http_request.query_params.get("cron", "* * * * *")
        time_param = http_request.query_params.get("time")
        try:
            when = float(time_param) / 1000 if time_param else None
        except ValueError:
            return PlainTextResponse(
                f"Invalid time {time_param!r}: expected milliseconds since the epoch", 400
            )
        try:
            result = await runtime().scheduled(cron, when)
        except WorkerLoadError as exc:
            return PlainTextResponse(load_failure(runtime(), exc), 500)
        if result["outcome"] != "ok":
            return PlainTextResponse(f"Scheduled event failed: {result['error']}", 500)
        return PlainTextResponse("Ran scheduled event")

    return Starlette(
        routes=[
            Route("/__pyflare/queues", queue_stats, methods=["GET"]),
            Route("/__scheduled", scheduled, methods=["GET", "POST"]),
            Route("/cdn-cgi/handler/scheduled", scheduled, methods=["GET", "POST"]),
            Route("/cdn-cgi/local/scheduled", scheduled, methods=["GET", "POST"]),
        ]
    )


async def _logged(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    started: float,
) -> None:
    """Run `app` and log its request line, as for the worker's own requests."""
    status = 500

    async def send_status(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await app(scope, receive, send_status)
    if http_log.isEnabledFor(logging.INFO):
        log_line(scope, status, started)


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None once it grows past `MAX_BODY_BYTES` (the rest is not read)."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False) or message["type"] == "http.disconnect":
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _declared_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0  # the HTTP server refuses it before it gets here
    return 0


def _too_large() -> PlainTextResponse:
    # `connection: close`: the server then drops the rest of the body instead of reading it.
    return PlainTextResponse(
        f"413 Request Entity Too Large: the request body is over {MAX_BODY_BYTES:,} bytes, "
        "the limit at Cloudflare's edge (Free and Pro plans)",
        413,
        headers={"connection": "close"},
    )


# -- who may use the internal routes ----------------------------------------------------------


def _refusal(scope: Scope) -> str | None:
    """Why an internal route refuses this request, or None when it is this server's own."""
    host = origin = site = None
    for key, value in scope["headers"]:
        if key == b"host":
            host = value
        elif key == b"origin":
            origin = value
        elif key == b"sec-fetch-site":
            site = value
    server = scope.get("server")
    if host is None or not _own_host(host.decode("latin-1"), server):
        shown = "none" if host is None else repr(host.decode("latin-1"))
        return (
            f"Forbidden: pyflare's internal routes answer only requests to this server by a "
            f"loopback name or its own address (localhost, 127.0.0.1, [::1]); Host was {shown}"
        )
    if (site is not None and site.lower() not in _SAME_SITE) or (
        origin is not None and not _own_origin(origin.decode("latin-1"), server)
    ):
        return "Forbidden: pyflare's internal routes refuse requests sent by another site"
    return None


def _split_host(host: str) -> tuple[str, int | None]:
    name, sep, port = host.rpartition(":")
    if not sep or name.endswith(":") or (name.count(":") and not name.startswith("[")):
        return host.lower(), None  # no port (a bare IPv6 address is not a valid Host)
    if not port.isdigit():
        return "", None
    return name.lower(), int(port)


def _own_host(host: str, server: tuple[str, int | None] | None) -> bool:
    name, port = _split_host(host)
    own_address = server[0] if server else None
    own_port = server[1] if server else None
    if name not in LOOPBACK_NAMES and name not in (own_address, f"[{own_address}]"):
        return False
    if port is None:
        return own_port in (None, 80)
    return own_port is None or port == own_port


def _own_origin(origin: str, server: tuple[str, int | None] | None) -> bool:
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or "/" in rest:
        return False  # "null" (a sandboxed page, a file) or something else
    return _own_host(rest, server)


def _error_response(details: str) -> Response:
    return Response(details, 500, headers={"content-type": "text/plain; charset=utf-8"})


async def _send_response(response: Response, send: Send) -> None:
    js = response.js_response  # the JavaScript Response: its raw header list and body
    body = js._body if type(js._body) is bytes else await js._wire_body()
    headers = [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in js._pairs if k != "content-length"
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _log_request(scope: Scope, response: Response, started: float) -> None:
    log_line(scope, response.status, started, response.status_text)
