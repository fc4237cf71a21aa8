"""`env.MY_DO`: a Durable Object namespace, its ids and its stubs."""

from __future__ import annotations

from typing import Any

from .errors import DurableObjectError
from .ids import DurableObjectId, from_name, id_belongs, new_unique_id, parse_id
from .objects import ObjectClass

__all__ = ["DurableObjectNamespace", "DurableObjectStub"]


class DurableObjectStub:
    """A handle on one object: `await stub.method(...)` calls it over RPC; `await
    stub.fetch(url_or_request)` sends it a request. `stub.id`, `stub.name`."""

    __pyflare_rpc_reference__ = True

    def __init__(self, owner: ObjectClass | None, object_id: DurableObjectId, binding: str) -> None:
        self._owner = owner
        self._binding = binding
        self.id = object_id
        self.name = object_id.name

    def _class(self) -> ObjectClass:
        if self._owner is None:
            raise DurableObjectError(
                f"{self._binding} is bound to a Durable Object class of another worker, "
                "which pyflare does not run"
            )
        return self._owner

    async def fetch(self, input: Any, init: Any = None, **kwargs: Any) -> Any:
        """Send `input` (a URL or a `workers.Request`) to the object's `fetch()`."""
        from ..workers import Request

        if isinstance(input, Request) and init is None and not kwargs:
            request = input
        else:
            options = dict(init or {})
            options.update(kwargs)
            source: Any = input
            if not isinstance(input, Request) and "://" not in str(input):
                path = str(input)
                source = "http://fake-host" + (path if path.startswith("/") else "/" + path)
            request = Request(source, **options)
        return await self._class().fetch(self.id, request)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("__"):
            raise AttributeError(method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._class().call(self.id, method, args, kwargs)

        call.__name__ = method
        call.__pyflare_rpc_function__ = True  # type: ignore[attr-defined]
        return call

    def __repr__(self) -> str:
        return f"DurableObjectStub({self._binding}, {self.id.toString()})"


class DurableObjectNamespace:
    """`idFromName`, `newUniqueId`, `idFromString`, `get`, `getByName`, `jurisdiction`."""

    __pyflare_rpc_reference__ = True

    def __init__(self, binding: str, owner: ObjectClass | None, unique_key: str) -> None:
        self.binding = binding
        self._owner = owner
        self._unique_key = unique_key

    def idFromName(self, name: str) -> DurableObjectId:
        """The id of the object called `name`: the same name always gives the same id."""
        if not isinstance(name, str):
            raise TypeError(f"idFromName() expects a string name, got {type(name).__name__}")
        return from_name(self._unique_key, name)

    def newUniqueId(
        self, options: Any = None, *, jurisdiction: str | None = None
    ) -> DurableObjectId:
        """A new random id (`jurisdiction` is accepted; locally every object lives here)."""
        if isinstance(options, dict):
            jurisdiction = options.get("jurisdiction", jurisdiction)
        return new_unique_id(self._unique_key, jurisdiction)

    def idFromString(self, hex_id: str) -> DurableObjectId:
        """The id whose `toString()` is `hex_id` (64 hex digits of this class)."""
        return parse_id(self._unique_key, hex_id)

    def get(self, object_id: DurableObjectId, options: Any = None) -> DurableObjectStub:
        """A stub for the object `object_id`."""
        if not isinstance(object_id, DurableObjectId):
            raise TypeError(
                f"get() expects a DurableObjectId (from idFromName, newUniqueId or idFromString), "
                f"got {type(object_id).__name__}"
            )
        if not id_belongs(self._unique_key, object_id.toString()):
            raise TypeError("ID is not for this Durable Object class.")
        return DurableObjectStub(self._owner, object_id, self.binding)

    def getByName(self, name: str, options: Any = None) -> DurableObjectStub:
        """`get(idFromName(name))`."""
        return self.get(self.idFromName(name))

    def jurisdiction(self, name: str) -> DurableObjectNamespace:
        """The namespace restricted to a jurisdiction: the same objects locally."""
        return self

    id_from_name = idFromName
    new_unique_id = newUniqueId
    id_from_string = idFromString
    get_by_name = getByName

    def __repr__(self) -> str:
        return f"DurableObjectNamespace({self.binding})"
