"""Where the engine is running: inside a worker handler or in the caller's own code, and which
worker's `env` and `ctx` the module-level names (`workers.env`, `workers.wait_until`) mean."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["bound_ctx", "bound_env", "current_event", "current_loop", "inside_handler"]

#: True while a worker handler (fetch, queue, scheduled) runs. The runtime sets it; the queue
#: producer reads it to decide whether a send from test code should settle due work at once.
inside_handler: ContextVar[bool] = ContextVar("inside_handler", default=False)

#: `(env, ctx)` of the handler running in this context (set by the worker dispatcher; one
#: variable, so a dispatch sets and resets it once).
current_event: ContextVar[tuple[Any, Any] | None] = ContextVar("current_event", default=None)

#: The event loop the worker runs on, seen from threads the worker started (a WSGI app runs in
#: one): `run_sync` there hands awaitables back to this loop.
current_loop: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar(
    "current_loop", default=None
)

# The env of the pytest test whose `pyflare` fixture is running, for `from workers import env`
# in test code (a stack: a test may start a second runtime inside the first).
_test_envs: list[Any] = []


def bound_env() -> Any:
    """The env `workers.env` stands for here, or None outside a worker and a pyflare test."""
    event = current_event.get()
    if event is not None and event[0] is not None:
        return event[0]
    return _test_envs[-1] if _test_envs else None


def bound_ctx() -> Any:
    """The `ctx` of the handler running here, or None."""
    event = current_event.get()
    return None if event is None else event[1]


def push_test_env(env: Any) -> None:
    """Make `env` what `workers.env` means in test code (the pytest plugin calls this)."""
    _test_envs.append(env)


def pop_test_env(env: Any) -> None:
    """Undo `push_test_env(env)`."""
    for index in range(len(_test_envs) - 1, -1, -1):
        if _test_envs[index] is env:
            del _test_envs[index]
            return
