"""Outbound WebSockets: `new WebSocket(url)` (`js.WebSocket.new(url)`) and `fetch(url,
headers={"Upgrade": "websocket"})`, connected with the `websockets` client.

`new WebSocket(url)` returns at once in CONNECTING; the handshake runs in the background, then
`open` fires (or `error` and a `close` with 1006). A fetch with `Upgrade: websocket` does the
handshake before it returns: a 101 response whose `webSocket` must be `accept()`ed, or the
server's own response when it refused. As in workerd, the URL of `new WebSocket()` must be ws:
or wss: and have no fragment, and the connection offers no compression.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .jsobject import js_error
from .jswebsocket import (
    ACCEPTED,
    CONNECTING,
    MAX_MESSAGE_BYTES,
    PENDING,
    RELEASED,
    Close,
    CloseEvent,
    Disconnect,
    ErrorEvent,
    Event,
    Failure,
    Message,
    WebSocket,
)

if TYPE_CHECKING:
    from .jshttp import JsRequest, JsResponse

__all__ = ["fetch_websocket", "open_websocket", "wants_websocket"]

log = logging.getLogger("miniflare_py")

_CTOR = "WebSocket Constructor: "
_SEPARATORS = set('()<>@,;:\\/[]?={}"')
#: Request headers the client library writes itself.
_HANDSHAKE_HEADERS = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "content-length",
    }
)


def wants_websocket(request: JsRequest) -> bool:
    """Whether an outbound request asks for a WebSocket (`Upgrade: websocket`)."""
    return any(k == "upgrade" and v.strip().lower() == "websocket" for k, v in request._pairs)


def _token(protocol: str) -> bool:
    return bool(protocol) and all(0x21 <= ord(c) <= 0x7E and c not in _SEPARATORS for c in protocol)


def _protocols(protocols: Any) -> list[str]:
    if protocols is None:
        return []
    if isinstance(protocols, str):
        if not _token(protocols):
            raise js_error(
                "SyntaxError", _CTOR + "The protocol header token is invalid.", ValueError
            )
        return [protocols]
    chosen: list[str] = []
    for item in protocols:
        text = str(item)
        if not _token(text):
            raise js_error(
                "SyntaxError", _CTOR + "One of the protocol header tokens is invalid.", ValueError
            )
        if text in chosen:
            raise js_error(
                "SyntaxError",
                _CTOR + "The protocols header cannot have repeating values.",
                ValueError,
            )
        chosen.append(text)
    return chosen


class OutboundLink:
    """A `websockets` client connection, as the far side of an end."""

    def __init__(self) -> None:
        self.receiver: Any = _ignore
        self.connection: Any = None
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._tasks: list[asyncio.Task[Any]] = []
        self.cancelled = False
        self.connecting: asyncio.Task[Any] | None = None

    def send(self, message: Message) -> None:
        if self.connection is None:
            if isinstance(message, Close):  # close() while connecting: give up the handshake
                self.cancelled = True
                if self.connecting is not None:
                    self.connecting.cancel()
            return
        self._queue.put_nowait(message)

    def start(self, connection: Any) -> None:
        self.connection = connection
        self._tasks = [
            asyncio.ensure_future(self._write()),
            asyncio.ensure_future(self._read()),
        ]

    async def _write(self) -> None:
        from websockets.exceptions import ConnectionClosed

        connection = self.connection
        try:
            while True:
                message = await self._queue.get()
                if isinstance(message, (str, bytes)):
                    await connection.send(message)
                elif isinstance(message, Close):
                    if message.code == 1005:
                        await connection.close()
                    else:
                        await connection.close(message.code, _wire_reason(message.reason))
                    return
                else:  # Disconnect / Failure: drop the connection
                    connection.transport.abort()
                    return
        except ConnectionClosed:
            return

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        connection = self.connection
        try:
            async for message in connection:
                self.receiver(message if isinstance(message, str) else bytes(message))
        except ConnectionClosed:
            pass
        except Exception as exc:  # a protocol error
            self.receiver(Failure(exc))
            return
        received = connection.protocol.close_rcvd
        if received is not None:
            self.receiver(Close(int(received.code), received.reason))
        else:
            self.receiver(Disconnect())


def _ignore(message: Message) -> None:
    pass


def _wire_reason(reason: str) -> str:
    """A close reason that fits a Close frame (123 UTF-8 bytes)."""
    data = reason.encode()
    if len(data) <= 123:
        return reason
    return data[:123].decode(errors="ignore")


async def _connect(url: str, protocols: list[str], headers: list[tuple[str, str]]) -> Any:
    from websockets.asyncio.client import connect

    # The guard of outbound HTTP (a test's outbound="deny") refuses sockets too. Looked up,
    # not imported: `outbound` imports this module, and without it loaded no guard is set.
    outbound = sys.modules.get(__package__ + ".outbound")
    guard = getattr(outbound, "_guard", None)
    refusal = None if guard is None else guard(url)
    if refusal is not None:
        raise OSError(refusal)
    return await connect(
        url,
        subprotocols=protocols or None,  # type: ignore[arg-type]
        additional_headers=headers or None,
        compression=None,
        max_size=MAX_MESSAGE_BYTES,
        open_timeout=30,
    )


def open_websocket(url: Any, protocols: Any = None, **kwargs: Any) -> WebSocket:
    """`new WebSocket(url, protocols)` (`js.WebSocket.new(url)`)."""
    url = str(url)
    if protocols is None:
        protocols = kwargs.get("protocols")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise js_error("SyntaxError", _CTOR + "The url is invalid.", ValueError) from None
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        if not parts.scheme or not parts.netloc:
            raise js_error("SyntaxError", _CTOR + "The url is invalid.", ValueError)
        raise js_error("SyntaxError", _CTOR + "The url scheme must be ws or wss.", ValueError)
    if parts.fragment or url.endswith("#"):
        raise js_error("SyntaxError", _CTOR + "The url fragment must be empty.", ValueError)
    chosen = _protocols(protocols)
    ws = WebSocket(CONNECTING)
    ws.url = url
    link = OutboundLink()
    ws._link = link
    link.connecting = asyncio.ensure_future(_open(ws, link, url, chosen))
    ws._tasks.add(link.connecting)
    link.connecting.add_done_callback(ws._tasks.discard)
    return ws


async def _open(ws: WebSocket, link: OutboundLink, url: str, protocols: list[str]) -> None:
    try:
        connection = await _connect(url, protocols, [])
    except asyncio.CancelledError:
        return
    except Exception as exc:
        if link.cancelled:
            return
        error = js_error("Error", f"WebSocket connection to {url} failed: {exc}", OSError)
        ws._closed_in = True
        ws._error = error
        ws._aborted_out = True
        ws._dispatch(ErrorEvent(error))
        ws._dispatch(CloseEvent(1006, "Failed to establish websocket connection", False))
        return
    if link.cancelled or ws._state == RELEASED:
        await connection.close()
        return
    ws.protocol = connection.subprotocol
    ws.extensions = connection.response.headers.get("Sec-WebSocket-Extensions")
    ws._state = ACCEPTED
    link.receiver = ws._receive
    link.start(connection)
    ws._dispatch(Event("open"))
    ws._wake()


async def fetch_websocket(request: JsRequest) -> JsResponse:
    """A fetch with `Upgrade: websocket`: the handshake, then a 101 response carrying the
    (pending) socket, or the server's answer when it did not switch protocols."""
    from websockets.exceptions import InvalidHandshake, InvalidStatus

    from .jshttp import JsResponse

    parts = urlsplit(request.url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None:
        raise js_error("TypeError", f"Fetch API cannot load: {request.url}", TypeError)
    url = urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))
    protocols: list[str] = []
    headers: list[tuple[str, str]] = []
    for key, value in request._pairs:
        if key == "sec-websocket-protocol":
            protocols.extend(p.strip() for p in value.split(",") if p.strip())
        elif key not in _HANDSHAKE_HEADERS:
            headers.append((key, value))
    try:
        connection = await _connect(url, protocols, headers)
    except InvalidStatus as exc:
        answer = exc.response
        pairs = [(k.lower(), v) for k, v in answer.headers.raw_items()]
        return JsResponse._make(
            bytes(answer.body or b"") or None, answer.status_code, answer.reason_phrase, pairs
        )
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        raise js_error("TypeError", f"fetch failed: {exc}", OSError) from exc
    ws = WebSocket(PENDING)
    ws.url = request.url
    ws.protocol = connection.subprotocol
    link = OutboundLink()
    ws._link = link
    link.receiver = ws._receive
    link.start(connection)
    pairs = [(k.lower(), v) for k, v in connection.response.headers.raw_items()]
    response = JsResponse._make(None, 101, "Switching Protocols", pairs, ws)
    response.url = request.url
    return response
