"""`WorkerEntrypoint` and `handler`, as in Cloudflare's Python Workers SDK."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class WorkerEntrypoint:
    """Base class of a class-based worker: `class Default(WorkerEntrypoint)`.

    A new instance is made for every event, as `Default(ctx, env)`; handlers read `self.env`
    and `self.ctx`.
    """

    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


def handler(func: F) -> F:
    """Mark a module-level handler (`@handler async def on_fetch(...)`); a no-op wrap here."""
    return func
