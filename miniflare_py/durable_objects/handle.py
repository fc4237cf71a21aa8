"""`mf.durable_objects`: what tests and tools reach of the Durable Objects of a running worker.

```python
ns = mf.durable_objects["COUNTER"]                    # the namespace env.COUNTER is
storage = mf.durable_objects.get_storage("COUNTER", "room-1")   # a name, an id or a stub
await storage.get("count")
await mf.durable_objects.run_in(stub, lambda instance, ctx: ...)  # inside the object
await mf.durable_objects.run_alarm(stub)              # fire its alarm now; False if none is set
mf.durable_objects.hibernate(stub)                    # drop its instance; WebSockets stay
mf.durable_objects.websockets(stub, tag=None)         # its accepted WebSockets
mf.durable_objects.list_ids("COUNTER")                # ids of the objects that have storage
mf.durable_objects.alarm_failures                     # every alarm() run that raised
await mf.durable_objects.drain_alarms()               # (virtual clock) fire every pending alarm
```
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ..bindings.base import BindingHost
from ..clock import VirtualClock
from .alarms import AlarmFailure
from .errors import DurableObjectError
from .ids import DurableObjectId
from .namespace import DurableObjectNamespace, DurableObjectStub
from .objects import ObjectClass, ObjectState
from .storage import DurableObjectStorage

__all__ = ["DurableObjectsHandle"]


class _Instance(Protocol):
    """What the handle reads of the binding's `DurableObjectsInstance` (which imports this
    module, so it is described here rather than imported)."""

    host: BindingHost
    classes: dict[str, ObjectClass]
    namespaces: dict[str, DurableObjectNamespace]


class DurableObjectsHandle:
    """Namespaces by binding name, and a way into each object."""

    def __init__(self, instance: _Instance) -> None:
        self._instance = instance

    # namespaces

    @property
    def namespaces(self) -> dict[str, DurableObjectNamespace]:
        return dict(self._instance.namespaces)

    def __getitem__(self, binding: str) -> DurableObjectNamespace:
        try:
            return self._instance.namespaces[binding]
        except KeyError:
            known = ", ".join(self._instance.namespaces) or "none"
            raise KeyError(f"no Durable Object binding {binding!r} (bindings: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._instance.namespaces)

    def __len__(self) -> int:
        return len(self._instance.namespaces)

    # objects

    def _class(self, binding: str) -> ObjectClass:
        owner = self[binding]._owner
        if owner is None:
            raise DurableObjectError(f"{binding} is bound to a class of another worker")
        return owner

    def _state(self, target: DurableObjectStub | tuple[str, Any]) -> ObjectState:
        if isinstance(target, DurableObjectStub):
            return target._class().state(target.id)
        binding, id_or_name = target
        namespace = self[binding]
        if isinstance(id_or_name, DurableObjectStub):
            object_id = id_or_name.id
        elif isinstance(id_or_name, DurableObjectId):
            object_id = id_or_name
        else:
            object_id = namespace.idFromName(str(id_or_name))
        return self._class(binding).state(object_id)

    def get_storage(
        self, binding: str, id_or_name: DurableObjectId | DurableObjectStub | str
    ) -> DurableObjectStorage:
        """The `ctx.storage` of one object (a name is looked up with `idFromName`), without
        building the object."""
        return self._state((binding, id_or_name)).storage

    async def run_in(self, stub: DurableObjectStub, fn: Callable[[Any, Any], Any]) -> Any:
        """Run `fn(instance, ctx)` inside the object, as one of its events (through its input
        gate, building it if needed); what `fn` returns (awaited if awaitable)."""
        state = self._state(stub)

        async def event(instance: Any) -> Any:
            result = fn(instance, state.ctx)
            if inspect.isawaitable(result):
                result = await result
            return result

        return await state.run(event)

    def hibernate(self, stub: DurableObjectStub) -> None:
        """Drop the object's instance, as hibernation does on Cloudflare: its accepted
        WebSockets stay connected (with their tags and attachments), and the next event (a
        message, a call) builds a new instance. What the old instance kept in memory is gone."""
        self._state(stub).reset()

    def websockets(self, stub: DurableObjectStub, tag: str | None = None) -> list[Any]:
        """The object's accepted WebSockets (its `ctx.getWebSockets(tag)`), without running it."""
        return self._state(stub).websockets.get(tag)

    async def run_alarm(self, stub: DurableObjectStub) -> bool:
        """Fire the object's alarm now; False when it has none set. An `alarm()` that raises is
        recorded in `alarm_failures` and retried later, as a timed one is."""
        owner = stub._class()
        return await owner.alarms.fire(stub.id.toString())

    def list_ids(self, binding: str) -> list[DurableObjectId]:
        """Ids of the objects of `binding` that have storage (in memory or on disk)."""
        owner = self._class(binding)
        return [DurableObjectId(h, owner.names.get(h)) for h in owner.stored_ids()]

    def pending_alarms(self) -> dict[str, dict[str, int]]:
        """Set alarms by class: object id -> ms since the epoch."""
        return {
            owner.class_name: owner.alarms.pending() for owner in self._instance.classes.values()
        }

    @property
    def alarm_failures(self) -> list[AlarmFailure]:
        """Every `alarm()` run that raised, oldest first."""
        return [f for owner in self._instance.classes.values() for f in owner.alarms.failures]

    async def drain_alarms(self, max_rounds: int = 1000) -> int:
        """On a virtual clock, move time to each pending alarm (retries included) until none is
        left; returns how many rounds ran. A real clock is not moved: nothing happens."""
        clock = self._instance.host.clock
        if not isinstance(clock, VirtualClock):
            return 0
        rounds = 0
        while rounds < max_rounds:
            times = [
                t
                for owner in self._instance.classes.values()
                for t in owner.alarms.pending().values()
            ]
            if not times:
                break
            # A retry is due at most 64 s after the failure before it (the sixth backoff).
            await clock.advance_to(max(clock.now(), min(times) / 1000) + 64)
            rounds += 1
        return rounds
