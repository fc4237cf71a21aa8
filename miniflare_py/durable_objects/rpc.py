"""What may cross an RPC call to a Durable Object, and the copy the other side receives.

The rules are the SDK's `python_to_rpc`: None, bool, int, float, str, bytes, list, dict, set,
datetime, `workers` Request/Response objects, bindings and stubs, and functions (which arrive as
callables returning awaitables, as RPC stubs for functions do). Tuples, bytearrays, awaitables and
any other object raise the SDK's `TypeError: <class 'tuple'> cannot be sent over RPC.`. Values are
copied, as a structured clone copies them: the callee never shares a list or dict with the caller.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..workers.jsdict import JsDict

__all__ = ["RpcTypeError", "rpc_copy"]

_SCALARS = (str, int, float, bool, type(None))


class RpcTypeError(TypeError):
    """A value that cannot be sent over RPC (the SDK raises a plain TypeError)."""


def _refuse(value: Any) -> RpcTypeError:
    if inspect.isawaitable(value):
        return RpcTypeError(f"Awaitable {type(value)} cannot be sent over RPC.")
    return RpcTypeError(f"{type(value)} cannot be sent over RPC.")


def _remote_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def call(*args: Any) -> Any:
        result = fn(*[rpc_copy(a) for a in args])
        if inspect.isawaitable(result):
            result = await result
        return rpc_copy(result)

    call.__pyflare_rpc_function__ = True  # type: ignore[attr-defined]
    return call


def _passes_by_reference(value: Any) -> bool:
    # Stubs, bindings, namespaces, Request/Response: what the SDK hands to JS as it is.
    return getattr(type(value), "__pyflare_rpc_reference__", False) or type(
        value
    ).__module__.startswith(
        ("miniflare_py.workers", "miniflare_py.d1", "miniflare_py.queues", "miniflare_py.kv")
    )


def rpc_copy(value: Any, _depth: int = 0) -> Any:
    """The copy of `value` the other side of an RPC call gets; raises `RpcTypeError`."""
    if isinstance(value, _SCALARS):
        return value
    if _depth > 500:
        raise RpcTypeError("Value is too deeply nested (or contains a cycle) to be sent over RPC.")
    kind = type(value)
    if kind is dict or kind is JsDict:
        return JsDict({k: rpc_copy(v, _depth + 1) for k, v in value.items()})
    if kind is list:
        return [rpc_copy(v, _depth + 1) for v in value]
    if kind is bytes:
        return value
    if kind is memoryview:
        return value.tobytes()
    if kind is set or kind is frozenset:
        return {rpc_copy(v, _depth + 1) for v in value}
    if isinstance(value, datetime):
        return value
    if isinstance(value, dict):
        return JsDict({k: rpc_copy(v, _depth + 1) for k, v in value.items()})
    if isinstance(value, list):
        return [rpc_copy(v, _depth + 1) for v in value]
    if isinstance(value, BaseException):
        return f"Error: {value}"  # the SDK turns an Error into its toString()
    if isinstance(value, tuple | bytearray) or inspect.isawaitable(value):
        raise _refuse(value)
    if callable(value) and not isinstance(value, type):
        if getattr(value, "__pyflare_rpc_function__", False) or _passes_by_reference(value):
            return value
        if inspect.isfunction(value) or inspect.ismethod(value) or inspect.isbuiltin(value):
            return _remote_function(value)
    if _passes_by_reference(value):
        return value
    raise _refuse(value)
