"""WebSocket upgrades to a worker: how the dev server and tests hand one to `fetch`, and the
in-process client a test opens with `mf.websocket()`.

```python
async with await mf.websocket("/room/a") as ws:      # the worker's fetch answered 101
    await ws.send('{"text": "hi"}')
    assert await ws.receive_json() == {...}          # str for text frames, bytes for binary
    await ws.close(1000, "bye")                      # waits for the worker's Close frame
```

The client plays a browser: it answers a Close frame, and frames cross in-process, with the
same checks workerd makes when a worker returns a socket (a 101 `Response` whose `webSocket` is
an end not yet accepted nor used). A response other than 101 raises `WebSocketRejected`, whose
`response` is the worker's `Response`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urljoin

from .workers import Request, Response
from .workers.jsbody import Blob
from .workers.jsbuffer import ArrayBuffer
from .workers.jswebsocket import (
    CloseEvent,
    ErrorEvent,
    Event,
    MessageEvent,
    WebSocket,
    WebSocketCompat,
    websocket_compat,
)

# `mf` below is a `Miniflare` (not imported: the runtime imports this module).
Miniflare = Any

__all__ = [
    "WebSocketClosed",
    "WebSocketRejected",
    "WebSocketTestClient",
    "connect",
    "dispatch_upgrade",
    "returned_socket",
]

DEFAULT_ORIGIN = "http://localhost"


class WebSocketRejected(Exception):
    """The worker answered the upgrade with something other than 101 (`response`)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"the worker answered the WebSocket upgrade with {response.status}")
        self.response = response


class WebSocketClosed(Exception):
    """The connection is closed: `code`, `reason`, `was_clean` of the Close the client got."""

    def __init__(self, code: int, reason: str, was_clean: bool = True) -> None:
        super().__init__(f"WebSocket closed with {code}" + (f" ({reason})" if reason else ""))
        self.code = code
        self.reason = reason
        self.was_clean = was_clean


def compat_of(mf: Miniflare) -> WebSocketCompat:
    config = mf.config
    return WebSocketCompat.of(config.compatibility_date, tuple(config.compatibility_flags or ()))


async def dispatch_upgrade(mf: Miniflare, request: Request) -> Response:
    """Run the worker's `fetch` on an upgrade request, with the worker's compatibility in force
    for the sockets its code makes. Exceptions the handler raises propagate."""
    token = websocket_compat.set(compat_of(mf))
    try:
        response: Response = await mf.dispatch_fetch(request)
        return response
    finally:
        websocket_compat.reset(token)


def returned_socket(response: Response) -> WebSocket | None:
    """The socket a 101 response carries, checked as workerd checks it before serving it; None
    when the response is not a WebSocket handshake. Raises `TypeError` for an end that was
    already accepted or used, or that is not a WebSocket at all."""
    socket = response.js_response.webSocket
    if socket is None:
        return None
    if not isinstance(socket, WebSocket):
        raise TypeError(
            f"the worker returned a 101 response whose web_socket is a "
            f"{type(socket).__name__}, not a WebSocket (one end of WebSocketPair.new())"
        )
    socket._check_returnable()
    return socket


def upgrade_headers(
    headers: Mapping[str, str] | list[tuple[str, str]] | None, protocols: list[str] | None
) -> list[tuple[str, str]]:
    """The request headers of a browser's handshake, plus `headers`."""
    pairs = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", base64.b64encode(os.urandom(16)).decode()),
        ("sec-websocket-version", "13"),
    ]
    if protocols:
        pairs.append(("sec-websocket-protocol", ", ".join(protocols)))
    extra = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    given = {k.lower() for k, _ in extra}
    return [*(p for p in pairs if p[0] not in given), *extra]


async def connect(
    mf: Miniflare,
    url: str = "/",
    *,
    headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
    protocols: list[str] | None = None,
) -> WebSocketTestClient:
    """Open a WebSocket to the worker in-process (what `mf.websocket()` does)."""
    absolute = DEFAULT_ORIGIN + url if url.startswith("/") else urljoin(DEFAULT_ORIGIN, url)
    request = Request._incoming(absolute, "GET", upgrade_headers(headers, protocols))
    response = await dispatch_upgrade(mf, request)
    socket = returned_socket(response)
    if socket is None:
        raise WebSocketRejected(response)
    return WebSocketTestClient(socket, response)


class WebSocketTestClient:
    """A test's end of a WebSocket to the worker: `send`, `receive`, `close`."""

    def __init__(self, socket: WebSocket, response: Response) -> None:
        self.response = response
        #: The subprotocol the worker chose (its `Sec-WebSocket-Protocol` header), or None.
        self.protocol: str | None = response.headers.get("sec-websocket-protocol")
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._socket = socket
        socket._half_open = False  # a browser answers the worker's Close frame
        socket.binaryType = "arraybuffer"
        for kind in ("message", "close", "error"):
            socket.addEventListener(kind, self._events.put_nowait)
        socket.accept()

    @property
    def closed(self) -> bool:
        """Whether the client has seen the connection close."""
        return self.close_code is not None

    async def send(self, data: str | bytes) -> None:
        """Send a text (str) or binary (bytes) message to the worker."""
        if self.closed:
            raise WebSocketClosed(self.close_code or 1006, self.close_reason or "")
        self._socket.send(data)
        await asyncio.sleep(0)

    async def send_json(self, value: Any) -> None:
        await self.send(json.dumps(value))

    async def receive(self, timeout: float | None = 5.0) -> str | bytes:
        """The next message the worker sent (str or bytes). Raises `WebSocketClosed` once the
        connection is closed, `TimeoutError` after `timeout` seconds without one."""
        if self.closed and self._events.empty():
            raise WebSocketClosed(self.close_code or 1006, self.close_reason or "")
        event = await asyncio.wait_for(self._events.get(), timeout)
        if isinstance(event, MessageEvent):
            data = event.data
            if isinstance(data, ArrayBuffer):
                return data.to_bytes()
            if isinstance(data, Blob):
                return await data.bytes()
            return str(data)
        if isinstance(event, CloseEvent):
            self.close_code, self.close_reason = event.code, event.reason
            raise WebSocketClosed(event.code, event.reason, event.wasClean)
        if isinstance(event, ErrorEvent):
            self.close_code, self.close_reason = 1006, event.message
            raise WebSocketClosed(1006, event.message, False)
        raise AssertionError(f"unexpected WebSocket event {event!r}")  # pragma: no cover

    async def receive_json(self, timeout: float | None = 5.0) -> Any:
        return json.loads(await self.receive(timeout))

    async def close(self, code: int = 1000, reason: str = "", timeout: float = 5.0) -> None:
        """Send a Close frame and wait (at most `timeout` seconds) for the worker's; messages
        that arrive meanwhile are dropped. `close_code` / `close_reason` say how it ended (1006
        when the worker never answered)."""
        if self.closed:
            return
        self._socket.close(code, reason)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            try:
                await self.receive(max(0.0, deadline - loop.time()))
            except WebSocketClosed:
                break
            except TimeoutError:
                self.close_code, self.close_reason = 1006, ""
                break

    async def __aenter__(self) -> WebSocketTestClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        while True:
            try:
                yield await self.receive(timeout=None)
            except WebSocketClosed:
                return

    def __repr__(self) -> str:
        state = f"closed {self.close_code}" if self.closed else "open"
        return f"WebSocketTestClient({state})"
