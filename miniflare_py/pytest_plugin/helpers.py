"""`PyflareRuntime`: the `Miniflare` the `pyflare` fixture gives, with the test helpers.

What Cloudflare's vitest integration (`cloudflare:test`) gives JavaScript tests, named the
Python way: hand-built queue batches and what the consumer decided, a way into a Durable
Object, its alarm fired now, execution contexts and scheduled controllers for calling handlers
directly. Everything else is `Miniflare`'s own (`fetch`, `queues`, `clock`, `env`, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any

from ..durable_objects.ids import DurableObjectId
from ..durable_objects.namespace import DurableObjectNamespace, DurableObjectStub
from ..queues.message import MessageBatch
from ..runtime import Miniflare, ScheduledController, incoming_request
from ..workers import Request
from .execution import TestExecutionContext, wait_on
from .queue_result import QueueBatchResult, result_of

__all__ = ["PyflareRuntime"]


class PyflareRuntime(Miniflare):
    """A started `Miniflare` for one test, with the helpers of `cloudflare:test`."""

    # -- calling handlers directly ---------------------------------------------------------------

    @property
    def worker_module(self) -> ModuleType:
        """The worker's module as this runtime imported it (fresh for each test): call its
        handlers directly, e.g. `worker_module.Default(ctx, env).fetch(request)`."""
        return self._require_worker().module  # type: ignore[no-any-return]

    def request(
        self,
        url: str = "/",
        method: str = "GET",
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: str | bytes | None = None,
        json: Any = None,
    ) -> Request:
        """A `workers.Request` as the `fetch` handler gets it from `pyflare.fetch()` (same
        arguments; a relative `url` is resolved against http://localhost; `request.cf` set)."""
        return incoming_request(url, method, headers, body, json)

    def execution_context(self) -> TestExecutionContext:
        """A `ctx` to pass to a handler called directly; its `waitUntil()` tasks run on this
        runtime's clock until `wait_on_execution_context(ctx)` waits for them."""
        return TestExecutionContext(self.clock)

    async def wait_on_execution_context(self, ctx: TestExecutionContext) -> None:
        """Wait for every `ctx.waitUntil()` task (and the tasks they start); raises what a task
        raised (an `ExceptionGroup` for several). A task sleeping on the virtual clock makes
        time jump ahead, as `drain()` does."""
        await wait_on(ctx, self.clock)

    def scheduled_controller(
        self, cron: str = "* * * * *", scheduled_time: datetime | float | None = None
    ) -> ScheduledController:
        """The `controller` a `scheduled` handler gets: `cron`, and `scheduledTime` in ms since
        the epoch from `scheduled_time` (a datetime or seconds since the epoch; default now on
        the runtime's clock)."""
        if scheduled_time is None:
            seconds = self.clock.now()
        elif isinstance(scheduled_time, datetime):
            seconds = scheduled_time.timestamp()
        else:
            seconds = float(scheduled_time)
        return ScheduledController(cron, seconds)

    # -- queues ----------------------------------------------------------------------------------

    async def queue_batch(self, queue: Any, messages: Sequence[Any]) -> QueueBatchResult:
        """Hand the consumer a batch built from `messages` (bodies, or dicts with `body` and
        optional `id`, `attempts`, `timestamp`) and return what it decided. `queue` is a queue
        name or its producer binding (`pyflare.env.JOBS`). Nothing is stored or counted: the
        queue itself is untouched. On a virtual clock the work the handler made due (a batch it
        filled by sending, `waitUntil` tasks) has run when this returns."""
        handle = self.queues[_queue_name(queue)]
        batch = handle.batch(messages)
        error = await handle.run_consumer(batch)
        if self.virtual:
            await self.clock.settle()
        return result_of(batch.messages, batch._outcome, error, handle.retry_delay)

    def message_batch(self, queue: Any, messages: Sequence[Any]) -> MessageBatch:
        """A `MessageBatch` for calling a `queue` handler directly (as `queue_batch()` builds
        it); `queue_result(batch)` reads what the handler decided."""
        batch: MessageBatch = self.queues[_queue_name(queue)].batch(messages)
        return batch

    async def queue_result(
        self, batch: MessageBatch, ctx: TestExecutionContext | None = None
    ) -> QueueBatchResult:
        """What a directly called `queue` handler decided about `batch` (after waiting on
        `ctx`, if given). The outcome is "ok": a handler that raised, raised in your test."""
        if ctx is not None:
            await self.wait_on_execution_context(ctx)
        retry_delay = self.queues[batch.queue].retry_delay
        return result_of(batch.messages, batch._outcome, None, retry_delay)

    # -- Durable Objects -------------------------------------------------------------------------

    async def run_in_durable_object(
        self, stub: DurableObjectStub, fn: Callable[[Any, Any], Any]
    ) -> Any:
        """Run `fn(instance, ctx)` (sync or async) inside the object `stub` points to, as one of
        its events (building it if needed); returns what `fn` returns. `ctx.storage` is the
        object's storage."""
        _check_stub(stub, "run_in_durable_object")
        return await self.durable_objects.run_in(stub, fn)

    async def run_durable_object_alarm(self, stub: DurableObjectStub) -> bool:
        """Fire the object's alarm now, whatever time it was set for; False if none was set."""
        _check_stub(stub, "run_durable_object_alarm")
        return await self.durable_objects.run_alarm(stub)  # type: ignore[no-any-return]

    def list_durable_object_ids(self, namespace: DurableObjectNamespace | str) -> list[Any]:
        """Ids of the objects of `namespace` (the binding, `pyflare.env.COUNTER`, or its name)
        that have stored something."""
        binding = namespace if isinstance(namespace, str) else getattr(namespace, "binding", None)
        if not isinstance(binding, str):
            raise TypeError(
                "list_durable_object_ids() takes a Durable Object namespace (env.BINDING) or "
                f"its binding name, not {type(namespace).__name__}"
            )
        ids: list[DurableObjectId] = self.durable_objects.list_ids(binding)
        return ids


def _queue_name(queue: Any) -> str:
    if isinstance(queue, str):
        return queue
    name = getattr(queue, "queue", None)  # a producer binding knows its queue
    if isinstance(name, str):
        return name
    raise TypeError(f"expected a queue name or a queue binding, not {type(queue).__name__}")


def _check_stub(stub: Any, helper: str) -> None:
    if not isinstance(stub, DurableObjectStub):
        raise TypeError(
            f"{helper}() takes a Durable Object stub (env.BINDING.get(id) or getByName(name)), "
            f"not {type(stub).__name__}"
        )
