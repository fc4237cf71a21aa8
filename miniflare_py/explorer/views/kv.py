"""Workers KV in the Local Explorer: namespaces, keys (with expiration and metadata), values to
read, write and delete. The paths are Cloudflare's KV API's (and Miniflare's Local Explorer's):
`/storage/kv/namespaces/{namespace_id}/keys`, `/values/{key_name}`, `/metadata/{key_name}`.
Every call goes through the binding (`KvNamespace`), so KV's limits and error texts apply.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from ...kv.errors import KvError
from ..endpoints import ApiError, Endpoint, Param, Result, query_int, query_str
from ..schema import ANY, BOOL, INT, STR, arr, obj
from ..trace import Traced, Tracer
from .base import BindingView

__all__ = ["KvView"]

_NS = "/storage/kv/namespaces/{namespace_id}"
_KEY = obj({"name": STR, "expiration": INT, "metadata": ANY}, required=("name",))


def _kv_call(tracer: Tracer, ns: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    detail = ""
    if args:
        first = args[0]
        detail = f"{len(first)} keys" if isinstance(first, list) else str(first)
    elif "prefix" in kwargs:
        detail = f"prefix {kwargs['prefix']!r}"
    return getattr(ns, "binding", "KV"), detail


class KvView(BindingView):
    title = "KV"
    slash_params = frozenset({"key_name"})
    schemas: ClassVar[dict[str, Any]] = {"KvKey": _KEY}
    traced = tuple(
        Traced("miniflare_py.kv.namespace:KvNamespace", m, _kv_call)
        for m in ("get", "getWithMetadata", "put", "delete", "list")
    )
    endpoints = (
        Endpoint(
            "GET", "/storage/kv/namespaces", "list_namespaces", "List KV namespaces",
            "workers-kv-namespace-list-namespaces",
            result=arr(obj({"id": STR, "title": STR, "binding": STR,
                            "supports_url_encoding": BOOL})),
            result_info=obj({"count": INT}), errors=(),
        ),
        Endpoint(
            "GET", f"{_NS}/keys", "list_keys", "List a namespace's keys",
            "workers-kv-namespace-list-a-namespace-s-keys",
            params=(
                Param("prefix", STR),
                Param("cursor", STR),
                Param("limit", {"type": "integer", "minimum": 10, "maximum": 1000}),
            ),
            result=arr({"$ref": "#/components/schemas/KvKey"}),
            result_info=obj({"count": INT, "cursor": STR}),
        ),
        Endpoint(
            "GET", f"{_NS}/values/{{key_name}}", "get_value", "Read a value",
            "workers-kv-namespace-read-key-value-pair",
            description="The value's bytes, exactly as stored.", raw_response=True,
        ),
        Endpoint(
            "GET", f"{_NS}/metadata/{{key_name}}", "get_metadata", "Read a key's metadata",
            "workers-kv-namespace-read-the-metadata-for-a-key", result=ANY,
        ),
        Endpoint(
            "PUT", f"{_NS}/values/{{key_name}}", "put_value", "Write a value",
            "workers-kv-namespace-write-key-value-pair-with-metadata",
            description="The request body is the value (any bytes). `metadata` is JSON text; "
            "`expiration` (seconds since the epoch) or `expiration_ttl` (seconds, at least 60).",
            params=(
                Param("metadata", STR, "JSON metadata (at most 1024 bytes)"),
                Param("expiration", INT),
                Param("expiration_ttl", INT),
            ),
            raw_body=True, result=obj({}),
        ),
        Endpoint(
            "DELETE", f"{_NS}/values/{{key_name}}", "delete_value", "Delete a key",
            "workers-kv-namespace-delete-key-value-pair", result=obj({}),
        ),
    )  # fmt: skip

    def _namespaces(self) -> dict[str, Any]:
        return self.resources("namespaces")

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"id": ns.namespace_id, "name": binding, "binding": binding}
            for binding, ns in self._namespaces().items()
        ]

    def _namespace(self, request: Request) -> Any:
        return self.find(
            "KV namespace",
            request.path_params["namespace_id"],
            self._namespaces(),
            lambda ns: ns.namespace_id,
        )

    async def list_namespaces(self, request: Request) -> Any:
        found = [
            {"id": ns.namespace_id, "title": binding, "binding": binding,
             "supports_url_encoding": True}
            for binding, ns in self._namespaces().items()
        ]  # fmt: skip
        return Result(found, {"count": len(found)})

    async def list_keys(self, request: Request) -> Any:
        ns = self._namespace(request)
        options: dict[str, Any] = {"limit": query_int(request, "limit", 1000, low=1, high=1000)}
        for name in ("prefix", "cursor"):
            value = query_str(request, name)
            if value is not None:
                options[name] = value
        try:
            listed = await ns.list(options)
        except (KvError, ValueError) as exc:
            raise ApiError(400, str(exc)) from None
        keys = [dict(k) for k in listed["keys"]]
        return Result(keys, {"count": len(keys), "cursor": listed.get("cursor") or ""})

    async def _entry(self, request: Request) -> Any:
        ns = self._namespace(request)
        key = request.path_params["key_name"]
        try:
            found = await ns.getWithMetadata(key, "arrayBuffer")
        except KvError as exc:
            raise ApiError(400, str(exc)) from None
        if found["value"] is None:
            raise ApiError(404, f"get: 'key not found': {key!r}", 10009)
        return found

    async def get_value(self, request: Request) -> Any:
        found = await self._entry(request)
        return Response(
            bytes(found["value"]),
            media_type="application/octet-stream",
            headers={"cache-control": "no-store"},
        )

    async def get_metadata(self, request: Request) -> Any:
        return (await self._entry(request))["metadata"]

    async def put_value(self, request: Request) -> Any:
        ns = self._namespace(request)
        key = request.path_params["key_name"]
        options: dict[str, Any] = {}
        metadata = query_str(request, "metadata")
        if metadata is not None:
            try:
                options["metadata"] = json.loads(metadata)
            except ValueError:
                raise ApiError(400, "metadata must be JSON text") from None
        for param, option in (("expiration", "expiration"), ("expiration_ttl", "expirationTtl")):
            if query_str(request, param) is not None:
                options[option] = query_int(request, param, 0, low=-(2**53))
        try:
            await ns.put(key, await request.body(), options)
        except (KvError, TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from None
        return {}

    async def delete_value(self, request: Request) -> Any:
        ns = self._namespace(request)
        try:
            await ns.delete(request.path_params["key_name"])
        except KvError as exc:
            raise ApiError(400, str(exc)) from None
        return {}
