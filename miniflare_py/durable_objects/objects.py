"""The objects of one Durable Object class: their state, their instances, and calls into them.

An object is built on its first event (`cls(ctx, env)`) and kept until the worker reloads or
`ctx.abort()` resets it; its storage outlives both. Every event (RPC call, `fetch`, alarm,
WebSocket message) waits at the object's input gate, then runs on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..workers.context import inside_handler
from ..workers.jsdict import JsDict
from .alarms import AlarmScheduler
from .database import DatabasePool, ObjectDatabase
from .errors import DurableObjectAbort, DurableObjectError, DurableObjectNotFoundError
from .gate import InputGate
from .ids import DurableObjectId
from .rpc import rpc_copy

if TYPE_CHECKING:
    from ..bindings.base import BindingHost
    from ..workers.jswebsocket import WebSocket, WebSocketRequestResponsePair

__all__ = ["DurableObjectState", "ObjectClass", "ObjectState"]

log = logging.getLogger("miniflare_py")

#: Names an RPC call may not reach even though they do not start with "_".
_NOT_RPC = frozenset({"ctx", "env"})


class DurableObjectState:
    """The `ctx` a Durable Object is built with: `id`, `storage`, `waitUntil()`,
    `blockConcurrencyWhile()`, `abort()`, and the WebSocket hibernation calls."""

    def __init__(self, state: ObjectState) -> None:
        self._state = state
        self.id = state.id
        self.storage = state.storage
        self.props: dict[str, Any] = {}

    def waitUntil(self, awaitable: Awaitable[Any]) -> None:
        """Keep `awaitable` running after the current event (the runtime awaits it at close)."""
        self._state.owner.host_spawn(awaitable)

    wait_until = waitUntil

    def blockConcurrencyWhile(self, callback: Callable[[], Any]) -> asyncio.Future[Any]:
        """Hold every other event of this object until `callback()` finishes; its result.

        Starts at once, so it also works from `__init__` (where it cannot be awaited). If the
        callback raises, the object is reset (rebuilt on its next event), as on the edge."""
        gate = self._state.gate
        gate.close()

        async def run() -> Any:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    result = await result
                return result
            except BaseException:
                self._state.reset()
                raise
            finally:
                gate.open()

        return asyncio.ensure_future(run())

    block_concurrency_while = blockConcurrencyWhile

    def abort(self, reason: str | None = None) -> None:
        """Reset the object: the current event stops here, the next one builds a new instance.

        (Reset here, not only by the event that catches it: a WebSocket listener or a
        `waitUntil` task may call it too.)"""
        self._state.reset()
        raise DurableObjectAbort(reason or "Durable Object abort requested")

    # WebSocket hibernation API (see `websockets.py`)

    def acceptWebSocket(self, ws: WebSocket, tags: list[str] | None = None) -> None:
        """Accept `ws` on behalf of the object: its messages go to `webSocketMessage`, its
        close to `webSocketClose`, its errors to `webSocketError`, of whichever instance is
        current (at most 10 tags of at most 256 characters each)."""
        self._state.websockets.accept(ws, tags)

    accept_web_socket = acceptWebSocket

    def getWebSockets(self, tag: str | None = None) -> list[WebSocket]:
        """The accepted WebSockets not yet disconnected, those carrying `tag` if given."""
        return self._state.websockets.get(tag)

    get_web_sockets = getWebSockets

    def getTags(self, ws: WebSocket) -> list[str]:
        """The tags `ws` was accepted with."""
        return self._state.websockets.tags(ws)

    get_tags = getTags

    def setWebSocketAutoResponse(self, pair: WebSocketRequestResponsePair | None = None) -> None:
        """Answer the text message `pair.request` with `pair.response` on every accepted
        socket without running the object; no argument removes it."""
        self._state.websockets.set_auto_response(pair)

    set_web_socket_auto_response = setWebSocketAutoResponse

    def getWebSocketAutoResponse(self) -> WebSocketRequestResponsePair | None:
        return self._state.websockets.auto_response

    get_web_socket_auto_response = getWebSocketAutoResponse

    def getWebSocketAutoResponseTimestamp(self, ws: WebSocket) -> Any:
        """When `ws` last got the auto-response (a datetime), or None."""
        return ws._auto_response_at

    get_web_socket_auto_response_timestamp = getWebSocketAutoResponseTimestamp

    def setHibernatableWebSocketEventTimeout(self, timeout_ms: int | None = None) -> None:
        """Cancel a WebSocket handler that runs longer than `timeout_ms` (None or 0: no limit)."""
        self._state.websockets.set_event_timeout(timeout_ms)

    set_hibernatable_web_socket_event_timeout = setHibernatableWebSocketEventTimeout

    def getHibernatableWebSocketEventTimeout(self) -> int | None:
        return self._state.websockets.event_timeout_ms

    get_hibernatable_web_socket_event_timeout = getHibernatableWebSocketEventTimeout


class ObjectState:
    """One object: id, storage, gate, and the current instance (None until its first event)."""

    def __init__(self, owner: ObjectClass, object_id: DurableObjectId, db: ObjectDatabase) -> None:
        # Storage and WebSockets are imported with the first object, not with the binding.
        from .storage import DurableObjectStorage
        from .websockets import HibernatableWebSockets

        self.owner = owner
        self.id = object_id
        self.db = db
        self.gate = InputGate()
        self.storage = DurableObjectStorage(db, self.gate, owner.alarms, object_id.toString())
        self.instance: Any = None
        self.ctx: DurableObjectState | None = None
        self.websockets = HibernatableWebSockets(self)

    def reset(self) -> None:
        self.instance = None
        self.ctx = None

    def ensure_instance(self) -> Any:
        if self.instance is None:
            cls = self.owner.resolve_class()
            self.ctx = DurableObjectState(self)
            self.instance = cls(self.ctx, self.owner.host.env)
        return self.instance

    async def run(self, fn: Callable[[Any], Any]) -> Any:
        """Deliver one event: wait at the gate, build the instance if needed, run `fn(instance)`."""
        if self.gate.closed:
            await self.gate.wait_open()
        instance = self.ensure_instance()
        token = inside_handler.set(True)
        try:
            result = fn(instance)
            if inspect.isawaitable(result):
                result = await result
            return result
        except DurableObjectAbort as abort:
            self.reset()
            raise DurableObjectError(f"Durable Object was reset by ctx.abort(): {abort}") from None
        finally:
            inside_handler.reset(token)


class ObjectHost:
    """What objects need from the binding instance that owns them (env, worker, spawning)."""

    def __init__(self, binding_host: BindingHost) -> None:
        self.binding_host = binding_host

    @property
    def env(self) -> Any:
        """The worker's `env`, which objects are constructed with."""
        return self.binding_host.env


class ObjectClass:
    """Every object of one class, with its storage folder and alarms."""

    def __init__(
        self,
        class_name: str,
        unique_key: str,
        where: str,
        host: ObjectHost,
        folder: Path | None,
        pool: DatabasePool,
        spawn: Callable[[Awaitable[Any]], Any],
    ) -> None:
        self.class_name = class_name
        self.unique_key = unique_key
        self.where = where  # the config key that names it, for messages
        self.host = host
        self.folder = folder
        self.pool = pool
        self.host_spawn = spawn
        self.objects: dict[str, ObjectState] = {}
        self.names: dict[str, str] = {}
        self.alarms = AlarmScheduler(host.binding_host.clock, folder, class_name, self._run_alarm)

    # the class in the worker module

    def resolve_class(self) -> type:
        worker = self.host.binding_host.worker
        module = getattr(worker, "module", None)
        cls = getattr(module, self.class_name, None)
        if not inspect.isclass(cls):
            main = self.host.binding_host.config.main.name
            raise DurableObjectNotFoundError(
                f'{main} does not define the Durable Object class "{self.class_name}" named by '
                f"{self.where}: define `class {self.class_name}(DurableObject)` in {main} or "
                "import it there"
            )
        return cls

    # objects

    def state(self, object_id: DurableObjectId) -> ObjectState:
        hex_id = object_id.toString()
        state = self.objects.get(hex_id)
        if state is None:
            path = None if self.folder is None else self.folder / f"{hex_id}.sqlite"
            if object_id.name is not None:
                self.names[hex_id] = object_id.name
            elif hex_id in self.names:
                object_id = DurableObjectId(hex_id, self.names[hex_id])
            state = ObjectState(self, object_id, ObjectDatabase(path, self.pool))
            self.objects[hex_id] = state
        return state

    def state_by_hex(self, hex_id: str) -> ObjectState:
        return self.state(DurableObjectId(hex_id, self.names.get(hex_id)))

    def stored_ids(self) -> list[str]:
        """Ids of the objects that have storage (on disk, or touched in memory)."""
        found = {h for h, s in self.objects.items() if s.db.is_open or s.instance is not None}
        if self.folder is not None and self.folder.is_dir():
            found.update(p.stem for p in self.folder.glob("*.sqlite") if p.stem != "metadata")
        return sorted(found)

    async def call(
        self, object_id: DurableObjectId, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """An RPC call of `method` with copies of the arguments; a copy of its result."""
        if method.startswith("_") or method in _NOT_RPC:
            raise TypeError(
                f'Cannot call "{method}" over RPC: methods of {self.class_name} whose names start '
                'with "_" are private'
                if method.startswith("_")
                else f'"{method}" of {self.class_name} is not a method that RPC can call'
            )
        args = tuple(rpc_copy(a) for a in args)
        kwargs = {k: rpc_copy(v) for k, v in kwargs.items()}

        def invoke(instance: Any) -> Any:
            fn = getattr(instance, method, None)
            if fn is None:
                raise TypeError(f'The RPC receiver does not implement the method "{method}".')
            if not callable(fn):
                raise TypeError(
                    f'"{method}" of {self.class_name} is not a method that RPC can call'
                )
            return fn(*args, **kwargs)

        return rpc_copy(await self.state(object_id).run(invoke))

    async def fetch(self, object_id: DurableObjectId, request: Any) -> Any:
        from ..workers import Response
        from ..workers.jshttp import JsResponse

        def invoke(instance: Any) -> Any:
            handler = getattr(instance, "fetch", None)
            if handler is None:
                raise TypeError(
                    f"{self.class_name} has no fetch() method: define `async def fetch(self, "
                    "request)` to answer stub.fetch()"
                )
            return handler(request)

        response = await self.state(object_id).run(invoke)
        if isinstance(response, JsResponse):  # a JavaScript Response, as the SDK allows
            response = Response(response)
        if not isinstance(response, Response):
            raise TypeError(
                f"{self.class_name}.fetch() returned {type(response).__name__}, expected a "
                "workers.Response"
            )
        web_socket = response.js_response.webSocket
        if web_socket is not None:
            # The socket crosses to the caller as it is (one process); what workerd refuses to
            # hand on (an end already accepted or used) is refused here too.
            web_socket._check_returnable()
        return response

    async def _run_alarm(self, hex_id: str, info: dict[str, Any]) -> Any:
        state = self.state_by_hex(hex_id)

        def invoke(instance: Any) -> Any:
            handler = getattr(instance, "alarm", None)
            if handler is None:
                log.warning(
                    "Alarm of %s %s dropped: the class has no alarm() method",
                    self.class_name,
                    hex_id,
                )
                return None
            try:
                takes_info = len(inspect.signature(handler).parameters) >= 1
            except (TypeError, ValueError):
                takes_info = True
            return handler(JsDict(info)) if takes_info else handler()

        return await state.run(invoke)

    def drop_instances(self) -> None:
        """The worker module changed: every object is rebuilt from the new class on its next
        event (storage, alarms and accepted WebSockets stay)."""
        for state in self.objects.values():
            state.reset()

    def close(self) -> None:
        self.alarms.close()
        for state in self.objects.values():
            state.db.close()
