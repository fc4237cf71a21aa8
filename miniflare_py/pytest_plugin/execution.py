"""An `ExecutionContext` for calling a worker's handlers directly, and waiting on its work.

```python
ctx = pyflare.execution_context()
response = await worker.Default(ctx, pyflare.env).fetch(request)
await pyflare.wait_on_execution_context(ctx)      # every ctx.waitUntil() task has finished
```
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from ..clock import Clock, VirtualClock, spawn
from ..worker import ExecutionContext

__all__ = ["TestExecutionContext", "wait_on"]

log = logging.getLogger("miniflare_py")


class TestExecutionContext(ExecutionContext):
    """A `ctx` that remembers the work handed to `waitUntil()` until a test waits on it."""

    __test__ = False  # not a test class, whatever pytest's python_classes say

    def __init__(self, clock: Clock) -> None:
        super().__init__(self._start)
        self._clock = clock
        self._pending: list[asyncio.Task[Any]] = []
        self._errors: list[Exception] = []

    def _start(self, awaitable: Awaitable[Any]) -> asyncio.Task[Any]:
        task = spawn(self._clock, self._run(awaitable))
        self._pending.append(task)
        return task

    async def _run(self, awaitable: Awaitable[Any]) -> None:
        try:
            await awaitable
        except Exception as exc:
            # Kept for wait_on(), which raises it; logged so a test that never waits sees it in
            # its failure report.
            self._errors.append(exc)
            log.warning("A waitUntil() task failed: %s: %s", type(exc).__name__, exc)


async def wait_on(ctx: Any, clock: Clock) -> None:
    """Wait until every task `ctx.waitUntil()` started has finished, including tasks those
    tasks start. On a virtual clock a task that sleeps makes time jump ahead, as `drain()` does.

    Raises what a task raised (an `ExceptionGroup` when several did)."""
    if not isinstance(ctx, TestExecutionContext):
        raise TypeError(
            "wait_on_execution_context() takes the ctx from pyflare.execution_context(), "
            f"not {type(ctx).__name__}"
        )
    while ctx._pending:
        batch, ctx._pending = ctx._pending, []
        while not all(task.done() for task in batch):
            if isinstance(clock, VirtualClock):
                await clock.settle()
                if all(task.done() for task in batch):
                    break
                deadline = clock.next_deadline()
                if deadline is not None:
                    await clock.advance_to(max(deadline, clock.now()))
                    continue
            await asyncio.wait([t for t in batch if not t.done()])
    errors, ctx._errors = ctx._errors, []
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup(f"{len(errors)} waitUntil() tasks failed", errors)
