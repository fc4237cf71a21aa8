"""WebSocket upgrades over `pyflare dev`: the worker's `fetch` answers, the server does the rest.

A WebSocket request (uvicorn speaks the protocol, with the `websockets` package) becomes the
`Request` the worker sees at the edge: `http(s)://` URL, `Upgrade: websocket` and the handshake
headers. When `fetch` returns `Response(None, status=101, web_socket=client)`, the server
completes the handshake (with the subprotocol and extra headers of that response) and couples
`client` to the connection: frames from the browser arrive at the worker's end of the pair, what
the worker sends goes out, in order. Any other response is sent as an ordinary HTTP response,
and the client sees its upgrade refused.

Differences from the edge, on the wire: the server answers a client's Close frame at once with
the same code (the `websockets` package does), so a worker's own `close()` after that does not
reach the client; a close without a status code (1005) goes out as 1000, and a code the
`websockets` package refuses to send (1016-2999) as 1000 with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from .server_common import (
    INTERNAL_PREFIXES,
    error_log,
    log_line,
    request_headers,
    request_url,
    worker_failure,
)
from .websocket_client import dispatch_upgrade, returned_socket
from .workers import Request, Response
from .workers.jswebsocket import Close, Disconnect, Message, WebSocket

if TYPE_CHECKING:
    from .runtime import Miniflare

__all__ = ["serve_websocket", "websocket_without_upgrade"]

# Response headers the handshake writes itself (the worker's 101 may carry its own).
_HANDSHAKE_HEADERS = frozenset(
    {
        "upgrade",
        "connection",
        "sec-websocket-accept",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "content-length",
        "transfer-encoding",
        "date",
        "server",
    }
)
# Close codes the `websockets` package sends (RFC 6455 7.4.1 and the IANA registry).
_WIRE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


async def serve_websocket(
    runtime: Callable[[], Miniflare], scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve one WebSocket connection (an ASGI `websocket` scope) with the worker."""
    started = time.perf_counter()
    if scope["path"].startswith(INTERNAL_PREFIXES):
        await _refuse(scope, send, 404, "pyflare's internal routes do not take WebSockets", started)
        return
    mf = runtime()
    request = Request._make(request_url(scope), "GET", request_headers(scope), b"")
    try:
        response = await dispatch_upgrade(mf, request)
        socket = returned_socket(response)
    except Exception as exc:
        await _refuse(scope, send, 500, worker_failure(mf, request, exc), started)
        return
    if socket is None:
        await _send_refusal(scope, send, response)
        log_line(scope, response.status, started, response.status_text)
        return
    link = AsgiLink(send)
    try:
        await send(_accept(response))
    except Exception:  # the client went away while the worker answered
        socket._couple(link)
        link.finish()
        link.receiver(Disconnect())
        return
    log_line(scope, 101, started, "Switching Protocols")
    await _pump(socket, link, receive)


def websocket_without_upgrade(request: Request) -> str:
    """Log and return workerd's error for a worker that answers a plain request with a
    WebSocket (the 500 the client then gets says the same)."""
    message = (
        "TypeError: Worker tried to return a WebSocket in a response to a request which did "
        'not contain the header "Upgrade: websocket".'
    )
    error_log.error("%s %s raised:\n%s", request.method, request.url, message)
    return message + "\n"


def _accept(response: Response) -> dict[str, Any]:
    js = response.js_response
    message: dict[str, Any] = {"type": "websocket.accept"}
    protocol = next((v for k, v in js._pairs if k == "sec-websocket-protocol"), None)
    if protocol:
        message["subprotocol"] = protocol.split(",")[0].strip()
    extra = [
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in js._pairs
        if k not in _HANDSHAKE_HEADERS
    ]
    if extra:
        message["headers"] = extra
    return message


class AsgiLink:
    """The browser's connection, as the far side of the end the worker returned."""

    def __init__(self, send: Send) -> None:
        self.receiver: Callable[[Message], None] = _drop
        self.aborted = False  # the worker's side went away: drop the connection
        self._send = send
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._done = False

    def send(self, message: Message) -> None:
        if not self._done:
            self._queue.put_nowait(message)

    def finish(self) -> None:
        """The connection is gone: what is still queued is dropped."""
        self._done = True
        self._queue.put_nowait(None)

    async def write(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                return
            try:
                if isinstance(message, str):
                    await self._send({"type": "websocket.send", "text": message})
                elif isinstance(message, bytes):
                    await self._send({"type": "websocket.send", "bytes": message})
                elif isinstance(message, Close):
                    code, reason = _wire_close(message)
                    await self._send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                else:  # Disconnect / Failure: end the connection without a Close frame
                    self.aborted = True
                    return
            except Exception:  # the client is gone (uvicorn's ClientDisconnected, ...)
                return

    async def read(self, receive: Receive) -> None:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                self.receiver(text if text is not None else bytes(message.get("bytes") or b""))
            elif kind == "websocket.disconnect":
                # uvicorn reports a Close frame with its code and reason, and a connection that
                # ended without one with a code alone.
                if "reason" in message:
                    code = int(message.get("code") or 1005)
                    self.receiver(Close(code, message.get("reason") or ""))
                else:
                    self.receiver(Disconnect())
                return


def _drop(message: Message) -> None:
    pass


class _DenialFilter(logging.Filter):
    """uvicorn logs "ASGI callable returned without completing handshake." after a refusal
    sent as an HTTP response (its WebSocket Denial Response extension): not an error here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "ASGI callable returned without completing handshake."


def _quiet_uvicorn() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DenialFilter) for f in logger.filters):
        logger.addFilter(_DenialFilter())


def _wire_close(close: Close) -> tuple[int, str]:
    reason = close.reason
    data = reason.encode()
    if len(data) > 123:  # compatibility dates before 2026-03-03 let close() take any length
        reason = data[:123].decode(errors="ignore")
    code = close.code
    if code == 1005:
        return 1000, ""
    if code not in _WIRE_CODES and not 3000 <= code < 5000:
        return 1000, reason
    return code, reason


async def _pump(socket: WebSocket, link: AsgiLink, receive: Receive) -> None:
    socket._couple(link)
    reader = asyncio.ensure_future(link.read(receive))
    writer = asyncio.ensure_future(link.write())
    try:
        done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done:
            link.finish()
            await writer
        elif link.aborted:
            reader.cancel()
        else:
            await reader  # the worker closed: the client's answer (or its loss) ends it
    finally:
        for task in (reader, writer):
            if not task.done():
                task.cancel()


async def _refuse(scope: Scope, send: Send, status: int, text: str, started: float) -> None:
    response = Response(text, status, headers={"content-type": "text/plain; charset=utf-8"})
    await _send_refusal(scope, send, response)
    log_line(scope, status, started)


async def _send_refusal(scope: Scope, send: Send, response: Response) -> None:
    """An HTTP response instead of the handshake (uvicorn's WebSocket Denial Response)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})  # uvicorn answers 403
        return
    _quiet_uvicorn()
    js = response.js_response
    body = await js._wire_body()
    headers = [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in js._pairs if k != "content-length"
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    await send(
        {"type": "websocket.http.response.start", "status": response.status, "headers": headers}
    )
    await send({"type": "websocket.http.response.body", "body": body})
