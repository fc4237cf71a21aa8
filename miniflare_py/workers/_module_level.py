"""The module-level names of `workers` that depend on the running worker: `env`,
`wait_until` / `waitUntil`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any

from .context import bound_ctx
from .rpc import env

__all__ = ["env", "wait_until"]


def wait_until(awaitable: Awaitable[Any]) -> None:
    """Keep `awaitable` running after the response is sent (the running event's
    `ctx.waitUntil`); only inside a worker handler."""
    ctx = bound_ctx()
    if ctx is None:
        raise RuntimeError("workers.wait_until() can only be called while a worker handler runs")
    target = getattr(awaitable, "unwrap", None)  # a create_proxy() of a task
    if target is not None and callable(target):
        awaitable = target()
    if not inspect.isawaitable(awaitable):
        raise TypeError(f"wait_until expects an awaitable, got {type(awaitable).__name__}")
    ctx.waitUntil(awaitable)


waitUntil = wait_until
