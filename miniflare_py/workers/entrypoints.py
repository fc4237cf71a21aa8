"""`WorkerEntrypoint`, `DurableObject`, `WorkflowEntrypoint` and `handler`, as in the SDK
(`DurableObject` is the Durable Objects package's class).

pyflare builds a worker's `env` from its own binding classes, which already behave as the SDK's
wrapped bindings (see `workers.rpc`), so the base classes keep `ctx` and `env` as given: no
per-request wrapping.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ..durable_objects.entrypoint import DurableObject
from .jshttp import JsRequest
from .request import Request

__all__ = [
    "DurableObject",
    "DurableObjectAbort",
    "WorkerEntrypoint",
    "WorkflowEntrypoint",
    "handler",
]

F = TypeVar("F", bound=Callable[..., Any])


class WorkerEntrypoint:
    """Base class of a class-based worker: `class Default(WorkerEntrypoint)`.

    A new instance is made for every event, as `Default(ctx, env)`; handlers read `self.env`
    and `self.ctx`.
    """

    ctx: Any
    env: Any

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


class DurableObjectAbort(BaseException):
    """Raised by `ctx.abort()` in a Durable Object: stops its code, past `except Exception`."""


class WorkflowEntrypoint:
    """Base class of a Workflow (`class MyWorkflow(WorkflowEntrypoint)` with `async def run(
    self, event, step)`)."""

    ctx: Any
    env: Any

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


def handler(func: F) -> F:
    """Decorate a module-level handler (`@handler async def on_fetch(request, env)`): a
    JavaScript `Request` argument becomes a `workers.Request`, as in the SDK."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], JsRequest):
            args = (Request(args[0]), *args[1:])
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
