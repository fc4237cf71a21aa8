"""Durable Objects in the Local Explorer: namespaces, the objects that have storage, each one's
key-value storage (browse, put, delete) and SQL tables, and SQL run inside an object.

The paths are Cloudflare's (and Miniflare's Local Explorer's) where they exist:
`/workers/durable_objects/namespaces`, `/namespaces/{id}/objects`, `/namespaces/{id}/query`;
`/objects/{object_id}` and `/objects/{object_id}/storage` are pyflare's. Storage calls go
through the object's `ctx.storage` (its limits and SQL rules apply) and wait, like any event of
the object, while `blockConcurrencyWhile()` or a `transaction()` holds it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request

from ..endpoints import ApiError, Endpoint, Param, Result, field_of, json_body, query_int, query_str
from ..schema import ANY, BOOL, INT, STR, arr, nullable, obj, ref
from ..trace import Traced, Tracer
from ..values import shown
from .base import BindingView

__all__ = ["DurableObjectsView"]

_NS = "/workers/durable_objects/namespaces/{namespace_id}"
_OBJ = f"{_NS}/objects/{{object_id}}"
_SHOWN = obj({"text": STR, "json": ANY}, required=("text",))
_ENTRY = obj({"key": STR, "value": _SHOWN})
_SQL_RESULT = obj(
    {"columns": arr(STR), "rows": arr(arr(ANY)), "rows_read": INT, "rows_written": INT}
)
_TABLES = (
    "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view') "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' "
    "ORDER BY name"
)


def _object_call(tracer: Tracer, owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    object_id = args[0] if args else None
    who = getattr(object_id, "name", None) or str(getattr(object_id, "toString", lambda: "")())[:12]
    method = args[1] if len(args) > 1 and isinstance(args[1], str) else "fetch"
    return getattr(owner, "class_name", "DurableObject"), f"{method}() on {who}"


def _alarm(tracer: Tracer, alarms: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    hex_id = str(args[0]) if args else ""
    instance = getattr(tracer.runtime, "bindings", {}).get("durable_objects")
    owners = getattr(instance, "classes", {}).values()
    names: dict[str, str] = next((o.names for o in owners if o.alarms is alarms), {})
    name = names.get(hex_id)
    return getattr(alarms, "class_name", "DurableObject"), f"alarm() on {name or hex_id[:12]}"


def _alarm_is_set(alarms: Any, args: tuple[Any, ...]) -> bool:
    """`fire()` runs the object's alarm() only when one is set (for that time)."""
    scheduled = alarms._times.get(args[0]) if args else None
    when = args[1] if len(args) > 1 else None
    return scheduled is not None and (when is None or scheduled == when)


def _alarm_failure(alarms: Any, args: tuple[Any, ...], before: Any) -> str | None:
    """alarm() raised: the scheduler caught it, logged it and noted it in `failures`."""
    for failure in alarms.failures[before:]:
        if failure.object_id == args[0]:
            return f"{type(failure.error).__name__}: {failure.error}"
    return None


def _storage(tracer: Tracer, storage: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    first = args[0] if args else ""
    detail = ", ".join(map(str, first)) if isinstance(first, dict | list | tuple) else str(first)
    return "storage", detail[:200]


def _sql(tracer: Tracer, sql: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return "storage.sql", " ".join(str(args[0] if args else "").split())[:300]


class DurableObjectsView(BindingView):
    title = "Durable Objects"
    slash_params = frozenset({"key"})
    schemas: ClassVar[dict[str, Any]] = {"DurableObjectSqlResult": _SQL_RESULT}
    traced = (
        Traced("miniflare_py.durable_objects.objects:ObjectClass", "call", _object_call,
               label="rpc"),
        Traced("miniflare_py.durable_objects.objects:ObjectClass", "fetch", _object_call),
        Traced("miniflare_py.durable_objects.alarms:AlarmScheduler", "fire", _alarm,
               kind="alarm", label="alarm", when=_alarm_is_set,
               probe=lambda alarms, args: len(alarms.failures), failure=_alarm_failure),
        *(
            Traced("miniflare_py.durable_objects.storage:DurableObjectStorage", m, _storage)
            for m in ("get", "put", "delete", "list", "deleteAll")
        ),
        Traced("miniflare_py.durable_objects.sql:SqlStorage", "exec", _sql),
    )  # fmt: skip
    endpoints = (
        Endpoint(
            "GET", "/workers/durable_objects/namespaces", "list_namespaces",
            "List Durable Object namespaces", "durable-objects-namespace-list-namespaces",
            result=arr(obj({"id": STR, "name": STR, "class": STR, "script": nullable(STR),
                            "use_sqlite": BOOL})),
            result_info=obj({"count": INT}), errors=(),
        ),
        Endpoint(
            "GET", f"{_NS}/objects", "list_objects", "List objects",
            "durable-objects-namespace-list-objects",
            description="The objects of the namespace that have storage, by id.",
            params=(
                Param("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
                Param("cursor", STR),
            ),
            result=arr(obj({"id": STR, "name": nullable(STR), "hasStoredData": BOOL})),
            result_info=obj({"count": INT, "cursor": STR}),
        ),
        Endpoint(
            "GET", _OBJ, "get_object", "Object details", "durable-objects-get-object",
            description="Its name (when made with idFromName), alarm, key count, database size "
            "and SQL tables.",
            result=obj({
                "id": STR, "name": nullable(STR), "alarm": nullable(INT), "keys": INT,
                "size": INT,
                "tables": arr(obj({"name": STR, "type": STR, "sql": nullable(STR),
                                   "rows": INT})),
            }),
        ),
        Endpoint(
            "GET", f"{_OBJ}/storage", "list_storage", "List key-value storage",
            "durable-objects-list-storage",
            params=(
                Param("prefix", STR),
                Param("start_after", STR),
                Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            ),
            result=arr(_ENTRY), result_info=obj({"count": INT, "cursor": STR}),
        ),
        Endpoint(
            "GET", f"{_OBJ}/storage/{{key}}", "get_entry", "Read a stored value",
            "durable-objects-get-storage-value", result=_ENTRY,
        ),
        Endpoint(
            "PUT", f"{_OBJ}/storage/{{key}}", "put_entry", "Write a stored value",
            "durable-objects-put-storage-value",
            description="`value` (any JSON value) is stored as `ctx.storage.put(key, value)` "
            "would store it.",
            body=obj({"value": ANY}), result=_ENTRY,
        ),
        Endpoint(
            "DELETE", f"{_OBJ}/storage/{{key}}", "delete_entry", "Delete a stored value",
            "durable-objects-delete-storage-value", result=obj({"deleted": BOOL}),
        ),
        Endpoint(
            "POST", f"{_NS}/query", "query", "Run SQL inside an object",
            "durable-objects-namespace-query-sqlite",
            description="Runs each query with `ctx.storage.sql.exec` in the object named by "
            "`durable_object_id` (64 hex digits) or `durable_object_name` (idFromName).",
            body=obj(
                {
                    "durable_object_id": STR,
                    "durable_object_name": STR,
                    "queries": arr(obj({"sql": STR, "params": arr(ANY)}, required=("sql",)),
                                   minItems=1),
                },
                required=("queries",),
            ),
            result=arr(ref("DurableObjectSqlResult")),
        ),
    )  # fmt: skip

    def _namespaces(self) -> dict[str, Any]:
        return self.resources("namespaces")

    def _local(self) -> dict[str, Any]:
        """The namespaces whose class runs here (not bound to another worker's class)."""
        return {b: ns for b, ns in self._namespaces().items() if ns._owner is not None}

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"id": ns._unique_key, "name": binding, "binding": binding}
            for binding, ns in self._local().items()
        ]

    def _namespace(self, request: Request) -> Any:
        return self.find(
            "Durable Object namespace",
            request.path_params["namespace_id"],
            self._local(),
            lambda ns: ns._unique_key,
        )

    async def _state(self, request: Request, *, must_exist: bool = True) -> Any:
        """The object's state, once no `blockConcurrencyWhile()` or transaction holds it."""
        ns = self._namespace(request)
        owner = ns._owner
        hex_id = request.path_params["object_id"]
        try:
            object_id = ns.idFromString(hex_id)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from None
        if must_exist and object_id.toString() not in owner.stored_ids():
            raise ApiError(404, f"no stored object {hex_id!r} in {ns.binding}")
        state = owner.state(object_id)
        if state.gate.closed:
            await state.gate.wait_open()
        return state

    async def list_namespaces(self, request: Request) -> Any:
        found = []
        for binding, ns in self._namespaces().items():
            owner = ns._owner
            found.append(
                {
                    "id": ns._unique_key,
                    "name": binding,
                    "class": owner.class_name if owner is not None else "",
                    "script": None,
                    "use_sqlite": True,
                }
            )
        return Result(found, {"count": len(found)})

    async def list_objects(self, request: Request) -> Any:
        owner = self._namespace(request)._owner
        limit = query_int(request, "limit", 1000, low=1, high=10000)
        cursor = query_str(request, "cursor")
        ids = [i for i in owner.stored_ids() if cursor is None or i > cursor]
        page = ids[:limit]
        more = len(ids) > limit
        return Result(
            [{"id": i, "name": owner.names.get(i), "hasStoredData": True} for i in page],
            {"count": len(page), "cursor": page[-1] if more and page else ""},
        )

    async def get_object(self, request: Request) -> Any:
        state = await self._state(request)
        storage = state.storage
        tables = []
        for row in storage.sql.exec(_TABLES).toArray():
            count = storage.sql.exec(f"SELECT COUNT(*) AS n FROM {_quoted(row['name'])}").one()
            tables.append({**row, "rows": count["n"]})
        return {
            "id": state.id.toString(),
            "name": state.owner.names.get(state.id.toString()),
            "alarm": await storage.getAlarm(),
            "keys": len(await storage.list()),
            "size": storage.sql.databaseSize,
            "tables": tables,
        }

    async def list_storage(self, request: Request) -> Any:
        state = await self._state(request)
        limit = query_int(request, "limit", 100, low=1, high=1000)
        options: dict[str, Any] = {"limit": limit + 1}
        prefix = query_str(request, "prefix")
        if prefix is not None:
            options["prefix"] = prefix
        after = query_str(request, "start_after")
        if after is not None:
            options["startAfter"] = after
        found = list((await state.storage.list(options)).items())
        page = found[:limit]
        entries = [{"key": k, "value": shown(v)} for k, v in page]
        cursor = page[-1][0] if len(found) > limit else ""
        return Result(entries, {"count": len(entries), "cursor": cursor})

    async def get_entry(self, request: Request) -> Any:
        state = await self._state(request)
        key = request.path_params["key"]
        value = await _storage_call(state.storage.get(key))
        if value is None:
            raise ApiError(404, f"no stored key {key!r}")
        return {"key": key, "value": shown(value)}

    async def put_entry(self, request: Request) -> Any:
        state = await self._state(request)
        key = request.path_params["key"]
        body = await json_body(request)
        if not isinstance(body, dict) or "value" not in body:
            raise ApiError(400, "value is required (any JSON value)")
        await _storage_call(state.storage.put(key, body["value"]))
        return {"key": key, "value": shown(await state.storage.get(key))}

    async def delete_entry(self, request: Request) -> Any:
        state = await self._state(request)
        deleted = await _storage_call(state.storage.delete(request.path_params["key"]))
        return {"deleted": bool(deleted)}

    async def query(self, request: Request) -> Any:
        ns = self._namespace(request)
        body = await json_body(request)
        queries = field_of(body, "queries", list)
        if not queries:
            raise ApiError(400, "queries must not be empty")
        hex_id = field_of(body, "durable_object_id", str, None)
        name = field_of(body, "durable_object_name", str, None)
        try:
            if hex_id is not None:
                object_id = ns.idFromString(hex_id)
            elif name is not None:
                object_id = ns.idFromName(name)
            else:
                raise ApiError(400, "durable_object_id or durable_object_name is required")
        except (TypeError, ValueError) as exc:
            raise ApiError(400, str(exc)) from None
        state = ns._owner.state(object_id)
        if state.gate.closed:
            await state.gate.wait_open()
        results = []
        for query in queries:
            sql = field_of(query, "sql", str)
            params = field_of(query, "params", list, [])
            cursor = await _storage_call(_sync(state.storage.sql.exec, sql, *params))
            rows = [list(r) for r in cursor.raw()]
            results.append(
                {
                    "columns": list(cursor.columnNames),
                    "rows": rows,
                    "rows_read": cursor.rowsRead,
                    "rows_written": cursor.rowsWritten,
                }
            )
        return results


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _sync(call: Any, *args: Any) -> Any:
    return call(*args)


async def _storage_call(awaitable: Any) -> Any:
    """A storage call whose errors (a key too long, a value JSON cannot give, bad SQL) are the
    caller's: 400 with their text."""
    try:
        return await awaitable
    except ApiError:
        raise
    except Exception as exc:
        raise ApiError(400, f"{type(exc).__name__}: {exc}") from None
