"""`workers.DurableObject`: the base class of a Durable Object written in Python."""

from __future__ import annotations

from typing import Any

__all__ = ["DurableObject"]


class DurableObject:
    """Base class of a Durable Object: built as `MyObject(ctx, env)`, with `self.ctx` (id,
    storage, blockConcurrencyWhile, ...) and `self.env`. Public methods are callable over RPC
    from a stub; `fetch(request)`, `alarm(alarm_info)` and the `webSocket*` handlers are the
    object's event handlers."""

    ctx: Any
    env: Any

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env
