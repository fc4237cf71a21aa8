"""The WebSocket Hibernation API of one Durable Object: `ctx.acceptWebSocket(ws, tags)`,
`getWebSockets(tag)`, `getTags(ws)`, the auto-response, and the handlers its sockets' events
go to (`webSocketMessage`, `webSocketClose`, `webSocketError`).

Accepted sockets belong to the object, not to its instance: when the instance is dropped (the
worker's code reloaded, `ctx.abort()`, `mf.durable_objects.hibernate()`), the sockets stay
connected and the next event builds a new instance to run its handler on, as after hibernation
on Cloudflare. Each event passes the object's input gate; the events of one socket are delivered
one at a time, each handler awaited before the next message of that socket.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from ..tracebacks import log_exception
from ..workers.jsbuffer import ArrayBuffer
from ..workers.jsobject import js_error, jsnull
from ..workers.jswebsocket import (
    DISCONNECTED,
    Close,
    Disconnect,
    Failure,
    Message,
    WebSocket,
    WebSocketRequestResponsePair,
)
from .errors import DurableObjectError

__all__ = ["HibernatableWebSockets"]

log = logging.getLogger("miniflare_py")

MAX_TAGS = 10
MAX_TAG_LENGTH = 256
MAX_SOCKETS = 32 * 1024
MAX_AUTO_RESPONSE = 2048
MAX_EVENT_TIMEOUT_MS = 604_800_000


class HibernatableWebSockets:
    """The sockets one Durable Object accepted, with their tags."""

    def __init__(self, state: Any) -> None:
        self._state = state  # the `ObjectState` (not imported: it imports this module)
        self.sockets: dict[WebSocket, tuple[str, ...]] = {}  # in the order they were accepted
        self.auto_response: WebSocketRequestResponsePair | None = None
        self.event_timeout_ms: int | None = None

    # ctx calls

    def accept(self, ws: Any, tags: Any = None) -> None:
        if not isinstance(ws, WebSocket):
            raise js_error(
                "TypeError",
                f"acceptWebSocket() takes a WebSocket (one end of a WebSocketPair), not "
                f"{type(ws).__name__}",
                TypeError,
            )
        if ws._state in ("accepted", "hibernatable"):  # workerd's text for both
            raise js_error(
                "Error",
                "Cannot call `acceptWebSocket()` if the WebSocket was already accepted via "
                "`accept()`",
                RuntimeError,
            )
        peer = ws._peer
        if peer is None or not peer._pending_for_coupling():
            raise js_error(
                "Error",
                "Cannot call `acceptWebSocket()` on this WebSocket because its pair has already "
                "been accepted or used in a Response.",
                RuntimeError,
            )
        distinct: list[str] = []
        for tag in [] if tags is None or tags is jsnull else list(tags):
            if len(distinct) >= MAX_TAGS:
                raise js_error(
                    "Error",
                    f"a Hibernatable WebSocket cannot have more than {MAX_TAGS} tags",
                    ValueError,
                )
            text = str(tag)
            if len(text) > MAX_TAG_LENGTH:
                raise js_error(
                    "Error",
                    f'"{text}" is longer than the max tag length ({MAX_TAG_LENGTH} characters).',
                    ValueError,
                )
            if text not in distinct:
                distinct.append(text)
        if len(self.sockets) >= MAX_SOCKETS:
            raise js_error(
                "Error",
                f"only {MAX_SOCKETS} websockets can be accepted on a single Durable Object "
                "instance",
                RuntimeError,
            )
        ws._hibernate(self)
        self.sockets[ws] = tuple(distinct)

    def get(self, tag: Any = None) -> list[WebSocket]:
        if tag is None or tag is jsnull:
            return list(self.sockets)
        wanted = str(tag)
        return [ws for ws, tags in self.sockets.items() if wanted in tags]

    def tags(self, ws: Any) -> list[str]:
        if not isinstance(ws, WebSocket) or ws._state not in ("accepted", "hibernatable"):
            raise js_error(
                "Error",
                "you must call 'acceptWebSocket()' before attempting to access the tags of a "
                "WebSocket.",
                RuntimeError,
            )
        if ws._state != "hibernatable" or ws._host is not self:
            raise js_error("Error", "only hibernatable websockets can have tags.", RuntimeError)
        return list(self.sockets.get(ws, ()))

    def set_auto_response(self, pair: Any = None) -> None:
        if pair is None or pair is jsnull:
            self.auto_response = None
            return
        if not isinstance(pair, WebSocketRequestResponsePair):
            raise js_error(
                "TypeError",
                "setWebSocketAutoResponse() takes a WebSocketRequestResponsePair "
                '(WebSocketRequestResponsePair.new("ping", "pong"))',
                TypeError,
            )
        for kind, text in (("Request", pair.request), ("Response", pair.response)):
            size = len(text.encode())
            if size > MAX_AUTO_RESPONSE:
                raise js_error(
                    "RangeError",
                    f"{kind} cannot be larger than {MAX_AUTO_RESPONSE} bytes. A "
                    f"{kind.lower()} of size {size} was provided.",
                    ValueError,
                )
        self.auto_response = pair

    def set_event_timeout(self, timeout_ms: Any = None) -> None:
        if timeout_ms is None or timeout_ms is jsnull or int(timeout_ms) == 0:
            self.event_timeout_ms = None
            return
        value = int(timeout_ms)
        if value > MAX_EVENT_TIMEOUT_MS:
            raise js_error("Error", "Event timeout should not exceed 604800000 ms.", ValueError)
        self.event_timeout_ms = value

    # what the sockets call

    def released(self, ws: WebSocket) -> None:
        """`ws` is closed both ways (or gone): `getWebSockets()` no longer lists it."""
        self.sockets.pop(ws, None)

    async def deliver(self, ws: WebSocket, message: Message) -> None:
        """One event of `ws`: the auto-response, or the object's handler for it."""
        if isinstance(message, (str, bytes)):
            if ws._closed_in:
                return
            pair = self.auto_response
            if pair is not None and message == pair.request:
                # Answered without waking the object, as on Cloudflare.
                ws._auto_response_at = datetime.now(UTC)
                if not ws._closed_out and not ws._aborted_out:
                    ws._transmit(pair.response)
                return
            data = message if isinstance(message, str) else ArrayBuffer(message)
            await self._handle("webSocketMessage", ws, data)
        elif isinstance(message, Close):
            if ws._closed_in:
                return
            ws._closed_in = True
            self.released(ws)
            await self._handle("webSocketClose", ws, message.code, message.reason, True)
            if not ws._closed_out and not ws._aborted_out:
                # The handler did not answer with close(): workerd drops the connection then,
                # and the other side sees it end without a Close frame (1006).
                ws._aborted_out = True
                ws._transmit(Disconnect())
        elif isinstance(message, Disconnect):
            if ws._closed_in:
                return
            ws._closed_in = True
            ws._aborted_out = True
            self.released(ws)
            await self._handle("webSocketClose", ws, 1006, DISCONNECTED, False)
        elif isinstance(message, Failure):
            ws._error = message.error
            ws._aborted_out = True
            ws._closed_in = True
            self.released(ws)
            await self._handle("webSocketError", ws, message.error)

    async def _handle(self, name: str, *args: Any) -> None:
        state = self._state
        owner = state.owner

        def invoke(instance: Any) -> Any:
            handler = getattr(instance, name, None)
            if handler is None:
                if name == "webSocketMessage":
                    log.warning(
                        "A WebSocket message to %s %s was dropped: the class has no "
                        "webSocketMessage() method",
                        owner.class_name,
                        state.id.toString(),
                    )
                return None
            return handler(*args)

        try:
            run = state.run(invoke)
            if self.event_timeout_ms is None:
                await run
            else:
                await asyncio.wait_for(run, self.event_timeout_ms / 1000)
        except TimeoutError:
            log.error(
                "%s.%s() ran longer than the event timeout (%d ms) and was cancelled",
                owner.class_name,
                name,
                self.event_timeout_ms,
            )
        except DurableObjectError as exc:
            log.warning("%s.%s(): %s", owner.class_name, name, exc)
        except Exception as exc:
            log_exception(
                log,
                owner.host.binding_host,
                f"{owner.class_name}.{name}",
                "%s.%s() raised",
                owner.class_name,
                name,
                exc=exc,
            )

    def __len__(self) -> int:
        return len(self.sockets)
