"""JavaScript's `WebSocket` and `WebSocketPair` as the Workers runtime has them, emulated.

```python
from js import WebSocketPair
client, server = WebSocketPair.new().object_values()
server.accept()
server.addEventListener("message", create_proxy(on_message))
return Response(None, status=101, web_socket=client)
```

The two ends of a pair talk in-process: what one end sends arrives at the other. An end is
*pending* until it is accepted (`accept()`, or `ctx.acceptWebSocket()` in a Durable Object) or
returned in a 101 response; what arrives before that waits, in order. The end a worker returns is
*coupled* by whoever serves the response (`pyflare dev` to the real client, `mf.websocket()` to a
test client): it is released, and its peer now talks to that connection (a `Link`).

States, errors and their texts follow workerd's `web-socket.c++`: `send()` after `close()` raises,
a send after the other side went away is dropped, close codes 1004, 1005, 1006, 1015 and codes
outside 1000-4999 are refused, a close reason needs a code. Two behaviours depend on the worker's
compatibility date, as on Cloudflare (see `WebSocketCompat`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from .jsbody import Blob
from .jsbuffer import ArrayBuffer, as_bytes
from .jsobject import JsProxy, js_class, js_error, jsnull, option

__all__ = [
    "Close",
    "CloseEvent",
    "Disconnect",
    "ErrorEvent",
    "Event",
    "Failure",
    "Link",
    "MessageEvent",
    "WebSocket",
    "WebSocketCompat",
    "WebSocketPair",
    "WebSocketRequestResponsePair",
    "websocket_compat",
]

log = logging.getLogger("miniflare_py")

#: The longest message the runtime takes (32 MiB); a longer one closes the socket with 1009.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
#: `serializeAttachment()` refuses values whose V8 serialization is longer (workerd's limit).
MAX_ATTACHMENT_BYTES = 16 * 1024
DISCONNECTED = "WebSocket disconnected without sending Close frame."
_NOT_ACCEPTED = (
    "You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending "
    "messages."
)

# -- what travels between two ends ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Close:
    """A Close frame: `code` 1005 means one with no status code."""

    code: int = 1005
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The other side went away without a Close frame."""


@dataclass(frozen=True, slots=True)
class Failure:
    """The connection failed (an outbound handshake, a protocol error)."""

    error: BaseException


Message = str | bytes | Close | Disconnect | Failure


class Link(Protocol):
    """A connection outside the worker that an end of a pair is coupled to (the dev server's
    client, a test client, an outbound connection). `send` never blocks; what comes in from the
    far side is handed to `receiver`."""

    receiver: Callable[[Message], None]

    def send(self, message: Message) -> None: ...


# -- compatibility ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebSocketCompat:
    """WebSocket behaviours that depend on the worker's compatibility date and flags.

    - `auto_reply_to_close` (`web_socket_auto_reply_to_close`, from 2026-04-07): an accepted
      socket answers a Close frame with one of its own, so `readyState` is CLOSED when the
      `close` event fires; before, the worker had to call `close()` itself.
    - `blob_binary_type` (`websocket_standard_binary_type`, from 2026-03-17): `binaryType`
      starts as "blob" (binary messages arrive as `Blob`), before as "arraybuffer".
    - `close_reason_limit` (`websocket_close_reason_byte_limit`, from 2026-03-03): `close()`
      refuses a reason longer than 123 UTF-8 bytes.
    """

    auto_reply_to_close: bool = False
    blob_binary_type: bool = False
    close_reason_limit: bool = False

    @classmethod
    def of(cls, date: str | None, flags: tuple[str, ...] | list[str] = ()) -> WebSocketCompat:
        def on(enable: str, disable: str, since: str) -> bool:
            if enable in flags:
                return True
            return disable not in flags and date is not None and date >= since

        return cls(
            auto_reply_to_close=on(
                "web_socket_auto_reply_to_close", "web_socket_manual_reply_to_close", "2026-04-07"
            ),
            blob_binary_type=on(
                "websocket_standard_binary_type", "no_websocket_standard_binary_type", "2026-03-17"
            ),
            close_reason_limit=on(
                "websocket_close_reason_byte_limit",
                "no_websocket_close_reason_byte_limit",
                "2026-03-03",
            ),
        )


#: The compatibility of the worker whose code creates sockets here. Whoever dispatches an
#: upgrade request (the dev server, `mf.websocket()`) sets it from the worker's config; a socket
#: reads it once, when it is created. Without it: the behaviour of compatibility dates before 2026.
websocket_compat: ContextVar[WebSocketCompat] = ContextVar(
    "websocket_compat",
    default=WebSocketCompat(),  # noqa: B039 - a frozen dataclass: never changed in place
)


# -- events -----------------------------------------------------------------------------------


@js_class("Event")
class Event(JsProxy):
    """A DOM `Event` (`open` has no other fields)."""

    __slots__ = ("type",)

    def __init__(self, type: str) -> None:
        self.type = type

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.type!r})"


@js_class("MessageEvent")
class MessageEvent(Event):
    """A message: `data` is a str (text frame), or an `ArrayBuffer` / `Blob` (binary frame)."""

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        super().__init__("message")
        self.data = data


@js_class("CloseEvent")
class CloseEvent(Event):
    """The socket closed: `code`, `reason`, and `wasClean` (false when it was cut off)."""

    __slots__ = ("code", "reason", "wasClean")

    def __init__(self, code: int, reason: str, was_clean: bool) -> None:
        super().__init__("close")
        self.code = code
        self.reason = reason
        self.wasClean = was_clean

    @property
    def was_clean(self) -> bool:
        return self.wasClean

    def __repr__(self) -> str:
        return f"CloseEvent(code={self.code}, reason={self.reason!r}, wasClean={self.wasClean})"


@js_class("ErrorEvent")
class ErrorEvent(Event):
    """Something went wrong on the connection: `message`, and `error` (the exception)."""

    __slots__ = ("error", "message")

    def __init__(self, error: BaseException) -> None:
        super().__init__("error")
        self.error = error
        self.message = str(error)


# -- the socket -------------------------------------------------------------------------------

# Where an end is in its life (workerd's native states).
PENDING = "pending"  # made by WebSocketPair: not yet accepted or returned in a response
CONNECTING = "connecting"  # made by `new WebSocket(url)`: the handshake is under way
ACCEPTED = "accepted"  # accept() (or the handshake of `new WebSocket(url)` completed)
HIBERNATABLE = "hibernatable"  # ctx.acceptWebSocket(): events go to the Durable Object
RELEASED = "released"  # returned in a response and coupled, or finished

_EVENT_TYPES = ("open", "message", "close", "error")


def _close_code(code: Any) -> int:
    try:
        value = int(code)
    except (TypeError, ValueError):
        value = 0
    if not 1000 <= value < 5000 or value in (1004, 1005, 1006, 1015):
        raise js_error("InvalidAccessError", f"Invalid WebSocket close code: {code}.", ValueError)
    return value


def _outgoing(message: Any) -> str | bytes:
    if isinstance(message, str):
        return message
    data = as_bytes(message)
    if data is not None:
        return data
    if isinstance(message, bool):
        return "true" if message else "false"
    if isinstance(message, (int, float)):
        return str(message)  # JavaScript sends String(value)
    raise js_error(
        "TypeError",
        f"WebSocket send() takes a str or binary data (bytes, an ArrayBuffer, a typed array), "
        f"not {type(message).__name__}: send json.dumps(value) for structured data",
        TypeError,
    )


@js_class(
    "WebSocket",
    READY_STATE_CONNECTING=0,
    CONNECTING=0,
    READY_STATE_OPEN=1,
    OPEN=1,
    READY_STATE_CLOSING=2,
    CLOSING=2,
    READY_STATE_CLOSED=3,
    CLOSED=3,
)
class WebSocket(JsProxy):
    """One end of a WebSocket connection (JavaScript's `WebSocket` in the Workers runtime)."""

    __slots__ = (
        "__weakref__",
        "_aborted_out",
        "_attachment",
        "_auto_response_at",
        "_binary_type",
        "_closed_in",
        "_closed_out",
        "_compat",
        "_draining",
        "_error",
        "_half_open",
        "_handlers",
        "_host",
        "_inbox",
        "_link",
        "_listeners",
        "_peer",
        "_state",
        "_tasks",
        "extensions",
        "protocol",
        "url",
    )

    READY_STATE_CONNECTING: ClassVar[int] = 0
    CONNECTING: ClassVar[int] = 0
    READY_STATE_OPEN: ClassVar[int] = 1
    OPEN: ClassVar[int] = 1
    READY_STATE_CLOSING: ClassVar[int] = 2
    CLOSING: ClassVar[int] = 2
    READY_STATE_CLOSED: ClassVar[int] = 3
    CLOSED: ClassVar[int] = 3

    def __init__(self, state: str = PENDING) -> None:
        compat = websocket_compat.get()
        self._compat = compat
        self._state = state
        self._peer: WebSocket | None = None
        self._link: Link | None = None
        self._closed_in = False
        self._closed_out = False
        self._aborted_out = False
        self._error: BaseException | None = None
        self._inbox: deque[Message] = deque()
        self._draining = False
        self._listeners: dict[str, list[Any]] = {}
        self._handlers: dict[str, Any] = {}
        self._binary_type = "blob" if compat.blob_binary_type else "arraybuffer"
        self._half_open = not compat.auto_reply_to_close
        self._attachment: bytes | None = None
        self._auto_response_at: Any = None
        self._host: Any = None  # the Durable Object's sockets, once hibernatable
        self._tasks: set[asyncio.Task[Any]] = set()
        self.url: str | None = None
        self.protocol: str | None = None
        self.extensions: str | None = None

    # -- properties ---------------------------------------------------------------------------

    @property
    def readyState(self) -> int:
        if self._error is not None or (self._closed_in and self._closed_out):
            return 3
        if self._closed_in or self._closed_out:
            return 2
        if self._state == CONNECTING:
            return 0
        return 1

    ready_state = readyState

    @property
    def binaryType(self) -> str:
        return self._binary_type

    @binaryType.setter
    def binaryType(self, value: Any) -> None:
        if value in ("blob", "arraybuffer"):  # any other value is ignored, as the spec says
            self._binary_type = str(value)

    binary_type = binaryType

    # `on<event>` handler properties: set to a function (or None to remove)

    def _handler(self, kind: str) -> Any:
        return self._handlers.get(kind)

    def _set_handler(self, kind: str, fn: Any) -> None:
        if fn is None or fn is jsnull:
            self._handlers.pop(kind, None)
        else:
            self._handlers[kind] = fn

    onopen = property(
        lambda self: self._handler("open"), lambda self, fn: self._set_handler("open", fn)
    )
    onmessage = property(
        lambda self: self._handler("message"), lambda self, fn: self._set_handler("message", fn)
    )
    onclose = property(
        lambda self: self._handler("close"), lambda self, fn: self._set_handler("close", fn)
    )
    onerror = property(
        lambda self: self._handler("error"), lambda self, fn: self._set_handler("error", fn)
    )

    # -- the JavaScript API -------------------------------------------------------------------

    def accept(self, options: Any = None, **kwargs: Any) -> None:
        """Start delivering this end's events to its listeners (`allowHalfOpen=True`: do not
        answer a Close frame automatically)."""
        if self._state == CONNECTING:
            raise js_error(
                "TypeError",
                "Websockets obtained from the 'new WebSocket()' constructor cannot call accept",
                TypeError,
            )
        if self._state == RELEASED:
            raise js_error(
                "TypeError",
                "Can't accept() WebSocket that was already used in a response.",
                TypeError,
            )
        if self._state == HIBERNATABLE:
            raise js_error(
                "TypeError", "Can't accept() WebSocket after enabling hibernation.", TypeError
            )
        if self._state == ACCEPTED:
            return
        half_open = option(options, kwargs, "allowHalfOpen")
        if half_open is not None and half_open is not jsnull:
            self._half_open = bool(half_open)
        self._state = ACCEPTED
        self._wake()

    def send(self, message: Any) -> None:
        """Send a text (str) or binary (bytes, ArrayBuffer, typed array) message."""
        if self._closed_out:
            raise js_error("TypeError", "Can't call WebSocket send() after close().", TypeError)
        if self._aborted_out or self._state == RELEASED:
            return  # the connection is gone: the spec says to drop it silently
        if self._state not in (ACCEPTED, HIBERNATABLE):
            raise js_error("TypeError", _NOT_ACCEPTED, TypeError)
        self._transmit(_outgoing(message))

    def close(self, code: Any = None, reason: Any = None) -> None:
        """Send a Close frame (`code` 1000 or 1001-4999 but 1004-1006 and 1015; `reason` at
        most 123 UTF-8 bytes on compatibility dates from 2026-03-03)."""
        if code is jsnull:
            code = None
        if reason is jsnull:
            reason = None
        number = None if code is None else _close_code(code)
        text = None if reason is None else str(reason)
        if text is not None and self._compat.close_reason_limit and len(text.encode()) > 123:
            raise js_error(
                "SyntaxError",
                "WebSocket close reason must not be longer than 123 bytes when UTF-8 encoded.",
                ValueError,
            )
        if text is not None and number is None:
            raise js_error(
                "InvalidAccessError",
                "If you specify a WebSocket close reason, you must also specify a code.",
                ValueError,
            )
        if self._state == CONNECTING:
            self._state = RELEASED
            if self._link is not None:
                self._link.send(Close(number or 1005, text or ""))
            return
        if self._closed_out or self._aborted_out or self._state == RELEASED:
            return  # a second close() is ignored
        if self._state not in (ACCEPTED, HIBERNATABLE):
            raise js_error("TypeError", _NOT_ACCEPTED, TypeError)
        if self._error is not None:
            raise self._error
        self._closed_out = True
        self._transmit(Close(1005 if number is None else number, text or ""))
        self._maybe_finish()

    def addEventListener(self, type: str, listener: Any, options: Any = None) -> None:
        """Call `listener(event)` for each `type` event ("message", "close", "error", "open");
        an async listener is run as a task. Adding the same listener twice adds it once."""
        if listener is None or listener is jsnull:
            return
        listeners = self._listeners.setdefault(str(type), [])
        once = bool(option(options, {}, "once", False)) if not isinstance(options, bool) else False
        if any(entry[0] is listener for entry in listeners):
            return
        listeners.append((listener, once))

    add_event_listener = addEventListener

    def removeEventListener(self, type: str, listener: Any, options: Any = None) -> None:
        listeners = self._listeners.get(str(type), [])
        listeners[:] = [entry for entry in listeners if entry[0] is not listener]

    remove_event_listener = removeEventListener

    def dispatchEvent(self, event: Event) -> bool:
        self._dispatch(event)
        return True

    def serializeAttachment(self, value: Any) -> None:
        """Keep a structured-clone copy of `value` with the socket (it outlives the Durable
        Object's instance, not a restart); at most 16 KiB once serialized."""
        from ..v8 import serialize

        data = serialize(value)
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise js_error(
                "Error",
                f"A WebSocket 'attachment' cannot be larger than {MAX_ATTACHMENT_BYTES} bytes. "
                f"'attachment' was {len(data)} bytes.",
                ValueError,
            )
        self._attachment = data

    serialize_attachment = serializeAttachment

    def deserializeAttachment(self) -> Any:
        """A fresh copy of the value last given to `serializeAttachment()`, or None."""
        from ..v8 import deserialize

        return None if self._attachment is None else deserialize(self._attachment)

    deserialize_attachment = deserializeAttachment

    def __repr__(self) -> str:
        states = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")
        return f"WebSocket({self._state}, {states[self.readyState]})"

    # -- the engine's side --------------------------------------------------------------------

    def _transmit(self, message: Message) -> None:
        """What this end sends: to its peer in this process, or out through its link."""
        if self._peer is not None:
            self._peer._receive(message)
        elif self._link is not None:
            self._link.send(message)

    def _receive(self, message: Message) -> None:
        """What arrives at this end: kept in order until it is accepted, then delivered."""
        if self._state == RELEASED:
            return
        self._inbox.append(message)
        self._wake()

    def _wake(self) -> None:
        if self._draining or not self._inbox or self._state not in (ACCEPTED, HIBERNATABLE):
            return
        self._draining = True
        self._spawn(self._drain())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        # One message at a time, in arrival order; a Durable Object's handler is awaited before
        # the next message of this socket is delivered, as workerd's hibernation read loop does.
        try:
            while self._inbox and self._state in (ACCEPTED, HIBERNATABLE):
                message = self._inbox.popleft()
                if self._state == HIBERNATABLE:
                    await self._host.deliver(self, message)
                else:
                    self._deliver(message)
                await asyncio.sleep(0)  # another socket's events may run between two of ours
        finally:
            self._draining = False
        if self._inbox and self._state in (ACCEPTED, HIBERNATABLE):
            self._wake()

    def _deliver(self, message: Message) -> None:
        """An accepted (not hibernatable) end: turn `message` into an event."""
        if isinstance(message, (str, bytes)):
            if self._closed_in:
                return
            self._dispatch(MessageEvent(self._data(message)))
        elif isinstance(message, Close):
            if self._closed_in:
                return
            self._closed_in = True
            if not self._half_open and not self._closed_out and not self._aborted_out:
                # Answer the Close frame (compatibility dates from 2026-04-07, or a browser).
                self._closed_out = True
                self._transmit(Close(message.code, message.reason))
            self._dispatch(CloseEvent(message.code, message.reason, True))
            self._maybe_finish()
        elif isinstance(message, Disconnect):
            if self._closed_in:
                return
            self._closed_in = True
            self._aborted_out = True
            self._dispatch(CloseEvent(1006, DISCONNECTED, False))
        elif isinstance(message, Failure):
            if self._error is not None:
                return
            self._error = message.error
            self._aborted_out = True
            self._dispatch(ErrorEvent(message.error))

    def _data(self, message: str | bytes) -> Any:
        if isinstance(message, str):
            return message
        if self._binary_type == "blob":
            return Blob([message])
        return ArrayBuffer(message)

    def _maybe_finish(self) -> None:
        if self._closed_in and self._closed_out and self._host is not None:
            self._host.released(self)

    def _dispatch(self, event: Event) -> None:
        handler = self._handlers.get(event.type)
        listeners = list(self._listeners.get(event.type, ()))
        if handler is not None:
            self._call(handler, event)
        for listener, once in listeners:
            if once:
                self.removeEventListener(event.type, listener)
            self._call(listener, event)

    def _call(self, listener: Any, event: Event) -> None:
        from .context import inside_handler

        token = inside_handler.set(True)
        try:
            fn = listener if callable(listener) else getattr(listener, "handleEvent", None)
            if fn is None:
                return
            result = fn(event)
            if inspect.isawaitable(result):
                self._spawn(_report(result, event.type))
        except Exception as exc:
            _log_listener_error(event.type, exc)
        finally:
            inside_handler.reset(token)

    # pairs and responses

    def _pending_for_coupling(self) -> bool:
        return self._state == PENDING

    def _check_returnable(self) -> None:
        """Raise what workerd raises when this end cannot be returned in a 101 response."""
        if self._state == CONNECTING:
            raise js_error(
                "TypeError",
                "Can't return WebSocket in a Response if it was created with `new WebSocket()`",
                TypeError,
            )
        if self._state == RELEASED:
            raise js_error(
                "TypeError",
                "Can't return WebSocket that was already used in a response.",
                TypeError,
            )
        if self._state == HIBERNATABLE:
            raise js_error(
                "TypeError",
                "Can't return WebSocket in a Response after calling acceptWebSocket().",
                TypeError,
            )
        if self._state == ACCEPTED:
            raise js_error(
                "TypeError",
                "Can't return WebSocket in a Response after calling accept().",
                TypeError,
            )

    def _couple(self, link: Link) -> None:
        """Serve this (returned) end over `link`: the far side of this end talks to `link` from
        now on, starting with what it sent before; this end is released."""
        self._check_returnable()
        self._state = RELEASED
        backlog = list(self._inbox)
        self._inbox.clear()
        peer, self._peer = self._peer, None
        if peer is not None:
            peer._peer = None
            peer._link = link
            link.receiver = peer._receive
        elif self._link is not None:  # an outbound connection handed on: bridge the two links
            upstream, self._link = self._link, None
            upstream.receiver = link.send
            link.receiver = upstream.send
        else:
            link.receiver = _drop
        for message in backlog:
            link.send(message)

    def _hibernate(self, host: Any) -> None:
        """`ctx.acceptWebSocket(ws)`: from now on `host.deliver(ws, message)` gets its events."""
        if self._state != PENDING:
            raise js_error(
                "TypeError",
                "Tried to make an api::WebSocket hibernatable when it was in an incompatible "
                "state.",
                TypeError,
            )
        self._state = HIBERNATABLE
        self._host = host
        self._wake()


def _drop(message: Message) -> None:
    pass


async def _report(awaitable: Any, kind: str) -> None:
    try:
        await awaitable
    except Exception as exc:
        _log_listener_error(kind, exc)


def _log_listener_error(kind: str, exc: BaseException) -> None:
    from ..tracebacks import format_user_exception

    log.error("A WebSocket %s listener raised:\n%s", kind, format_user_exception(exc).rstrip())


@js_class("WebSocketPair")
class WebSocketPair(JsProxy):
    """`new WebSocketPair()`: two connected ends, at keys 0 and 1 (iterable, as in workerd:
    `client, server = WebSocketPair.new()` works, as does `.object_values()`)."""

    __slots__ = ("_ends",)

    def __init__(self) -> None:
        first, second = WebSocket(), WebSocket()
        first._peer, second._peer = second, first
        self._ends = (first, second)

    def object_keys(self) -> list[str]:
        return ["0", "1"]

    def object_values(self) -> list[WebSocket]:
        return list(self._ends)

    def object_entries(self) -> list[tuple[str, WebSocket]]:
        return [("0", self._ends[0]), ("1", self._ends[1])]

    def to_py(self, **_: Any) -> dict[str, WebSocket]:
        return {"0": self._ends[0], "1": self._ends[1]}

    def __getitem__(self, key: int | str) -> WebSocket:
        index = {0: 0, 1: 1, "0": 0, "1": 1}.get(key)
        if index is None:
            raise KeyError(key)
        return self._ends[index]

    def __iter__(self) -> Any:
        return iter(self._ends)

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return "WebSocketPair"


@js_class("WebSocketRequestResponsePair")
class WebSocketRequestResponsePair(JsProxy):
    """`ctx.setWebSocketAutoResponse(WebSocketRequestResponsePair.new("ping", "pong"))`."""

    __slots__ = ("request", "response")

    def __init__(self, request: str, response: str) -> None:
        self.request = str(request)
        self.response = str(response)

    def getRequest(self) -> str:
        return self.request

    def getResponse(self) -> str:
        return self.response

    def __repr__(self) -> str:
        return f"WebSocketRequestResponsePair({self.request!r}, {self.response!r})"
