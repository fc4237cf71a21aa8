"""`workers.asgi` (also importable as the top-level `asgi`): run an ASGI app (FastAPI,
Starlette...) as a worker, as the SDK's adapter does.

```python
from workers import WorkerEntrypoint
import asgi

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await asgi.fetch(app, request.js_object, self.env)
```

As on Cloudflare, every request runs the app's lifespan startup and shutdown around it, the
scope carries `scope["env"]` (the worker's env), and the result is a JavaScript `Response`
that the handler returns. The response body is collected whole before it is returned (pyflare
sends whole bodies). A request with `Upgrade: websocket` runs the app's websocket endpoint
(`@app.websocket(...)`) over a `WebSocketPair`, as the SDK's adapter does: the 101 response is
returned at once and the app runs on in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from .entrypoints import WorkerEntrypoint
from .gateway import BaseOptions
from .jshttp import NULL_BODY_STATUSES, JsRequest, JsResponse
from .request import Request

__all__ = [
    "Options",
    "entrypoint",
    "fetch",
    "process_request",
    "process_websocket",
    "request_to_scope",
    "websocket",
]

ASGI = {"spec_version": "2.0", "version": "3.0"}
logger = logging.getLogger("asgi")

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Options(BaseOptions):
    """Options of the ASGI adapter (see `BaseOptions`)."""


DEFAULT_OPTIONS = Options()


def _js_request(req: Request | JsRequest) -> JsRequest:
    return req.js_object if isinstance(req, Request) else req


def request_to_scope(
    req: Request | JsRequest, env: Any, ws: bool = False, state: dict[str, Any] | None = None
) -> Scope:
    """The ASGI scope of a request: `env` rides along as `scope["env"]`."""
    js = _js_request(req)
    url = urlsplit(js.url)
    port = url.port or (443 if url.scheme in ("https", "wss") else 80)
    scope: Scope = {
        "type": "websocket" if ws else "http",
        "asgi": ASGI,
        "http_version": "1.1",
        "method": js.method,
        "scheme": url.scheme,
        "path": unquote(url.path or "/"),
        "raw_path": (url.path or "/").encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in js._pairs],
        "server": (url.hostname or "localhost", port),
        "client": None,
        "env": env,
    }
    if ws:
        offered = ",".join(v for k, v in js._pairs if k == "sec-websocket-protocol")
        scope["subprotocols"] = [p.strip() for p in offered.split(",") if p.strip()]
    if state is not None:
        scope["state"] = dict(state)  # each request gets a shallow copy, as ASGI asks
    return scope


async def start_application(
    app: Any,
) -> tuple[Callable[[], Awaitable[None]], dict[str, Any]]:
    """Run the app's lifespan startup; returns its shutdown and the lifespan state. An app
    without lifespan support is served all the same."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    state: dict[str, Any] = {}
    loop = asyncio.get_running_loop()
    started: asyncio.Future[bool] = loop.create_future()
    stopped: asyncio.Future[None] = loop.create_future()
    inbox.put_nowait({"type": "lifespan.startup"})

    async def send(message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            if not started.done():
                started.set_result(True)
        elif kind == "lifespan.startup.failed":
            if not started.done():
                started.set_exception(
                    RuntimeError(message.get("message") or "ASGI lifespan startup failed")
                )
        elif kind == "lifespan.shutdown.complete":
            if not stopped.done():
                stopped.set_result(None)
        elif kind == "lifespan.shutdown.failed":
            if not stopped.done():
                stopped.set_exception(
                    RuntimeError(message.get("message") or "ASGI lifespan shutdown failed")
                )
        else:
            raise RuntimeError(f"Unexpected lifespan event {kind}")

    async def run() -> None:
        try:
            await app({"type": "lifespan", "asgi": ASGI, "state": state}, inbox.get, send)
        except Exception as exc:
            if not started.done():
                logger.debug(
                    "ASGI lifespan raised before startup; serving without it", exc_info=exc
                )
                started.set_result(False)
                return
            logger.exception("Exception in ASGI lifespan application")
        if not started.done():
            started.set_result(False)
        if not stopped.done():
            stopped.set_result(None)

    task = loop.create_task(run())
    if not await started:

        async def nothing() -> None:
            await task

        return nothing, state

    async def shutdown() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await stopped
        await task

    return shutdown, state


async def process_request(
    app: Any,
    req: Request | JsRequest,
    env: Any,
    ctx: Any = None,
    state: dict[str, Any] | None = None,
    options: Options = DEFAULT_OPTIONS,
) -> JsResponse:
    """Run one HTTP request through the app and return the JavaScript `Response`."""
    js = _js_request(req)
    body = await js._consume() if js._body is not None else b""
    sent_request = False
    finished = asyncio.Event()
    status: int | None = None
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        kind = message["type"]
        if kind == "http.response.start":
            status = int(message["status"])
            headers.extend(
                (k.decode("latin-1").lower(), v.decode("latin-1"))
                for k, v in message.get("headers", [])
            )
        elif kind == "http.response.body":
            if status is None:
                raise RuntimeError("http.response.body sent before http.response.start")
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(request_to_scope(js, env, state=state), receive, send)
    finally:
        finished.set()
    if status is None:
        raise RuntimeError("The application did not generate a response")
    payload = b"".join(chunks)
    response = JsResponse._make(
        None if status in NULL_BODY_STATUSES else payload, status, "", headers
    )
    init = options.response_init()
    if "encodeBody" in init:
        response.encodeBody = init["encodeBody"]
    return response


async def fetch(
    app: Any,
    req: Request | JsRequest,
    env: Any,
    ctx: Any = None,
    *,
    options: Options | None = None,
) -> JsResponse:
    """Serve `req` with the ASGI `app` (lifespan startup, the request, lifespan shutdown)."""
    logger.debug("ASGI request: %s %s", _js_request(req).method, _js_request(req).url)
    shutdown, state = await start_application(app)
    try:
        response = await process_request(
            app, req, env, ctx, state=state, options=options or DEFAULT_OPTIONS
        )
    except Exception:
        logger.exception("ASGI request failed")
        await shutdown()
        raise
    try:
        await shutdown()
    except Exception:
        logger.exception("ASGI lifespan shutdown failed")
    return response


#: Websocket apps running in the background (kept referenced until they finish).
_running: set[asyncio.Task[Any]] = set()


async def process_websocket(app: Any, req: Request | JsRequest, env: Any = None) -> JsResponse:
    """Serve a WebSocket upgrade with the ASGI `app`: the app talks to the server end of a
    `WebSocketPair`, the 101 response carries the client end. The app gets
    `websocket.connect` first, then `websocket.receive` per message (text or bytes) and
    `websocket.disconnect` with the close code and reason; `websocket.accept` is a no-op (the
    socket is accepted before the response is returned). When the app ends without closing,
    the socket is closed with 1000, or 1011 if the app raised."""
    from .jswebsocket import CloseEvent, ErrorEvent, MessageEvent, WebSocketPair

    client, server = WebSocketPair().object_values()
    server.accept()
    server.binaryType = "arraybuffer"
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})

    def on_message(event: MessageEvent) -> None:
        data = event.data
        if isinstance(data, str):
            inbox.put_nowait({"type": "websocket.receive", "text": data})
        else:
            inbox.put_nowait({"type": "websocket.receive", "bytes": data.to_bytes()})

    def on_close(event: CloseEvent) -> None:
        inbox.put_nowait(
            {"type": "websocket.disconnect", "code": event.code, "reason": event.reason}
        )

    def on_error(event: ErrorEvent) -> None:
        inbox.put_nowait({"type": "websocket.disconnect", "code": 1006, "reason": event.message})

    server.onmessage = on_message
    server.onclose = on_close
    server.onerror = on_error
    app_closed = False

    async def send(message: Message) -> None:
        nonlocal app_closed
        kind = message["type"]
        if kind == "websocket.accept":
            return
        if kind == "websocket.send":
            data = message.get("bytes")
            text = message.get("text")
            if data is not None:
                server.send(bytes(data))
            if text is not None:
                server.send(text)
            return
        if kind == "websocket.close":
            app_closed = True
            server.close(message.get("code", 1000), message.get("reason") or "")
            return
        logger.warning("ASGI websocket message %s is not supported", kind)

    async def run() -> None:
        await app(request_to_scope(req, env if env is not None else {}, ws=True), inbox.get, send)

    task = asyncio.ensure_future(run())
    _running.add(task)

    def finished(done: asyncio.Task[Any]) -> None:
        _running.discard(done)
        failed = not done.cancelled() and done.exception() is not None
        if failed:
            from ..tracebacks import format_user_exception

            error = done.exception()
            assert error is not None
            logger.error(
                "ASGI websocket application raised:\n%s", format_user_exception(error).rstrip()
            )
        if not app_closed:
            with contextlib.suppress(Exception):  # the socket may be closed already
                server.close(1011 if failed else 1000, "")

    task.add_done_callback(finished)
    return JsResponse._make(None, 101, "", [], client)


async def websocket(app: Any, req: Request | JsRequest, env: Any = None) -> JsResponse:
    """A WebSocket upgrade served by the ASGI `app` (see `process_websocket`)."""
    return await process_websocket(app, req, env)


def entrypoint(app: Any, *, options: Options | None = None) -> type[WorkerEntrypoint]:
    """A `Default` entrypoint class serving the ASGI `app`."""

    class Default(WorkerEntrypoint):
        async def fetch(self, request: Request) -> JsResponse:
            if (request.headers.get("upgrade") or "").lower() == "websocket":
                return await websocket(app, request, self.env)
            return await fetch(app, request, self.env, self.ctx, options=options)

    return Default


def __getattr__(name: str) -> Any:
    if name == "env":
        # `from workers.asgi import env` in FastAPI: a dependency giving the worker's env.
        from fastapi import Depends
        from fastapi import Request as FastAPIRequest

        async def _env(request: FastAPIRequest) -> Any:
            return request.scope["env"]

        return Depends(_env)
    raise AttributeError(f"module 'workers.asgi' has no attribute {name!r}")
